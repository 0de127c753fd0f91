import Foundation
@testable import EmbeddingCore
@testable import EmbeddingFormats

/// libFuzzer entry: RecBole atomic files, the input cut at its first NUL into
/// `f.inter` and (when there is a NUL) `f.item`, read as `--data f.inter` reads them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecbole(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let (inter, item) = FuzzFiles.split(UnsafeBufferPointer(start: bytes, count: count))
    let path = FuzzFiles.write(inter, to: "f.inter")
    if let item { FuzzFiles.write(item, to: "f.item") } else { FuzzFiles.remove("f.item") }
    _ = try? RecBoleAtomic.load(path: path)
    return 0
}
