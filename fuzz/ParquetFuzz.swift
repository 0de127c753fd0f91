import Foundation
@testable import EmbeddingCore
@testable import EmbeddingFormats

/// libFuzzer entry: any bytes as a Parquet file: every column decoded, then
/// read as Spark ALS factors and as ratings, as `--model` and `--data` would.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParquet(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let file = try? ParquetFile(data: Data(bytes: bytes, count: count), name: "fuzz") else { return 0 }
    for leaf in file.leaves { _ = try? file.read(leaf) }
    var ids: [Int64] = [], values: [Float] = [], width = -1
    _ = try? SparkALSModel.readFactors(file: file, ids: &ids, values: &values, width: &width)
    var raw = RawRatings(), users = ParquetRatings.IdTable(), items = ParquetRatings.IdTable()
    _ = try? ParquetRatings.append(file, columns: nil, users: &users, items: &items, into: &raw)
    return 0
}
