import Foundation
@testable import EmbeddingCore
@testable import EmbeddingFormats

/// libFuzzer entry: any bytes as a .npy file; numbers and text are both decoded.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNpy(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    if let array = try? Npy.read(data: data, name: "fuzz") {
        _ = try? array.floats(name: "fuzz")
        _ = try? array.strings(name: "fuzz")
    }
    return 0
}
