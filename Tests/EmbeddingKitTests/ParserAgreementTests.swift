@testable import EmbeddingCore
@testable import EmbeddingFormats
import Foundation
import XCTest

/// The ratings loader's two paths — the fast chunked one and the reference line
/// parser — read any file alike: same acceptance, same rows, same error line.
/// The `ratings-diff` fuzz target checks this on generated inputs; these are
/// the edge cases written out, and the replay of the text targets' regressions.
final class ParserAgreementTests: XCTestCase {
    /// Both paths on `text`; a failure message names what differs.
    static func disagreement(_ text: [UInt8], in dir: String) throws -> String? {
        let path = dir + "/agree.csv"
        try Data(text).write(to: URL(fileURLWithPath: path))
        guard let parser = try? DelimitedRatings.parser(path: path, separator: nil, columns: nil) else { return nil }
        var raw = RawRatings()
        let general = Result { try parser.readGeneral(into: &raw) }
        for chunk in [64 << 10, 16, 1] {
            switch (Result { try parser.readFast(minimumChunk: chunk) }, general) {
            case (.success(nil), _): continue
            case (.success(let fast?), .success):
                guard fast.rating.count == raw.rating.count else { return "chunk \(chunk): \(fast.rating.count) rows vs \(raw.rating.count)" }
                for k in fast.rating.indices {
                    let a = (fast.userIds[Int(fast.user[k])], fast.itemIds[Int(fast.item[k])], fast.rating[k].bitPattern, fast.timestamp[k])
                    let b = (raw.userIds[Int(raw.user[k])], raw.itemIds[Int(raw.item[k])], raw.rating[k].bitPattern, raw.timestamp[k])
                    if a != b { return "chunk \(chunk): row \(k): fast \(a) vs line parser \(b)" }
                }
            case (.failure(let a), .failure(let b)):
                let ma = (a as? EmbtoolError)?.message ?? "\(a)", mb = (b as? EmbtoolError)?.message ?? "\(b)"
                if ma != mb { return "chunk \(chunk): fast '\(ma)' vs line parser '\(mb)'" }
            case (.success, .failure(let e)): return "chunk \(chunk): fast accepts, line parser says \(e)"
            case (.failure(let e), .success): return "chunk \(chunk): line parser accepts, fast says \(e)"
            }
        }
        return nil
    }

    func testEdgeCases() throws {
        let dir = try TestData.scratch(self)
        let good = (1...30).map { "\($0)\t\($0 % 7)\t\($0 % 5 + 1)\t88\($0)" }.joined(separator: "\n")
        let cases = [
            good + "\n", good, good.replacingOccurrences(of: "\n", with: "\r\n"), "\n\n" + good + "\n\n\n",
            good + "\n7\t8\tfive\t9\n" + good, good + "\n7\t8\n" + good, good + "\n7\t8\t1e308\t1\n",
            good + "\n7\t8\tnan\t1\n", good + "\n7\t8\t3\t1e20\n", good + "\n7\t8\t3\tsoon\n",
            good + "\n 7 \t+8\t 3.5 \t1\n", good + "\n-7\t8\t3\t1\n", good + "\n67108864\t8\t3\t1\n",
            good + "\n2147483648\t8\t3\t1\n", good + "\n007\t0008\t3\t1\n", good + "\n7\t8\t3.\t1\n",
            good + "\n7\t8\t.5e1\t1\n", good + "\n7\t8\t0x10\t1\n", good + "\n7\t8\t3\t1.75\n", good + "\n7\t\t3\t1\n",
            good + "\nalice\tbob\t3\t1\n", good + "\n7\t8\t3\t1\textra\n", good + "\n\r\n7\t8\t3\t1\r",
            "user,item,rating\n1,2,3\n\"4\",\"5\",6\n7,\"8,9\",1\n", "a::b::c\n1::2::3\n4::5::x\n",
            good + "\n ", good + "\n \r", good + "\n\r\r", good + "\n\r", good + "\n\t",
            good + "\n7\t8\t1.00000000000000000001\t1\n", good + "\n7\t8\t16777217\t1\n", good + "\n7\t8\t3e-46\t1\n",
        ]
        for text in cases {
            if let why = try Self.disagreement(Array(text.utf8), in: dir) { XCTFail("\(text.debugDescription): \(why)") }
        }
    }

    /// Ids on either side of where a chunk's id table grows (it starts at 256
    /// entries and doubles), in chunks of one line and in one chunk.
    func testIdsAcrossTableGrowth() throws {
        let dir = try TestData.scratch(self)
        let ids = [255, 256, 0, 257, 511, 512, 65_535, 65_536, 3, 1_000_000, 256, 1_048_575]
        let text = zip(ids, ids.reversed()).map { "\($0)\t\($1)\t4\t1" }.joined(separator: "\n") + "\n"
        if let why = try Self.disagreement(Array(text.utf8), in: dir) { XCTFail(why) }
    }

