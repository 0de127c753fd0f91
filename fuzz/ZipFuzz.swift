import Foundation
@testable import EmbeddingCore
@testable import EmbeddingFormats

/// libFuzzer entry: any bytes as a zip archive: every entry inflated and
/// CRC-checked, then read as a PyTorch checkpoint and as an .npz.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzZip(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    guard let zip = try? ZipArchive(data: data, name: "fuzz") else { return 0 }
    for entry in zip.entries { _ = try? zip.contents(of: entry) }
    if let (_, tensors) = try? TorchCheckpoint.read(data: data, name: "fuzz") {
        for t in tensors { _ = try? t.load() }
    }
    if let arrays = try? Npz.read(data: data, name: "fuzz") {
        for (_, a) in arrays { _ = try? a.floats(name: "fuzz") }
    }
    return 0
}
