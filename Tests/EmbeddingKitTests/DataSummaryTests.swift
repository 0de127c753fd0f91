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
    func independentRows(_ d: LayoutDataset) throws -> [(String, String, Float)] {
        try String(contentsOfFile: d.folder + "/u.data", encoding: .utf8).split(separator: "\n").map {
            let f = $0.split(separator: "\t")
            return (String(f[0]), String(f[1]), Float(String(f[2]))!)
        }
    }

    func testSummaryOfMovieLens100kByTitle() throws { try checkSummaryByTitle(.ml100k()) }
    func testSummaryOfSyntheticDataByTitle() throws { try checkSummaryByTitle(.synthetic()) }

    func checkSummaryByTitle(_ d: LayoutDataset) throws {
        let rows = try independentRows(d)
        let raw = try DatasetLoader.loadRaw(path: d.folder)
        let facts = DatasetSummary.RawFacts(raw)
        let s = DatasetSummary(facts, ratings: try Ratings(raw, itemKey: .title), top: 3)
        XCTAssertEqual(s.ratings, rows.count)
        XCTAssertEqual(s.users, Set(rows.map(\.0)).count)
        XCTAssertEqual(s.items, Set(rows.map(\.1)).count)
        XCTAssertEqual([s.ratings, s.users, s.items, s.titles, s.vocabUsers, s.vocabItems],
                       [d.ratings, d.users, d.items, d.titles, d.vocabUsers, d.vocabItemsByTitle])
        var histogram: [Float: Int] = [:]
        for r in rows { histogram[r.2, default: 0] += 1 }
        XCTAssertEqual(s.histogram.map(\.rating), histogram.keys.sorted())
        XCTAssertEqual(s.histogram.map(\.count), histogram.keys.sorted().map { histogram[$0]! })
        XCTAssertEqual(s.ratingMean, rows.reduce(0.0) { $0 + Double($1.2) } / Double(rows.count), accuracy: 1e-9)
        XCTAssertEqual(s.mostRated.first?.item, d.star.title)
        XCTAssertEqual(s.mostRated.first?.ratings, d.star.ratings)

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

    func testCrosstabMatchesMovieLens() throws {
        let csv = try checkCrosstabMatchesTheFile(.ml100k())
        XCTAssertTrue(csv.contains("\"English Patient, The (1996)\""), csv)
    }

    func testCrosstabMatchesSyntheticData() throws {
        let csv = try checkCrosstabMatchesTheFile(.synthetic())
        XCTAssertTrue(csv.contains(",\"Bread, Butter and Salt (1992)\","), csv)
        XCTAssertTrue(csv.contains(",\"Say \"\"Hello\"\" Again (1996)\","), csv)
    }

    /// The table against u.data read independently; returns the CSV's header line.
    func checkCrosstabMatchesTheFile(_ d: LayoutDataset) throws -> String {
        let rows = try independentRows(d)
        var perUser: [String: Int] = [:], perItem: [String: Int] = [:], rating: [String: Float] = [:]
        for r in rows { perUser[r.0, default: 0] += 1; perItem[r.1, default: 0] += 1; rating[r.0 + "/" + r.1] = r.2 }
        let r = try DatasetLoader.load(path: d.folder, itemKey: .id)
        let table = Crosstab(r, users: 15, items: 15)
        XCTAssertEqual(table.userLabels.count, 15)
        XCTAssertEqual(table.userLabels.first, perUser.max { $0.value < $1.value }?.key)
        if let user = d.mostActiveUser { XCTAssertEqual(table.userLabels.first, user) }
        XCTAssertEqual(table.itemLabels.first, d.star.title)
        XCTAssertEqual(table.itemCounts, table.itemCounts.sorted(by: >))
        for (u, user) in table.userLabels.enumerated() {
            for (i, row) in table.itemRows.enumerated() {
                XCTAssertEqual(table.cells[u][i], rating[user + "/" + r.items[row]], "\(user) x \(r.items[row])")
            }
        }
        let csv = table.csv().split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(csv.count, 17)  // header, 15 users, final newline
        XCTAssertTrue(csv[0].hasPrefix("user,\(d.star.title),"))
        let blanks = table.cells.joined().filter { $0 == nil }.count
        XCTAssertGreaterThan(blanks, 0)
        // A blank cell is an empty field: ",," inside a row or a trailing comma.
        let emptyFields = csv.dropFirst().map { line in line.split(separator: ",", omittingEmptySubsequences: false).filter(\.isEmpty).count }
        XCTAssertEqual(emptyFields.reduce(0, +), blanks + 1, "blank where unrated (and the final newline's empty line)")
        return String(csv[0])
    }
}
