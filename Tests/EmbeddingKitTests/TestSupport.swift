import EmbeddingCore
import EmbeddingFormats
import EmbeddingTrain
import Foundation
import XCTest

extension TrainResult {
    /// The trained model as the dot model every recipe of architecture dot makes.
    var factors: FactorModel { model as! FactorModel }
}

/// Shared test helpers: where MovieLens 100k lives and scratch folders.
enum TestData {
    static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/ml-100k` beside the repository (as CI lays it out), or
    /// `$EMBTOOL_TEST_ML100K`. MovieLens is never committed (its license).
    static func ml100k() throws -> String {
        let env = ProcessInfo.processInfo.environment
        let candidates: [String] = [env["EMBTOOL_TEST_ML100K"], repoRoot.appendingPathComponent("../shared/ml-100k").standardized.path].compactMap { $0 }
        for path in candidates where FileManager.default.fileExists(atPath: path + "/u.data") {
            return path
        }
        throw XCTSkip("MovieLens 100k not found beside the repository (../shared/ml-100k) or in $EMBTOOL_TEST_ML100K")
    }

    /// A fresh temporary folder, removed when the test ends.
    static func scratch(_ test: XCTestCase) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("embtool-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir.path
    }

    static func write(_ text: String, to path: String, encoding: String.Encoding = .utf8) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard let data = text.data(using: encoding) else { throw EmbtoolError.data("cannot encode fixture") }
        try data.write(to: URL(fileURLWithPath: path))
    }
}

/// A ratings folder in MovieLens 100k's layout, with facts about it known
/// independently of embtool: GroupLens' published ones for ml-100k (skipped
/// when it is absent), and for the committed synthetic dataset the ones its
/// generator computed (`Tests/fixtures/make_synthetic_ml100k.py` writes
/// `facts.json`). Tests written against this run on both, so the suite checks
/// the same things on a fresh clone without MovieLens.
struct LayoutDataset {
    var folder: String
    var ratings: Int, users: Int, items: Int, titles: Int
    /// Vocabulary sizes with `#na#`, items keyed by title and by id.
    var vocabUsers: Int, vocabItemsByTitle: Int, vocabItemsById: Int
    /// sha256 of `u.data`.
    var dataSHA256: String
    /// The most-rated title: a query that finds it, its ratings, mean rating and
    /// genres, and the two titles that must be among its five nearest neighbours.
    var star: (title: String, query: String, ratings: Int, mean: Double, genres: [String], sequels: [String])
    var mostActiveUser: String?
    /// Distinct titles user "1" rated.
    var user1Titles: Int
    /// Held-out RMSE on fold u1 that recipe fastai must beat, that recipe best
    /// (50 sweeps) must beat, and that no model can beat (the Bayes-optimal predictor's).
    var fastaiU1: Double, bestU1: Double, floorU1: Double

    static func ml100k() throws -> LayoutDataset {
        LayoutDataset(folder: try TestData.ml100k(), ratings: 100_000, users: 943, items: 1682, titles: 1664,
                      vocabUsers: 944, vocabItemsByTitle: 1665, vocabItemsById: 1683,
                      dataSHA256: MovieLensFetch.Expected.ml100k.dataSHA256,
                      // GroupLens' u.data: Star Wars (item 50) has 583 ratings averaging 4.3585.
                      star: ("Star Wars (1977)", "Star Wars", 583, 4.3585, ["Action", "Adventure", "Romance", "Sci-Fi", "War"],
                             ["Return of the Jedi (1983)", "Empire Strikes Back, The (1980)"]),
                      mostActiveUser: nil,
                      // User 1 rated 272 movies by id; two of them share a title.
                      user1Titles: 271,
                      // fastai 2.8 reaches RMSE 0.936 on u1; BPMF's 200 sweeps reach 0.903.
                      fastaiU1: 0.95, bestU1: 0.915, floorU1: 0)
    }

    /// `Tests/fixtures/ml100k-synthetic`: 15,000 ratings of 300 users on 400 invented films.
    static func synthetic() throws -> LayoutDataset {
        struct Facts: Decodable {
            struct Title: Decodable { var title: String; var ratings: Int }
            struct Saga: Decodable { var title: String; var sequels: [String]; var ratings: Int; var mean: Double; var genres: [String] }
            struct Fold: Decodable { var bayes_rmse: Double; var item_mean_rmse: Double }
            var ratings: Int, users: Int, items: Int, titles: Int
            var vocab_users: Int, vocab_items_by_title: Int, vocab_items_by_id: Int
            var u_data_sha256: String
            var most_rated: [Title]
            var most_active_user: String
            var saga: Saga
            var user_1_titles: Int
            var u1: Fold
        }
        let folder = Fixtures.path("ml100k-synthetic")
        let f = try JSONDecoder().decode(Facts.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/facts.json")))
        XCTAssertEqual(f.most_rated.first?.title, f.saga.title, "the saga is the most-rated title")
        // Bars between the item-mean baseline and the Bayes optimum: the share of that gap
        // a recipe must close (fastai closes about half, BPMF two thirds).
        let gap = f.u1.item_mean_rmse - f.u1.bayes_rmse
        return LayoutDataset(folder: folder, ratings: f.ratings, users: f.users, items: f.items, titles: f.titles,
                             vocabUsers: f.vocab_users, vocabItemsByTitle: f.vocab_items_by_title, vocabItemsById: f.vocab_items_by_id,
                             dataSHA256: f.u_data_sha256,
                             star: (f.saga.title, "planted saga", f.saga.ratings, f.saga.mean, f.saga.genres, f.saga.sequels),
                             mostActiveUser: f.most_active_user, user1Titles: f.user_1_titles,
                             fastaiU1: f.u1.item_mean_rmse - 0.4 * gap, bestU1: f.u1.item_mean_rmse - 0.55 * gap,
                             floorU1: f.u1.bayes_rmse - 0.02)
    }

    /// The fetcher's expectations for this folder.
    var expected: MovieLensFetch.Expected {
        MovieLensFetch.Expected(ratings: ratings, users: users, items: items, dataSHA256: dataSHA256)
    }
}
