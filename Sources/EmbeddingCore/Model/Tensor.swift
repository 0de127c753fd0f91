/// A named tensor: one entry of a model's state dict, or one read from a
/// file and widened to `Float`.
/// `values` holds `shape.reduce(1, *)` elements in row-major order.
public struct Tensor: Equatable, Sendable {
    public var name: String
    public var shape: [Int]
    public var values: [Float]
    /// The element type as stored (`F32`, `F16`, `BF16`, `F64`, ...).
    public var storedType: String

    public init(name: String, shape: [Int], values: [Float], storedType: String = "F32") {
        self.name = name
        self.shape = shape
        self.values = values
        self.storedType = storedType
    }

    /// A 2-D view (`[n]` is `n x 1`); nil for other ranks.
    public var matrix: Matrix? {
        switch shape.count {
        case 1: return Matrix(rows: shape[0], cols: 1, data: values)
        case 2: return Matrix(rows: shape[0], cols: shape[1], data: values)
        default: return nil
        }
    }
}
