import Foundation
@testable import EmbeddingCore
@testable import EmbeddingFormats

/// libFuzzer entry: any bytes as Thrift compact data: a Parquet footer, a page
/// header, and a struct of unknown fields skipped whole.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzThrift(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = UnsafeBufferPointer(start: bytes, count: count)
    var footer = ThriftCompact(input, name: "fuzz")
    if let metadata = try? Parquet.FileMetaData(&footer) { _ = try? ParquetFile.leaves(of: metadata.schema, name: "fuzz") }
    var page = ThriftCompact(input, name: "fuzz")
    _ = try? Parquet.PageHeader(&page)
    var any = ThriftCompact(input, name: "fuzz")
    _ = try? any.structure { r, _, t in try r.skip(t) }
    return 0
}
