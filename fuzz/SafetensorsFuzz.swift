import Foundation
@testable import EmbeddingCore
@testable import EmbeddingFormats

/// libFuzzer entry: any bytes as a safetensors file; every tensor listed is read, every metadata value decoded.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    if let index = try? Safetensors.index(data: data, name: "fuzz") {
        for entry in index.tensors { _ = try? entry.load().matrix }
        // Every metadata value decoded, and embtool's keys read as a model's metadata.
        _ = try? index.metadata.all()
        _ = try? ModelFile.metadata(from: index.metadata, file: "fuzz")
    }
    return 0
}
