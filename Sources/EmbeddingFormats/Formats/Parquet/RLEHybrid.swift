import EmbeddingCore

/// Parquet's RLE / bit-packing hybrid, which encodes definition and repetition
/// levels and dictionary indices: runs, each a varint header whose low bit says
/// which kind: `header >> 1` copies of one value stored in ceil(width / 8)
/// little-endian bytes, or `header >> 1` groups of 8 values bit-packed
/// least-significant bit first, `width` bits each.
struct RLEHybrid {
    let bytes: UnsafeBufferPointer<UInt8>
    let width: Int
    let name: String
    private var position = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>, width: Int, name: String) throws {
        guard (0...32).contains(width) else { throw EmbtoolError.data("\(name): bit width \(width) is not 0...32") }
        self.bytes = bytes
        self.width = width
        self.name = name
    }

    func corrupt(_ why: String) -> EmbtoolError { .data("\(name): corrupt RLE/bit-packed data (\(why))") }

    private mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 35, by: 7) {
            guard position < bytes.count else { throw corrupt("truncated run header") }
            let b = bytes[position]
            position += 1
            value |= UInt64(b & 0x7F) << UInt64(shift)
            if b & 0x80 == 0 { return value }
        }
        throw corrupt("run header longer than 5 bytes")
    }

    /// Decodes exactly `count` values into `out`; fewer in the data is an error,
    /// padding in the last bit-packed group is ignored.
    mutating func decode(count: Int, into out: UnsafeMutableBufferPointer<Int32>) throws {
        precondition(out.count >= count)
        var n = 0
        let mask: UInt64 = width == 32 ? 0xFFFF_FFFF : (1 << UInt64(width)) - 1
        while n < count {
            let header = try varint()
            if header & 1 == 0 {
                let run = Int(header >> 1)
                guard run > 0 else { throw corrupt("empty run") }
                let size = (width + 7) / 8
                guard bytes.count - position >= size else { throw corrupt("truncated run value") }
                var v: UInt64 = 0
                for k in 0..<size { v |= UInt64(bytes[position + k]) << UInt64(8 * k) }
                position += size
                let take = min(run, count - n)
                out.baseAddress!.advanced(by: n).initialize(repeating: Int32(bitPattern: UInt32(truncatingIfNeeded: v)), count: take)
                n += take
            } else {
                let groups = Int(header >> 1)
                guard groups > 0 else { throw corrupt("empty bit-packed run") }
                // A group of 8 values takes `width` bytes; the data may end inside the last
                // group only when the values still needed end before it does.
                let take = min(groups * 8, count - n)
                let needed = (take * width + 7) / 8
                guard bytes.count - position >= needed else { throw corrupt("truncated bit-packed run") }
                var buffer: UInt64 = 0, bits = 0, p = position
                for k in 0..<take {
                    while bits < width {
                        buffer |= UInt64(bytes[p]) << UInt64(bits)
                        p += 1
                        bits += 8
                    }
                    out[n + k] = Int32(bitPattern: UInt32(truncatingIfNeeded: buffer & mask))
                    buffer >>= UInt64(width)
                    bits -= width
                }
                position = min(bytes.count, position + groups * width)
                n += take
            }
        }
    }
}
