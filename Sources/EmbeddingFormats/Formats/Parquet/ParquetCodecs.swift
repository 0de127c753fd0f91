import Foundation
import EmbeddingCore

extension Parquet {
    /// The codecs embtool decompresses: none, Snappy (Spark's default) and gzip
    /// (through `Inflate`). Zstd and the others are refused with advice.
    static func decompress(_ input: UnsafeBufferPointer<UInt8>, codec: Int32, uncompressedSize: Int, name: String) throws -> [UInt8] {
        switch Codec(rawValue: codec) {
        case .uncompressed:
            guard input.count == uncompressedSize else {
                throw EmbtoolError.data("\(name): uncompressed page of \(input.count) bytes claims \(uncompressedSize)")
            }
            return Array(input)
        case .snappy:
            return try Snappy.decompress(input, expectedLength: uncompressedSize, name: name)
        case .gzip:
            let out = try gunzip(input, limit: uncompressedSize, name: name)
            guard out.count == uncompressedSize else {
                throw EmbtoolError.data("\(name): gzip page inflates to \(out.count) bytes, the page header says \(uncompressedSize)")
            }
            return out
        case let other?:
            throw EmbtoolError.data("\(name): codec \(other.label) not supported; rewrite with snappy or gzip")
        case nil:
            throw EmbtoolError.data("\(name): unknown compression codec \(codec)")
        }
    }

    /// One gzip member (RFC 1952): a header with optional extra, name, comment
    /// and header CRC; deflate data; the CRC-32 and length of the output.
    static func gunzip(_ input: UnsafeBufferPointer<UInt8>, limit: Int, name: String) throws -> [UInt8] {
        func corrupt(_ why: String) -> EmbtoolError { .data("\(name): corrupt gzip data (\(why))") }
        guard input.count >= 18, input[0] == 0x1F, input[1] == 0x8B else { throw corrupt("no gzip header") }
        guard input[2] == 8 else { throw corrupt("compression method \(input[2]), not deflate") }
        let flags = input[3]
        var p = 10
        if flags & 0x04 != 0 {
            guard input.count - p >= 2 else { throw corrupt("truncated extra field") }
            p += 2 + (Int(input[p]) | Int(input[p + 1]) << 8)
        }
        for bit: UInt8 in [0x08, 0x10] where flags & bit != 0 {
            // File name, comment: zero-terminated.
            while p < input.count && input[p] != 0 { p += 1 }
            p += 1
        }
        if flags & 0x02 != 0 { p += 2 }
        guard p <= input.count - 8 else { throw corrupt("truncated header") }
        let body = Data(UnsafeBufferPointer(rebasing: input[p..<(input.count - 8)]))
        let out = try Inflate.decompress(body, limit: limit, name: name)
        func le32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(input[at + $1]) << (8 * $1) } }
        guard le32(input.count - 4) == UInt32(truncatingIfNeeded: out.count) else { throw corrupt("length does not match the trailer") }
        guard le32(input.count - 8) == CRC32.checksum(out) else { throw corrupt("CRC-32 mismatch") }
        return [UInt8](out)
    }
}
