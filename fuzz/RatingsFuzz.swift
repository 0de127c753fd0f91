import Foundation
@testable import EmbeddingCore
@testable import EmbeddingFormats

/// libFuzzer entry: any bytes as a delimited ratings file (separator and
/// header sniffed, as `--data FILE.csv` reads it): the fast chunked path, and
/// the line parser for whatever it hands over.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRatings(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let path = FuzzFiles.write(UnsafeBufferPointer(start: bytes, count: count), to: "ratings.csv")
    _ = try? DelimitedRatings.load(path: path)
    // The layouts `--columns` and `--format` force, whatever the first line says.
    _ = try? DelimitedRatings.load(path: path, separator: [0x09], columns: [.user, .item, .rating, .timestamp])
    _ = try? DelimitedRatings.load(path: path, separator: Array("::".utf8), columns: [.item, .skip, .user, .rating])
    return 0
}
