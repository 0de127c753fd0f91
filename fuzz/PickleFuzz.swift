import Foundation
@testable import EmbeddingCore
@testable import EmbeddingFormats

/// libFuzzer entry: any bytes as a pickle (the restricted unpickler, then the
/// walk that lists tensors), or as a legacy torch.save file when it starts like one.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPickle(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    if TorchCheckpoint.looksLikeLegacy(data) {
        if let (_, tensors) = try? TorchCheckpoint.read(data: data, name: "fuzz") {
            for t in tensors { _ = try? t.load() }
        }
    } else {
        _ = try? Pickle.load(data, name: "fuzz") { try Pickle.tensors(in: $0, name: "fuzz", budget: 4 * count + 1000) }
    }
    return 0
}
