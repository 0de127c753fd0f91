import Foundation
@testable import EmbeddingCore
@testable import EmbeddingFormats

/// libFuzzer entry, differential: the same ratings file through the fast
/// chunked path (in one chunk, and cut into chunks of a few bytes so that small
/// inputs cross chunk boundaries) and through the reference line parser. They
/// must agree on acceptance, on every value, and on the error (file, line and
/// message); any disagreement traps.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRatingsDiff(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let path = FuzzFiles.write(UnsafeBufferPointer(start: bytes, count: count), to: "diff.csv")
    guard let parser = try? DelimitedRatings.parser(path: path, separator: nil, columns: nil) else { return 0 }
    var raw = RawRatings()
    let general = Result { try parser.readGeneral(into: &raw) }
    for chunk in [64 << 10, 16] {
        let fast = Result { try parser.readFast(minimumChunk: chunk) }
        switch (fast, general) {
        case (.success(nil), _):
            continue  // a non-integer id: the general path reads the whole file, nothing to compare
        case (.success(let columns?), .success):
            agree(columns, raw, chunk)
        case (.failure(let a), .failure(let b)):
            let fastMessage = (a as? EmbtoolError)?.message ?? "\(a)", generalMessage = (b as? EmbtoolError)?.message ?? "\(b)"
            if fastMessage != generalMessage {
                fatalError("chunk \(chunk): the paths report different errors:\n  fast:    \(fastMessage)\n  general: \(generalMessage)")
            }
        case (.success, .failure(let e)):
            fatalError("chunk \(chunk): the fast path accepts, the line parser refuses: \(e)")
        case (.failure(let e), .success):
            fatalError("chunk \(chunk): the line parser accepts, the fast path refuses: \(e)")
        }
    }
    return 0
}

/// Same rows in the same order: ids compared as the text they stand for (the
/// fast path ranks integer ids, the general path numbers them as they come),
/// ratings bit for bit, timestamps exactly.
func agree(_ fast: RatingsParser.Columns, _ general: RawRatings, _ chunk: Int) {
    guard fast.rating.count == general.rating.count else {
        fatalError("chunk \(chunk): \(fast.rating.count) rows on the fast path, \(general.rating.count) on the line parser")
    }
    for k in fast.rating.indices {
        let fu = fast.userIds[Int(fast.user[k])], gu = general.userIds[Int(general.user[k])]
        let fi = fast.itemIds[Int(fast.item[k])], gi = general.itemIds[Int(general.item[k])]
        guard fu == gu, fi == gi, fast.rating[k].bitPattern == general.rating[k].bitPattern, fast.timestamp[k] == general.timestamp[k] else {
            fatalError("chunk \(chunk): row \(k) differs: fast (\(fu), \(fi), \(fast.rating[k]), \(fast.timestamp[k])) vs line parser (\(gu), \(gi), \(general.rating[k]), \(general.timestamp[k]))")
        }
    }
}
