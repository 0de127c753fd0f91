@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingLinalg
@testable import EmbeddingTrain
@testable import EmbeddingAnalysis
@testable import EmbeddingRender
import Foundation
import XCTest

final class FormatsTextTests: XCTestCase {
    func load(_ text: String, name: String, _ configure: (inout FactorLoader.Options) -> Void = { _ in }) throws -> FactorModel {
        let path = try TestData.scratch(self) + "/" + name
        try TestData.write(text, to: path)
        var options = FactorLoader.Options()
        configure(&options)
        return try FactorLoader.load(path: path, options: options)
    }

    /// The fast decimal path agrees with Swift's correctly rounded parser, bit for bit.
    func testFloatParsingMatchesTheStandardLibrary() {
        func parse(_ s: String) -> Float? { Array(s.utf8).withUnsafeBytes { TextScan.float($0, nonFinite: .accept) } }
        var rng = SplitMix64(seed: 3)
        // Float midpoints: 2^24 + 1 exactly, and 1 + 2^-24 written with 19 digits (just below and above).
        var inputs = ["16777217", "-16777219", "1.000000059604644775", "1.000000059604644776", "1.000000059604644", "0.1", "1e-22", "9007199254740993", "1.", ".5", "-0", "+2.5e+3",
                      "3.4028235e38", "1e-45", "nan", "-inf", "1e", ".", "--1", "1.2.3", "0x1p3", "12345678901234567890"]
        for _ in 0..<20_000 {
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            guard x.isFinite else { continue }
            let d = Double(rng.nextGaussian()) * pow(10, Double(Int(rng.next() % 20)) - 10)
            inputs += ["\(x)", String(format: "%.9g", x), String(format: "%.17g", d), String(format: "%.6e", d), "\(d)",
                       String(format: "%.18e", d), String(format: "%.18e", Double(x))]
        }
        for s in inputs {
            let ours = parse(s), reference = Float(s)
            XCTAssertEqual(ours?.bitPattern, reference?.bitPattern, s)
        }
    }

    func testCSVWithAndWithoutHeader() throws {
        let plain = try load("Alien (1979),0.5,-1\n\"Birdcage, The (1996)\",2e-3,3\n", name: "f.csv")
        XCTAssertEqual(plain.meta.itemLabels, ["Alien (1979)", "Birdcage, The (1996)"])
        XCTAssertEqual(plain.itemFactors, Matrix(rows: 2, cols: 2, data: [0.5, -1, 0.002, 3]))
        XCTAssertNil(plain.itemBias)
        // Header with bias and count columns anywhere, CRLF, a byte-order mark, a blank line.
        let headed = try load("\u{FEFF}title,f0,bias,f1,count\r\n\r\nA,1,0.25,2,7\r\nB,3,-0.5,4,0\r\n", name: "g.csv")
        XCTAssertEqual(headed.meta.itemLabels, ["A", "B"])
        XCTAssertEqual(headed.itemFactors, Matrix(rows: 2, cols: 2, data: [1, 2, 3, 4]))
        XCTAssertEqual(headed.itemBias, [0.25, -0.5])
        XCTAssertEqual(headed.meta.itemCounts, [7, 0])
        XCTAssertEqual(headed.source?.format, "CSV")
    }

    func testTSVAndQuotedLineBreaks() throws {
        let m = try load("label\tf0\tf1\n\"two\nlines\"\t1\t2\nplain, with comma\t3\t4\n", name: "f.tsv")
        XCTAssertEqual(m.meta.itemLabels, ["two\nlines", "plain, with comma"])
        XCTAssertEqual(m.itemFactors.data, [1, 2, 3, 4])
        XCTAssertEqual(m.source?.format, "TSV")
    }

    func testCSVErrorsNameTheLine() throws {
        assertDataError(try load("a,1,2\nb,1\n", name: "f.csv"), "f.csv:2", "2 columns, expected 3")
        assertDataError(try load("a,1,2\nb,1,x\n", name: "f.csv"), "f.csv:2", "'x' is not a number")
        assertDataError(try load("a,1\n\"b,2\n", name: "f.csv"), "never closed")
        assertDataError(try load("label,f0\n", name: "f.csv"), "no rows")
    }

