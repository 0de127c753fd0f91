@testable import EmbeddingAnalysis
import EmbeddingCore
import EmbeddingFormats
import EmbeddingTrain
import Foundation
import XCTest

/// `recommend --all-users`, the ranking metrics of `evaluate` and `evaluate --cv`,
/// each against a computation written here the plain way.
final class EvaluationRankingTests: XCTestCase {
    /// A small model trained on a dataset, with its ratings.
    func trained(_ dataset: LayoutDataset, epochs: Int = 2) throws -> (model: FactorModel, ratings: Ratings) {
        let ratings = try DatasetLoader.load(path: dataset.folder, itemKey: .title)
        var config = TrainConfig()
        config.epochs = epochs
        let model = try Trainer.train(ratings, valid: nil, config: config).factors
        return (model, ratings)
    }

    /// Per user, the model item rows they rated, found by label with a dictionary (not `KeyAlignment`).
    func seenByLabel(_ model: FactorModel, _ ratings: Ratings) -> [String: Set<Int>] {
        var itemRow: [String: Int] = [:]
        for (row, key) in model.meta.itemKeys.enumerated() where key != Vocabulary.missing && itemRow[key] == nil { itemRow[key] = row }
        var seen: [String: Set<Int>] = [:]
        for j in 0..<ratings.count {
            guard let i = itemRow[ratings.items.labels[Int(ratings.item[j])]] else { continue }
            seen[ratings.users.labels[Int(ratings.user[j])], default: []].insert(i)
        }
        return seen
    }

    /// Every user's all-users list equals the list `recommend --user` computes
    /// for that user alone (`Recommender.predictions` + `best`), row for row
    /// and bit for bit.
    func assertAllUsersMatchPerUser(_ model: FactorModel, _ ratings: Ratings, rows: [Int], top: Int,
                                    threads: Int = 2, blockUsers: Int = 64, file: StaticString = #filePath, line: UInt = #line) throws {
        let users = Recommender.knownUsers(model)
        let seen = seenByLabel(model, ratings)
        let all = try Recommender.bestForUsers(model, users: users, rows: rows,
                                               excluded: Recommender.seenRows(users: users, ratings: ratings, model: model),
                                               count: top, threads: threads, blockUsers: blockUsers)
        var checked = 0
        for (p, u) in users.enumerated() {
            let label = model.meta.userLabels[u]
            let alone = Recommender.best(Recommender.predictions(model, user: u), rows: rows, excluded: seen[label] ?? [], count: top)
            let together = all.recommendations(ofPosition: p)
            XCTAssertEqual(together.map(\.row), alone.map(\.row), "user \(label)", file: file, line: line)
            XCTAssertEqual(together.map(\.predictedRating.bitPattern), alone.map(\.predictedRating.bitPattern), "user \(label)", file: file, line: line)
            checked += 1
        }
        XCTAssertEqual(checked, model.meta.userLabels.count - 1, file: file, line: line)
    }

    func testAllUsersEqualPerUserListsOnML100k() throws {
        let (model, ratings) = try trained(try LayoutDataset.ml100k())
        XCTAssertEqual(Recommender.knownUsers(model).count, 943)
        let rows = Array(model.meta.firstItemRow..<model.itemCount)
        try assertAllUsersMatchPerUser(model, ratings, rows: rows, top: 10)
        // Longer lists and a minimum of ratings (fewer candidates) as `--min-ratings 20` gives.
        let counts = ratings.itemCounts()
        try assertAllUsersMatchPerUser(model, ratings, rows: rows.filter { counts[$0] >= 20 }, top: 50)
    }

    func testAllUsersEqualPerUserListsOnSynthetic() throws {
        let (model, ratings) = try trained(try LayoutDataset.synthetic())
        let rows = Array(model.meta.firstItemRow..<model.itemCount)
        try assertAllUsersMatchPerUser(model, ratings, rows: rows, top: 10)
        // The split over threads and blocks does not change a list.
        try assertAllUsersMatchPerUser(model, ratings, rows: rows, top: 10, threads: 1, blockUsers: 7)
    }

    /// Items with identical vectors and biases tie exactly; `best` orders them
    /// by row, and so must the blocked path, whatever sgemm's rounding.
    func testAllUsersBreakExactTiesByRowAsPerUser() throws {
        var (model, ratings) = try trained(try LayoutDataset.synthetic())
        let k = model.factors
        for row in stride(from: 2, to: model.itemCount, by: 2) {
            for f in 0..<k { model.itemFactors.data[row * k + f] = model.itemFactors.data[(row - 1) * k + f] }
            model.itemBias![row] = model.itemBias![row - 1]
        }
        ratings = ratings.subset(Array(0..<(ratings.count / 4)))
        try assertAllUsersMatchPerUser(model, ratings, rows: Array(1..<model.itemCount), top: 15)
    }

