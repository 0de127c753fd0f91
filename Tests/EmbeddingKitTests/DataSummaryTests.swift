@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingLinalg
@testable import EmbeddingTrain
@testable import EmbeddingAnalysis
@testable import EmbeddingRender
import Foundation
import XCTest

final class DataSummaryTests: XCTestCase {
    /// u.data read with plain string splitting: (user, item, rating) per line.
    func independentRows() throws -> [(String, String, Float)] {
        try String(contentsOfFile: TestData.ml100k() + "/u.data", encoding: .utf8).split(separator: "\n").map {
            let f = $0.split(separator: "\t")
            return (String(f[0]), String(f[1]), Float(String(f[2]))!)
        }
    }

    func testSummaryOfMovieLens100kByTitle() throws {
        let rows = try independentRows()
        let raw = try DatasetLoader.loadRaw(path: TestData.ml100k())
        let facts = DatasetSummary.RawFacts(raw)
        let s = DatasetSummary(facts, ratings: try Ratings(raw, itemKey: .title), top: 3)
        XCTAssertEqual(s.ratings, rows.count)
        XCTAssertEqual(s.users, Set(rows.map(\.0)).count)
        XCTAssertEqual(s.items, Set(rows.map(\.1)).count)
        XCTAssertEqual([s.ratings, s.users, s.items, s.titles, s.vocabUsers, s.vocabItems], [100_000, 943, 1682, 1664, 944, 1665])
        var histogram: [Float: Int] = [:]
        for r in rows { histogram[r.2, default: 0] += 1 }
        XCTAssertEqual(s.histogram.map(\.rating), histogram.keys.sorted())
        XCTAssertEqual(s.histogram.map(\.count), histogram.keys.sorted().map { histogram[$0]! })
        XCTAssertEqual(s.ratingMean, rows.reduce(0.0) { $0 + Double($1.2) } / Double(rows.count), accuracy: 1e-9)
        XCTAssertEqual(s.mostRated.first?.item, "Star Wars (1977)")
        XCTAssertEqual(s.mostRated.first?.ratings, rows.filter { $0.1 == "50" }.count)

        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(s)) as? [String: Any]
        for key in ["ratings", "users", "items", "titles", "vocab_users", "vocab_items", "histogram", "sparsity", "most_rated"] {
            XCTAssertNotNil(json?[key], key)
        }
    }

    func testSummaryWithoutTitlesSaysNull() throws {
        let dir = try TestData.scratch(self)
        try TestData.write("1,2,0.3\n1,3,4.7\n2,2,1\n", to: dir + "/r.csv")
        let raw = try DatasetLoader.loadRaw(path: dir + "/r.csv")
        let s = DatasetSummary(.init(raw), ratings: try Ratings(raw, itemKey: .id))
        XCTAssertNil(s.titles)
        XCTAssertEqual(s.histogram.count, 10, "ratings off the half-star grid are binned")
        XCTAssertEqual(s.histogram.map(\.count).reduce(0, +), 3)
        let json = String(decoding: try JSONEncoder().encode(s), as: UTF8.self)
        XCTAssertTrue(json.contains("\"titles\":null"), json)
        XCTAssertEqual(s.sparsity, 1 - 3.0 / 4.0, accuracy: 1e-12)
    }

    func testCrosstabMatchesTheFile() throws {
        let rows = try independentRows()
        var perUser: [String: Int] = [:], perItem: [String: Int] = [:], rating: [String: Float] = [:]
        for r in rows { perUser[r.0, default: 0] += 1; perItem[r.1, default: 0] += 1; rating[r.0 + "/" + r.1] = r.2 }
        let table = Crosstab(try DatasetLoader.load(path: TestData.ml100k(), itemKey: .id), users: 15, items: 15)
        XCTAssertEqual(table.userLabels.count, 15)
        XCTAssertEqual(table.userLabels.first, perUser.max { $0.value < $1.value }?.key)
        XCTAssertEqual(table.itemLabels.first, "Star Wars (1977)")
        XCTAssertEqual(table.itemCounts, table.itemCounts.sorted(by: >))
        let r = try DatasetLoader.load(path: TestData.ml100k(), itemKey: .id)
        for (u, user) in table.userLabels.enumerated() {
            for (i, row) in table.itemRows.enumerated() {
                XCTAssertEqual(table.cells[u][i], rating[user + "/" + r.items[row]], "\(user) x \(r.items[row])")
            }
        }
        let csv = table.csv().split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(csv.count, 17)  // header, 15 users, final newline
        XCTAssertTrue(csv[0].hasPrefix("user,Star Wars (1977),"))
        XCTAssertTrue(csv[0].contains("\"English Patient, The (1996)\""), String(csv[0]))
        XCTAssertTrue(csv[1].contains(",,"), "blank where unrated")
    }
}
