/// A dense row-major `rows x cols` matrix of `Float`, the layout CBLAS calls
/// `CblasRowMajor` and safetensors / NumPy store by default.
///
/// The accessors are `@inlinable`: every other target reads matrices in its
/// loops, and a call per element across the module boundary costs more than
/// the read (PCA's ends sort took 90 M instructions in such calls).
public struct Matrix: Equatable, Sendable {
    public let rows: Int
    public let cols: Int
    public var data: [Float]

    public init(rows: Int, cols: Int, data: [Float]) {
        precondition(rows * cols == data.count, "Matrix: \(rows)x\(cols) needs \(rows * cols) values, got \(data.count)")
        self.rows = rows
        self.cols = cols
        self.data = data
    }

    public init(rows: Int, cols: Int, repeating value: Float = 0) {
        self.init(rows: rows, cols: cols, data: [Float](repeating: value, count: rows * cols))
    }

    @inlinable
    public subscript(r: Int, c: Int) -> Float {
        get { data[r * cols + c] }
        set { data[r * cols + c] = newValue }
    }

    @inlinable
    public func row(_ r: Int) -> ArraySlice<Float> { data[(r * cols)..<((r + 1) * cols)] }

    /// The rows `indices`, in that order.
    public func rows(_ indices: [Int]) -> Matrix {
        var out = [Float]()
        out.reserveCapacity(indices.count * cols)
        for r in indices { out.append(contentsOf: row(r)) }
        return Matrix(rows: indices.count, cols: cols, data: out)
    }
}