    // MARK: ranking metrics

    /// Two users, six items, one factor, no biases or squashing: the prediction
    /// of user u for item i is u·q_i, so the lists are known by hand.
    func handBuilt() -> (model: FactorModel, train: Ratings, heldOut: Ratings) {
        let users = Vocabulary(labels: ["#na#", "a", "b"])
        let items = Vocabulary(labels: ["#na#", "i1", "i2", "i3", "i4", "i5", "i6"])
        var meta = ModelMetadata()
        meta.yRange = nil
        meta.userLabels = users.labels
        meta.itemKeys = items.labels
        meta.itemLabels = items.labels
        let model = FactorModel(userFactors: Matrix(rows: 3, cols: 1, data: [0, 1, -1]),
                                itemFactors: Matrix(rows: 7, cols: 1, data: [0, 6, 5, 4, 3, 2, 1]),
                                userBias: nil, itemBias: nil, meta: meta)
        func table(_ rows: [(String, String, Float)]) -> Ratings {
            Ratings(user: rows.map { Int32(users.index(of: $0.0)!) }, item: rows.map { Int32(items.index(of: $0.1)!) },
                    rating: rows.map(\.2), timestamp: rows.map { _ in 0 }, users: users, items: items, itemKey: .id,
                    itemLabels: items.labels, itemGenres: [], genreNames: [], name: "hand", sources: [])
        }
        // a rated i1 in training; holds out i2 (5), i4 (4), i3 (3), i6 (2): relevant {i2, i4}.
        // b rated i6, i5 in training; holds out i1 (5), i4 (4), i2 (1): relevant {i1, i4}.
        let train = table([("a", "i1", 4), ("b", "i6", 3), ("b", "i5", 2)])
        let heldOut = table([("a", "i2", 5), ("a", "i4", 4), ("a", "i3", 3), ("a", "i6", 2),
                             ("b", "i1", 5), ("b", "i4", 4), ("b", "i2", 1)])
        return (model, train, heldOut)
    }

    func testRankingMetricsOnAHandBuiltCase() throws {
        let (model, train, heldOut) = handBuilt()
        let score = try RankingMetrics.evaluate(model, train: train, heldOut: heldOut, k: 3)
        // a: candidates i2..i6 ranked i2 i3 i4 | i5 i6 → hits i2 (rank 1), i4 (rank 3) of 2 relevant.
        // b: candidates i1..i4 ranked i4 i3 i2 | i1 → hit i4 (rank 1) of 2 relevant.
        let idcg2 = 1 + 1 / log2(3.0)
        XCTAssertEqual(score.users, 2)
        XCTAssertEqual(score.precision, (2.0 / 3 + 1.0 / 3) / 2, accuracy: 1e-12)
        XCTAssertEqual(score.recall, (1.0 + 0.5) / 2, accuracy: 1e-12)
        XCTAssertEqual(score.ndcg, ((1 + 1 / log2(4.0)) / idcg2 + 1 / idcg2) / 2, accuracy: 1e-12)
        XCTAssertEqual(score.ndcg, 0.766433990956823, accuracy: 1e-12)
    }

    /// The metrics against a brute force: every (user, item) scored one by one,
    /// sorted, filtered and counted here, on a trained model and a real split.
    func testRankingMetricsEqualABruteForce() throws {
        let dataset = try LayoutDataset.synthetic()
        let ratings = try DatasetLoader.load(path: dataset.folder, itemKey: .title)
        let (train, heldOut) = Split.fold(1).apply(ratings)
        var config = TrainConfig()
        config.epochs = 2
        let model = try Trainer.train(train, valid: nil, config: config).factors
        let k = 10
        let score = try RankingMetrics.evaluate(model, train: train, heldOut: heldOut, k: k)

        // Vocabularies are shared by the split's parts and the model: rows are data rows.
        var trained = [Set<Int>](repeating: [], count: model.userCount)
        for j in 0..<train.count { trained[Int(train.user[j])].insert(Int(train.item[j])) }
        var relevant = [Set<Int>](repeating: [], count: model.userCount)
        for j in 0..<heldOut.count where heldOut.rating[j] >= 4 && !trained[Int(heldOut.user[j])].contains(Int(heldOut.item[j])) {
            relevant[Int(heldOut.user[j])].insert(Int(heldOut.item[j]))
        }
        var sums = (p: 0.0, r: 0.0, n: 0.0), users = 0
        for u in 1..<model.userCount where !relevant[u].isEmpty {
            var scored: [(row: Int, p: Float)] = []
            for i in 1..<model.itemCount where !trained[u].contains(i) { scored.append((i, model.predict(user: u, item: i))) }
            scored.sort { $0.p != $1.p ? $0.p > $1.p : $0.row < $1.row }
            let list = scored.prefix(k).map(\.row)
            let hits = list.filter { relevant[u].contains($0) }.count
            var dcg = 0.0, idcg = 0.0
            for (r, row) in list.enumerated() where relevant[u].contains(row) { dcg += 1 / log2(Double(r) + 2) }
            for r in 0..<min(k, relevant[u].count) { idcg += 1 / log2(Double(r) + 2) }
            sums.p += Double(hits) / Double(k)
            sums.r += Double(hits) / Double(relevant[u].count)
            sums.n += dcg / idcg
            users += 1
        }
        XCTAssertGreaterThan(users, 50)
        XCTAssertEqual(score.users, users)
        XCTAssertEqual(score.precision, sums.p / Double(users), accuracy: 1e-12)
        XCTAssertEqual(score.recall, sums.r / Double(users), accuracy: 1e-12)
        XCTAssertEqual(score.ndcg, sums.n / Double(users), accuracy: 1e-12)
    }

