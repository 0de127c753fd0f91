import Foundation
@testable import EmbeddingCore
@testable import EmbeddingFormats

/// libFuzzer entry: a Spark ALS factor folder, the input cut at its first NUL
/// into two part files (`part-00000.json`, `part-00001.json`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSparkJson(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let (first, second) = FuzzFiles.split(UnsafeBufferPointer(start: bytes, count: count))
    FuzzFiles.write(first, to: "spark/part-00000.json")
    if let second { FuzzFiles.write(second, to: "spark/part-00001.json") } else { FuzzFiles.remove("spark/part-00001.json") }
    _ = try? SparkALS.read(folder: FuzzFiles.folder + "/spark")
    return 0
}
