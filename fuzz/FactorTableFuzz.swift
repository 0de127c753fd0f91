import Foundation
@testable import EmbeddingCore
@testable import EmbeddingFormats

/// libFuzzer entry: any bytes as a CSV/TSV factor file (`--model f.csv`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFactorTable(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    _ = try? DelimitedFactors.read(data: Data(bytes: bytes, count: count), name: "fuzz.csv")
    return 0
}
