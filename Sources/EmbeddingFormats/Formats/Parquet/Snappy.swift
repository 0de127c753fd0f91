import EmbeddingCore

/// Snappy's raw block format, Spark's default Parquet codec: a varint of the
/// uncompressed length, then elements tagged by their low two bits: a literal
/// (length in the tag or in the 1-4 bytes after it, then the bytes) or a copy
/// of earlier output (length and offset in 2, 3 or 5 bytes). Every literal is
/// checked against the input and every copy against the output so far and the
/// declared length, which the caller bounds.
enum Snappy {
    /// The decompressed block; its declared length must be `expectedLength`.
    static func decompress(_ input: UnsafeBufferPointer<UInt8>, expectedLength: Int, name: String) throws -> [UInt8] {
        func corrupt(_ why: String) -> EmbtoolError { .data("\(name): corrupt Snappy data (\(why))") }
        var i = 0
        var declared: UInt64 = 0
        for shift in stride(from: 0, to: 35, by: 7) {
            guard i < input.count else { throw corrupt("truncated length") }
            let b = input[i]
            i += 1
            declared |= UInt64(b & 0x7F) << UInt64(shift)
            if b & 0x80 == 0 { break }
            guard shift < 28 else { throw corrupt("length varint longer than 5 bytes") }
        }
        guard declared == UInt64(expectedLength) else {
            throw corrupt("declares \(declared) bytes, the page header \(expectedLength)")
        }
        let total = expectedLength
        return try [UInt8](unsafeUninitializedCapacity: total) { out, initialized in
            var n = 0
            defer { initialized = n }
            while i < input.count {
                let tag = input[i]
                i += 1
                if tag & 3 == 0 {
                    var length = Int(tag >> 2) + 1
                    if length > 60 {
                        // 61...64: the length - 1 in the next 1-4 bytes, little-endian.
                        let extra = length - 60
                        guard input.count - i >= extra else { throw corrupt("truncated literal length") }
                        length = 0
                        for k in 0..<extra { length |= Int(input[i + k]) << (8 * k) }
                        length += 1
                        i += extra
                    }
                    guard length <= input.count - i else { throw corrupt("literal of \(length) bytes past the end of the input") }
                    guard length <= total - n else { throw corrupt("literal past the declared length") }
                    UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(out)[n..<(n + length)])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(input)[i..<(i + length)]))
                    i += length
                    n += length
                    continue
                }
                let length: Int, offset: Int
                switch tag & 3 {
                case 1:
                    guard i < input.count else { throw corrupt("truncated copy") }
                    length = 4 + Int((tag >> 2) & 7)
                    offset = Int(tag >> 5) << 8 | Int(input[i])
                    i += 1
                case 2:
                    guard input.count - i >= 2 else { throw corrupt("truncated copy") }
                    length = Int(tag >> 2) + 1
                    offset = Int(input[i]) | Int(input[i + 1]) << 8
                    i += 2
                default:
                    guard input.count - i >= 4 else { throw corrupt("truncated copy") }
                    length = Int(tag >> 2) + 1
                    offset = Int(input[i]) | Int(input[i + 1]) << 8 | Int(input[i + 2]) << 16 | Int(input[i + 3]) << 24
                    i += 4
                }
                guard offset > 0, offset <= n else { throw corrupt("copy offset \(offset) at output byte \(n)") }
                guard length <= total - n else { throw corrupt("copy past the declared length") }
                // Byte by byte: a copy may overlap its own output (offset < length repeats a pattern).
                for k in 0..<length { out[n + k] = out[n + k - offset] }
                n += length
            }
            guard n == total else { throw corrupt("\(n) of the declared \(total) bytes") }
        }
    }
}
