import EmbeddingCore
/// Half and bfloat16 widening by bit manipulation, so it works on every platform.
public enum FloatBits {
    public static func half(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = Int(h >> 10) & 0x1F
        let mant = UInt32(h & 0x3FF)
        if exp == 0 {
            // Zero or subnormal: mant * 2^-24.
            let v = Float(mant) * 0x1p-24
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
        return Float(bitPattern: sign | UInt32(exp + 112) << 23 | (mant << 13))
    }

    public static func bfloat16(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }
}

/// A tensor listed in a container file (safetensors, PyTorch checkpoint, .npz)
/// whose values are read only when asked for: a checkpoint with optimizer state
/// holds two or three times more numbers than the factors embtool uses.
public struct TensorEntry {
    public var name: String
    public var shape: [Int]
    /// The element type as stored (`F32`, `F16`, `BF16`, `F64`, `I64`, ...).
    public var dtype: String
    let read: () throws -> [Float]

    public init(name: String, shape: [Int], dtype: String, read: @escaping () throws -> [Float]) {
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.read = read
    }

    public func load() throws -> Tensor {
        Tensor(name: name, shape: shape, values: try read(), storedType: dtype)
    }
}