    func testWord2VecTextBinaryAndGloVe() throws {
        let text = "3 2\nthe 0.1 -0.2\ncafé 1e-3 4\nking 5 6 \n"
        let m = try load(text, name: "vectors.txt")
        XCTAssertEqual(m.meta.itemLabels, ["the", "café", "king"])
        XCTAssertEqual(m.itemFactors.data, [0.1, -0.2, 0.001, 4, 5, 6])
        XCTAssertEqual(m.source?.format, "word2vec text")
        let glove = try load("the 0.1 -0.2\nking 5 6\n", name: "glove.6B.2d.txt")
        XCTAssertEqual(glove.itemFactors.data, [0.1, -0.2, 5, 6])
        assertDataError(try load("3 2\nthe 0.1 -0.2\n", name: "short.vec"), "announces 3 words", "holds 1")

        // gensim's binary layout: header line, then "word " + d float32 per word.
        var bin = Data("2 3\n".utf8)
        for (word, v) in [("a", [Float(1), 2, 3]), ("bé", [-1, 0.5, 8])] {
            bin.append(contentsOf: (word + " ").utf8)
            v.withUnsafeBytes { bin.append(contentsOf: $0) }
            bin.append(0x0A)
        }
        let path = try TestData.scratch(self) + "/w.bin"
        try bin.write(to: URL(fileURLWithPath: path))
        let b = try FactorLoader.load(path: path)
        XCTAssertEqual(b.meta.itemLabels, ["a", "bé"])
        XCTAssertEqual(b.itemFactors.data, [1, 2, 3, -1, 0.5, 8])
        try Data("1000000 300\nx ".utf8).write(to: URL(fileURLWithPath: path))
        assertDataError(try FactorLoader.load(path: path), "more than the file holds")
    }

    /// Cosine similarity by plain loops, independent of the library's BLAS code.
    func cosineTop(_ m: Matrix, row: Int, count: Int) -> [Int] {
        func dot(_ a: Int, _ b: Int) -> Double { (0..<m.cols).reduce(0) { $0 + Double(m[a, $1]) * Double(m[b, $1]) } }
        let similarities = (0..<m.rows).map { dot(row, $0) / (dot(row, row) * dot($0, $0)).squareRoot() }
        return (0..<m.rows).filter { $0 != row }.sorted { similarities[$0] > similarities[$1] }.prefix(count).map { $0 }
    }

    func testSparkALSFactorsGiveNumPysNeighbours() throws {
        let m = try Fixtures.load("spark_als")
        XCTAssertEqual(m.source?.format, "Spark ALS JSON")
        XCTAssertEqual(m.itemCount, 25)
        XCTAssertEqual(m.userFactors?.rows, 40)
        XCTAssertEqual(m.meta.itemKeys, (0..<25).map { String(100 + $0) }, "rows sorted by id across part files")
        XCTAssertEqual(m.meta.userLabels.first, "1")
        XCTAssertNil(m.meta.yRange, "ALS predicts with a raw dot product")
        let expected = try String(contentsOfFile: Fixtures.path("expected/spark_neighbours.txt"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("#") }
        XCTAssertEqual(expected.count, 25)
        for line in expected {
            let parts = line.split(separator: ":")
            let row = try XCTUnwrap(m.meta.itemKeys.firstIndex(of: String(parts[0])))
            let neighbours = cosineTop(m.itemFactors, row: row, count: 5).map { m.meta.itemKeys[$0] }
            XCTAssertEqual(neighbours, parts[1].split(separator: " ").map(String.init), "neighbours of \(parts[0])")
        }
        // The itemFactors folder alone reads too.
        XCTAssertEqual(try Fixtures.load("spark_als/itemFactors").itemFactors, m.itemFactors)
    }

    func testSparkJSONErrors() throws {
        let dir = try TestData.scratch(self)
        try TestData.write("{\"id\":1,\"features\":[1.0,2.0]}\n{\"id\":1,\"features\":[3.0,4.0]}\n", to: dir + "/a/part-00000.json")
        assertDataError(try FactorLoader.load(path: dir + "/a"), "id 1 appears twice")
        try TestData.write("{\"id\":1,\"features\":[1.0,2.0]}\n{\"id\":2,\"features\":[3.0]}\n", to: dir + "/b/part-00000.json")
        assertDataError(try FactorLoader.load(path: dir + "/b"), "part-00000.json:2", "1 features, expected 2")
        try TestData.write("{\"features\":[\"NaN\",2.0], \"extra\": {\"x\": [1, \"]\"]}, \"id\":7}\n", to: dir + "/c/part-00000.json")
        let c = try FactorLoader.load(path: dir + "/c") { _ in }
        XCTAssertEqual(c.meta.itemKeys, ["7"])
        XCTAssertTrue(c.itemFactors.data[0].isNaN)
        assertDataError(try FactorLoader.load(path: dir), "neither Spark ALS factors")
    }
}

extension FactorLoader {
    /// Loads with warnings collected instead of printed.
    static func load(path: String, _ collect: @escaping @Sendable (String) -> Void) throws -> FactorModel {
        var options = Options()
        options.warn = collect
        return try load(path: path, options: options)
    }
}

/// Vocabulary: rebuilt from ratings, by row (fastai checkpoints) or by key (Spark ids, labelled files).
final class FormatsVocabularyTests: XCTestCase {
    /// Three users rating items by id; titles for ids 10, 20, 30, 40.
    func ratings(itemKey: ItemKey) throws -> Ratings {
        var raw = RawRatings()
        raw.name = "toy"
        raw.userIds = ["1", "2", "3"]
        raw.itemIds = ["10", "20", "30", "40"]
        raw.catalog = ["10": ItemMeta(title: "Ten (1910)", genres: ["Drama"]), "20": ItemMeta(title: "Twenty (1920)"),
                       "30": ItemMeta(title: "Thirty (1930)"), "40": ItemMeta(title: "Forty (1940)")]
        for (u, i) in [(0, 0), (0, 1), (1, 1), (2, 2), (2, 3), (1, 0), (0, 3)] {
            raw.user.append(Int32(u)); raw.item.append(Int32(i)); raw.rating.append(4); raw.timestamp.append(0)
        }
        return try Ratings(raw, itemKey: itemKey)
    }

