import Foundation
import EmbeddingCore

extension Data {
    /// The little-endian integer at `offset` bytes past `startIndex`, or nil when
    /// it does not fit: every length and offset read from a file goes through here.
    func littleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T? {
        guard offset >= 0, offset <= count - MemoryLayout<T>.size else { return nil }
        return withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }

    /// The bytes `offset ..< offset + length` (relative to `startIndex`), or nil when
    /// the range leaves the data. Overflow-safe for hostile lengths.
    func bytes(at offset: Int, count length: Int) -> Data? {
        guard offset >= 0, length >= 0, offset <= count, length <= count - offset else { return nil }
        return self[(startIndex + offset)..<(startIndex + offset + length)]
    }
}

/// Element types shared by the binary readers, named as safetensors names them.
public enum ElementType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8", bool = "BOOL"

    public var size: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .i8, .u8, .bool: return 1
        }
    }

    /// Widens `count` elements starting at byte `offset` of `raw`, each `stride`
    /// elements apart, into `out[outStart...]`. The caller has checked the bounds.
    /// `bigEndian` swaps bytes first (NumPy's `>` byte order).
    func widen(_ raw: UnsafeRawBufferPointer, offset: Int, count: Int, stride: Int = 1,
               into out: UnsafeMutableBufferPointer<Float>, at outStart: Int, bigEndian: Bool = false) {
        let step = stride * size
        @inline(__always) func u16(_ i: Int) -> UInt16 {
            let v = raw.loadUnaligned(fromByteOffset: offset + i * step, as: UInt16.self)
            return bigEndian ? UInt16(bigEndian: v) : UInt16(littleEndian: v)
        }
        @inline(__always) func u32(_ i: Int) -> UInt32 {
            let v = raw.loadUnaligned(fromByteOffset: offset + i * step, as: UInt32.self)
            return bigEndian ? UInt32(bigEndian: v) : UInt32(littleEndian: v)
        }
        @inline(__always) func u64(_ i: Int) -> UInt64 {
            let v = raw.loadUnaligned(fromByteOffset: offset + i * step, as: UInt64.self)
            return bigEndian ? UInt64(bigEndian: v) : UInt64(littleEndian: v)
        }
        switch self {
        case .f32:
            if step == 4 && !bigEndian {
                // The common case: contiguous little-endian float32 is a plain copy.
                UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(out)[(4 * outStart)..<(4 * (outStart + count))])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + 4 * count)]))
            } else {
                for i in 0..<count { out[outStart + i] = Float(bitPattern: u32(i)) }
            }
        case .f64: for i in 0..<count { out[outStart + i] = Float(Double(bitPattern: u64(i))) }
        case .f16: for i in 0..<count { out[outStart + i] = FloatBits.half(u16(i)) }
        case .bf16: for i in 0..<count { out[outStart + i] = FloatBits.bfloat16(u16(i)) }
        case .i64: for i in 0..<count { out[outStart + i] = Float(Int64(bitPattern: u64(i))) }
        case .u64: for i in 0..<count { out[outStart + i] = Float(u64(i)) }
        case .i32: for i in 0..<count { out[outStart + i] = Float(Int32(bitPattern: u32(i))) }
        case .u32: for i in 0..<count { out[outStart + i] = Float(u32(i)) }
        case .i16: for i in 0..<count { out[outStart + i] = Float(Int16(bitPattern: u16(i))) }
        case .u16: for i in 0..<count { out[outStart + i] = Float(u16(i)) }
        case .i8: for i in 0..<count { out[outStart + i] = Float(raw.load(fromByteOffset: offset + i * step, as: Int8.self)) }
        case .u8, .bool: for i in 0..<count { out[outStart + i] = Float(raw.load(fromByteOffset: offset + i * step, as: UInt8.self)) }
        }
    }

    /// `count` contiguous elements of `bytes` as Float. The caller has checked
    /// that `bytes` holds `count * size` bytes.
    func widen(_ bytes: Data, count: Int, bigEndian: Bool = false) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            bytes.withUnsafeBytes { raw in widen(raw, offset: 0, count: count, into: out, at: 0, bigEndian: bigEndian) }
            initialized = count
        }
    }
}

extension ElementType {
    /// The elements of a strided view in row-major order: element `(i0, i1, ...)`
    /// is at `offset + i0 * stride[0] + i1 * stride[1] + ...` elements into `bytes`.
    /// The caller has checked that the furthest element lies inside `bytes` and
    /// that `count` is the product of `shape`.
    func gather(_ bytes: Data, offset: Int, shape: [Int], stride: [Int], count: Int, bigEndian: Bool = false) -> [Float] {
        let rank = shape.count
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            defer { initialized = count }
            guard count > 0 else { return }
            bytes.withUnsafeBytes { raw in
                guard rank > 0 else {
                    widen(raw, offset: offset * size, count: 1, into: out, at: 0, bigEndian: bigEndian)
                    return
                }
                // Walk the outer indices like an odometer; each step widens one
                // innermost row, strided by the last dimension's stride.
                let rowLength = shape[rank - 1], rowStride = stride[rank - 1]
                var index = [Int](repeating: 0, count: rank - 1)
                var written = 0
                while written < count {
                    var start = offset
                    for d in 0..<(rank - 1) { start += index[d] * stride[d] }
                    widen(raw, offset: start * size, count: rowLength, stride: rowStride, into: out, at: written, bigEndian: bigEndian)
                    written += rowLength
                    var d = rank - 2
                    while d >= 0 {
                        index[d] += 1
                        if index[d] < shape[d] { break }
                        index[d] = 0
                        d -= 1
                    }
                }
            }
        }
    }
}

/// The product of `shape`, or nil if it overflows or exceeds `limit`: how every
/// reader checks a claimed shape against the bytes it actually has.
func elementCount(_ shape: [Int], limit: Int) -> Int? {
    var n = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (p, overflow) = n.multipliedReportingOverflow(by: d)
        guard !overflow, p <= limit else { return nil }
        n = p
    }
    return n
}
