import Foundation
@testable import EmbeddingCore
@testable import EmbeddingFormats

/// libFuzzer entry: any bytes as a safetensors JSON header. The 8-byte length
/// prefix is written to match (the `safetensors` target mostly exercises bad
/// prefixes), and 256 zero bytes of tensor data follow, so offsets the header
/// names can point inside the file; every tensor listed is read.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensorsHeader(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var data = Data(count: 8)
    data.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(count).littleEndian, as: UInt64.self) }
    data.append(bytes, count: count)
    data.append(Data(count: 256))
    if let index = try? Safetensors.index(data: data, name: "fuzz") {
        for entry in index.tensors { _ = try? entry.load().matrix }
    }
    return 0
}