    /// The dense tables stay in proportion to the file: a small file with a large
    /// id takes the general path (and reads the same), a file of several
    /// megabytes indexes ids up to its size densely.
    func testDenseIdsAreBoundedByTheFileSize() throws {
        let dir = try TestData.scratch(self)
        let small = dir + "/small.tsv"
        try Data("1\t2\t3\t4\n25254252\t5\t4\t5\n".utf8).write(to: URL(fileURLWithPath: small))
        let parser = try DelimitedRatings.parser(path: small, separator: nil, columns: nil)
        XCTAssertEqual(parser.denseIdLimit, 1 << 20)
        XCTAssertNil(try parser.readFast(minimumChunk: 16), "a 25,254,252 id in 30 bytes goes to the general path")
        let loaded = try DelimitedRatings.load(path: small)
        XCTAssertEqual(loaded.userIds.sorted(), ["1", "25254252"])

        // 200,000 rows of about 12 bytes: ids up to the file's 2.4 MB stay dense.
        let large = dir + "/large.tsv"
        let rows = (0..<200_000).map { "\($0 % 1000)\t\($0 % 997)\t4\t1" } + ["1500000\t7\t5\t2"]
        try Data((rows.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: large))
        let big = try DelimitedRatings.parser(path: large, separator: nil, columns: nil)
        XCTAssertGreaterThan(big.denseIdLimit, 1_500_000)
        let fast = try XCTUnwrap(try big.readFast())
        XCTAssertEqual(fast.userIds.last, "1500000")
        XCTAssertEqual(fast.rating.count, 200_001)
    }

    /// The table marks exactly the ids marked, whatever the order they come in,
    /// and spans about the largest of them (not a fixed size each chunk pays for).
    func testIdFlagsGrowWithTheLargestId() {
        var rng = SystemRandomNumberGenerator()
        for limit in [1, 200, 256, 257, 5_000, 300_000] {
            let flags = RatingsParser.Flags()
            let marked = Set((0..<50).map { _ in Int.random(in: 0..<limit, using: &rng) })
            for id in marked.shuffled() { flags.mark(id) }
            let largest = marked.max()!
            XCTAssertGreaterThan(flags.count, largest)
            XCTAssertLessThanOrEqual(flags.count, max(256, 2 * (largest + 1)))
            XCTAssertEqual(Set((0..<flags.count).filter { flags.bits[$0] != 0 }), marked)
        }
    }

    /// Replays `fuzz-regressions/<target>/` inputs of the text formats' targets
    /// (FormatsHostileTests.testFuzzRegressions hands them over): each is read
    /// as its harness reads it, and must fail, if at all, with an EmbtoolError.
    /// False for a target that is not one of these.
    static func replay(target: String, data: Data, file: String, in dir: String) throws -> Bool {
        let bytes = [UInt8](data)
        let cut = bytes.firstIndex(of: 0)
        let first = Data(bytes[..<(cut ?? bytes.count)]), second = cut.map { Data(bytes[($0 + 1)...]) }
        func write(_ d: Data, _ name: String) throws -> String {
            let path = dir + "/" + name
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try d.write(to: URL(fileURLWithPath: path))
            return path
        }
        func quietly(_ body: () throws -> Void) throws { do { try body() } catch is EmbtoolError {} }
        switch target {
        case "ratings": try quietly { _ = try DelimitedRatings.load(path: try write(data, "r.csv")) }
        case "ratings-diff":
            if let why = try disagreement(bytes, in: dir) { XCTFail("\(file): \(why)") }
        case "recbole":
            if let second { _ = try write(second, "f.item") } else { try? FileManager.default.removeItem(atPath: dir + "/f.item") }
            try quietly { _ = try RecBoleAtomic.load(path: try write(first, "f.inter")) }
        case "factor-table": try quietly { _ = try DelimitedFactors.read(data: data, name: file) }
        case "projector":
            let vectors = try write(first, "p/vectors.tsv")
            let metadata = try second.map { try write($0, "p/metadata.tsv") }
            try quietly { _ = try Projector.read(vectors: vectors, metadata: metadata) }
        case "word2vec":
            try quietly { _ = try Word2Vec.readText(data: data, name: file) }
            try quietly { _ = try Word2Vec.readBinary(data: data, name: file) }
        case "spark-json":
            try? FileManager.default.removeItem(atPath: dir + "/spark")
            _ = try write(first, "spark/part-00000.json")
            if let second { _ = try write(second, "spark/part-00001.json") }
            try quietly { _ = try SparkALS.read(folder: dir + "/spark") }
        case "inflate": try quietly { _ = try Inflate.decompress(data, limit: 1 << 20, name: file) }
        case "safetensors-header":
            var prefixed = Data(count: 8)
            prefixed.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(data.count).littleEndian, as: UInt64.self) }
            prefixed.append(data)
            prefixed.append(Data(count: 256))
            try quietly { for entry in try Safetensors.index(data: prefixed, name: file).tensors { _ = try entry.load().matrix } }
        default: return false
        }
        return true
    }
}
