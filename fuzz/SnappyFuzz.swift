import Foundation
@testable import EmbeddingCore
@testable import EmbeddingFormats

/// libFuzzer entry: any bytes as a Snappy block, decompressed to the length its
/// own varint declares (up to 1 MB, as a page header would bound it).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSnappy(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = UnsafeBufferPointer(start: bytes, count: count)
    var declared = 0, shift = 0
    for b in input.prefix(4) {
        declared |= Int(b & 0x7F) << shift
        shift += 7
        if b & 0x80 == 0 { break }
    }
    guard declared <= 1 << 20 else { return 0 }
    _ = try? Snappy.decompress(input, expectedLength: declared, name: "fuzz")
    return 0
}