    func unkeyedModel(items: Int, users: Int? = nil) -> FactorModel {
        var meta = ModelMetadata()
        meta.dataset = "ckpt.pth"
        meta.itemLabels = (0..<items).map(String.init)
        return FactorModel(userFactors: users.map { Matrix(rows: $0, cols: 2) }, itemFactors: Matrix(rows: items, cols: 2),
                           userBias: nil, itemBias: nil, meta: meta)
    }

    func testRowsTakeFastaisVocabulary() throws {
        let r = try ratings(itemKey: .title)
        let m = try FactorLoader.attachVocabulary(unkeyedModel(items: 5, users: 4), ratings: r)
        XCTAssertEqual(m.meta.itemLabels, ["#na#", "Forty (1940)", "Ten (1910)", "Thirty (1930)", "Twenty (1920)"])
        XCTAssertEqual(m.meta.itemCounts, [0, 2, 2, 1, 2])
        XCTAssertEqual(m.meta.itemGenres[2], ["Drama"])
        XCTAssertEqual(m.meta.userLabels, ["#na#", "1", "2", "3"])
        XCTAssertEqual(m.meta.firstItemRow, 1)
    }

    func testRowCountMismatchStatesBothNumbers() throws {
        let r = try ratings(itemKey: .title)
        assertDataError(try FactorLoader.attachVocabulary(unkeyedModel(items: 7), ratings: r), "7 item rows", "has 5", "items keyed by id")
        assertDataError(try FactorLoader.attachVocabulary(unkeyedModel(items: 5, users: 9), ratings: r), "9 user rows", "4 users")
    }

    func testSparkIdsMapToTitlesByKey() throws {
        var m = unkeyedModel(items: 3)
        m.meta.itemKeys = ["40", "10", "99"]
        m.meta.itemLabels = m.meta.itemKeys
        let warnings = WarningLog()
        let named = try FactorLoader.attachVocabulary(m, ratings: ratings(itemKey: .id), warn: { warnings.add($0) })
        XCTAssertEqual(named.meta.itemLabels, ["Forty (1940)", "Ten (1910)", "99"])
        XCTAssertEqual(named.meta.itemCounts, [2, 2, 0])
        XCTAssertEqual(warnings.messages.count, 1)
        XCTAssertTrue(warnings.messages[0].contains("1 of 3 item keys"))
        assertDataError(try FactorLoader.attachVocabulary(m, ratings: ratings(itemKey: .title)), "none of its 3 item keys", "items keyed by id")
    }

    func testVocabularyFileAsLinesOrJSON() throws {
        let dir = try TestData.scratch(self)
        try TestData.write("[\"#na#\", \"a\", 3]", to: dir + "/v.json")
        XCTAssertEqual(try FactorLoader.readVocabulary(dir + "/v.json"), ["#na#", "a", "3"])
        try TestData.write("x\r\ny\n", to: dir + "/v.txt")
        XCTAssertEqual(try FactorLoader.readVocabulary(dir + "/v.txt"), ["x", "y"])
        assertDataError(try Fixtures.load("torch/edb_f32.pth") { $0.vocabularyFile = dir + "/v.txt" }, "2 labels for 9 item rows")
    }

    func testMovieLensVocabularyMatchesAModelOfItsSize() throws { try checkVocabularyOfItsSize(.ml100k()) }
    func testSyntheticVocabularyMatchesAModelOfItsSize() throws { try checkVocabularyOfItsSize(.synthetic()) }

    /// A checkpoint without labels takes the data's vocabulary when the row counts
    /// agree; keyed by id instead, the rows are too many and the message says both.
    func checkVocabularyOfItsSize(_ d: LayoutDataset) throws {
        let r = try DatasetLoader.load(path: d.folder, itemKey: .title)
        let m = try FactorLoader.attachVocabulary(unkeyedModel(items: d.vocabItemsByTitle), ratings: r)
        XCTAssertEqual(m.meta.itemLabels, r.itemLabels)
        XCTAssertEqual(m.meta.itemCounts.reduce(0, +), d.ratings)
        assertDataError(try FactorLoader.attachVocabulary(unkeyedModel(items: d.vocabItemsById), ratings: r),
                        "\(d.vocabItemsById) item rows", "\(d.vocabItemsByTitle)")
    }
}

/// Collects warnings from `FactorLoader`, which may be called from any thread.
final class WarningLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    var messages: [String] { lock.lock(); defer { lock.unlock() }; return stored }
    func add(_ message: String) { lock.lock(); stored.append(message); lock.unlock() }
}
