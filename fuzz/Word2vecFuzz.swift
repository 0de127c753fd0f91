import Foundation
@testable import EmbeddingCore
@testable import EmbeddingFormats

/// libFuzzer entry: any bytes as word2vec text (or GloVe) and as word2vec binary.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWord2vec(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    _ = try? Word2Vec.readText(data: data, name: "fuzz.txt")
    _ = try? Word2Vec.readBinary(data: data, name: "fuzz.bin")
    return 0
}
