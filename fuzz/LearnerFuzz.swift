import Foundation
@testable import EmbeddingCore
@testable import EmbeddingFormats

/// libFuzzer entry: any bytes as a pickled object graph (fastai `learn.export()`):
/// the inert graph reader, then the model and vocabulary search; or, when the
/// bytes start like a zip, as a whole torch zip with every tensor read.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLearner(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    if ZipArchive.looksLike(data) {
        if let archive = try? TorchCheckpoint.Archive(data: data, name: "fuzz"), let found = try? FastaiExport.read(archive) {
            for t in found.1 { _ = try? t.load() }
        }
    } else {
        _ = try? Pickle.load(data, name: "fuzz", mode: .graph) { root in
            if case .object(let o) = root { _ = try FastaiExport.interpret(o, name: "fuzz", budget: 4 * count + 1000) }
        }
    }
    return 0
}