    // MARK: cross-validation

    /// numpy: `np.mean([0.9, 0.91, 0.93, 0.95, 0.96])` = 0.93,
    /// `np.std(...)` = 0.022803508501982778 (population; ddof=1 gives 0.025495097567963948).
    func testMeanAndPopulationDeviationAsNumPy() {
        let (mean, sd) = CrossValidation.meanAndDeviation([0.9, 0.91, 0.93, 0.95, 0.96])
        XCTAssertEqual(mean, 0.93, accuracy: 1e-15)
        XCTAssertEqual(sd, 0.022803508501982778, accuracy: 1e-15)
    }

    /// Folds trained two at a time (one thread each) give the models of folds
    /// trained one after another, bit for bit.
    func testParallelFoldsEqualSerialFolds() throws {
        let ratings = try DatasetLoader.load(path: try LayoutDataset.synthetic().folder, itemKey: .title)
        var config = TrainConfig()
        config.epochs = 2
        func models(threads: Int) throws -> [FactorModel] {
            config.threads = threads
            return try CrossValidation.run(ratings, config: config) { _, result, _, _ in result.factors }
        }
        let serial = try models(threads: 1), parallel = try models(threads: 2)
        XCTAssertEqual(serial.count, 5)
        for (s, p) in zip(serial, parallel) {
            XCTAssertEqual(s.itemFactors, p.itemFactors)
            XCTAssertEqual(s.userFactors, p.userFactors)
            XCTAssertEqual(s.itemBias, p.itemBias)
            XCTAssertEqual(s.userBias, p.userBias)
        }
        XCTAssertNotEqual(serial[0].itemFactors, serial[1].itemFactors, "the folds are different models")
    }

    /// `evaluate --cv`'s fold u1 is `train --split u1` with the same seed: the
    /// two commands, run as a user runs them, report the same RMSE.
    func testCVFoldU1EqualsTrainSplitU1() throws {
        let home = try TestData.scratch(self)
        let data = Fixtures.path("ml100k-synthetic")
        let cv = try EmbtoolCLI.run(["evaluate", "--cv", "--data", data, "--seed", "7", "--epochs", "3", "--json"], home: home)
        XCTAssertEqual(cv.status, 0, cv.stderr)
        let train = try EmbtoolCLI.run(["train", "--data", data, "--split", "u1", "--seed", "7", "--epochs", "3",
                                        "-o", home + "/u1.safetensors", "--json"], home: home)
        XCTAssertEqual(train.status, 0, train.stderr)
        let folds = try XCTUnwrap(try cv.json()["folds"] as? [[String: Any]])
        XCTAssertEqual(folds.map { $0["split"] as? String }, ["u1", "u2", "u3", "u4", "u5"])
        let foldRMSE = try XCTUnwrap(folds[0]["rmse"] as? Double)
        XCTAssertEqual(foldRMSE, try XCTUnwrap(try train.json()["valid_rmse"] as? Double))
        // The summary is the folds' mean and population deviation.
        let rmse = folds.compactMap { $0["rmse"] as? Double }
        let mean = rmse.reduce(0, +) / 5
        XCTAssertEqual(try cv.json()["rmse_mean"] as? Double ?? .nan, mean, accuracy: 1e-12)
        XCTAssertEqual(try cv.json()["rmse_sd"] as? Double ?? .nan,
                       (rmse.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 5).squareRoot(), accuracy: 1e-12)
    }
}
