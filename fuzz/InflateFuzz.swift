import Foundation
@testable import EmbeddingCore
@testable import EmbeddingFormats

/// libFuzzer entry: any bytes as a raw DEFLATE stream, the output limited as
/// a zip entry's declared size limits it (1 MiB here).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInflate(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    _ = try? Inflate.decompress(Data(bytes: bytes, count: count), limit: 1 << 20, name: "fuzz")
    return 0
}
