import Foundation
@testable import EmbeddingCore
@testable import EmbeddingFormats

/// libFuzzer entry: the Embedding Projector's pair, the input cut at its first
/// NUL into `vectors.tsv` and (when there is a NUL) `metadata.tsv`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProjector(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let (vectors, metadata) = FuzzFiles.split(UnsafeBufferPointer(start: bytes, count: count))
    let vectorsPath = FuzzFiles.write(vectors, to: Projector.vectorsFile)
    let metadataPath = metadata.map { FuzzFiles.write($0, to: Projector.metadataFile) }
    _ = try? Projector.read(vectors: vectorsPath, metadata: metadataPath)
    return 0
}
