@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingLinalg
@testable import EmbeddingTrain
@testable import EmbeddingAnalysis
@testable import EmbeddingRender
import Foundation
import XCTest

/// Ratings generated from a known low-rank model plus Gaussian noise.
extension TrainConfig {
    /// Recipe best on one thread, without a y-range: the small Gibbs runs the tests replay.
    static func gibbs(sweeps: Int, samplerFactors: Int, factors: Int) -> TrainConfig {
        var config = TrainConfig()
        config.recipe = .best
        config.sweeps = sweeps
        config.samplerFactors = samplerFactors
        config.factors = factors
        config.yRange = nil
        config.threads = 1
        return config
    }
}

enum LowRank {
    /// `rating = mean + u_weight[u] · i_weight[i] + b_u + b_i + N(0, noise²)` for a
    /// random `density` of the pairs; factors ~ N(0, scale²/rank) so dot products
    /// have standard deviation about `scale`.
    static func ratings(users: Int, items: Int, rank: Int, density: Double, noise: Float,
                        scale: Float = 1, mean: Float = 3, seed: UInt64) throws -> Ratings {
        var rng = SplitMix64(seed: seed)
        let s = scale / Float(rank).squareRoot().squareRoot()
        let uf = (0..<(users * rank)).map { _ in rng.nextGaussian() * s }
        let itf = (0..<(items * rank)).map { _ in rng.nextGaussian() * s }
        let ub = (0..<users).map { _ in rng.nextGaussian() * 0.3 }
        let ib = (0..<items).map { _ in rng.nextGaussian() * 0.3 }
        var raw = RawRatings()
        raw.name = "low-rank"
        raw.userIds = (0..<users).map { "u\($0)" }
        raw.itemIds = (0..<items).map { "i\($0)" }
        for u in 0..<users {
            for i in 0..<items where rng.nextFloat() < Float(density) {
                var dot: Float = 0
                for f in 0..<rank { dot += uf[u * rank + f] * itf[i * rank + f] }
                raw.user.append(Int32(u))
                raw.item.append(Int32(i))
                raw.rating.append(mean + dot + ub[u] + ib[i] + noise * rng.nextGaussian())
                raw.timestamp.append(0)
            }
        }
        // Shuffle so a fold split is a random split.
        var order = Array(0..<raw.count)
        order.shuffle(using: &rng)
        raw.user = order.map { raw.user[$0] }
        raw.item = order.map { raw.item[$0] }
        raw.rating = order.map { raw.rating[$0] }
        raw.timestamp = order.map { raw.timestamp[$0] }
        return try Ratings(raw, itemKey: .id)
    }

    /// The recovery run the recipes share: rank 3 planted in 300 x 200 with noise
    /// 0.1, fold 1 held out, 8 factors, 30 epochs, no y_range.
    static func recoveryRun(recipe: Recipe) throws -> (result: TrainResult, valid: Ratings, noise: Float) {
        let noise: Float = 0.1
        let data = try ratings(users: 300, items: 200, rank: 3, density: 0.3, noise: noise, seed: 5)
        let (train, valid) = Split.fold(1).apply(data)
        var config = TrainConfig()
        config.recipe = recipe
        config.factors = 8
        config.epochs = 30
        config.lr = 0.03
        config.wd = 0.001
        config.yRange = nil
        return (try Trainer.train(train, valid: valid, config: config), valid, noise)
    }
}

final class TrainTests: XCTestCase {
    func testFastaiRecipeRecoversALowRankModelToTheNoiseLevel() throws {
        let (result, valid, noise) = try LowRank.recoveryRun(recipe: .fastai)
        let score = Evaluation.score(result.model, on: valid)
        let spread = standardDeviation(valid.rating)
        XCTAssertGreaterThan(spread, 1, "the ratings vary far more than the noise")
        XCTAssertLessThan(score.rmse, 1.5 * Double(noise), "held-out error should approach the noise (\(noise)); spread \(spread)")
        XCTAssertEqual(score.n, valid.count)
    }

    func testOneAndTwoThreadsTrainTheSameModel() throws {
        let data = try LowRank.ratings(users: 80, items: 60, rank: 2, density: 0.4, noise: 0.3, seed: 9)
        var config = TrainConfig()
        config.factors = 5
        config.epochs = 2
        config.threads = 1
        let one = try Trainer.train(data, valid: nil, config: config).factors
        config.threads = 2
        let two = try Trainer.train(data, valid: nil, config: config).factors
        XCTAssertEqual(one.userFactors, two.userFactors)
        XCTAssertEqual(one.itemFactors, two.itemFactors)
        XCTAssertEqual(one.itemBias, two.itemBias)
        config.seed = 43
        let other = try Trainer.train(data, valid: nil, config: config).factors
        XCTAssertNotEqual(one.itemFactors, other.itemFactors, "the seed changes the run")
    }

    func testADivergingRunStopsWithAClearErrorAndNoModel() throws {
        let data = try LowRank.ratings(users: 100, items: 80, rank: 2, density: 0.5, noise: 0.3, seed: 3)
        var config = TrainConfig()
        config.lr = 10
        for (useBias, yRange) in [(true, ModelMetadata.YRange(low: 0, high: 5.5)), (false, nil)] {
            config.useBias = useBias
            config.yRange = yRange
            XCTAssertThrowsError(try Trainer.train(data, valid: nil, config: config)) { error in
                let e = error as? EmbtoolError
                XCTAssertEqual(e?.kind, .software)
                XCTAssertTrue(e?.message.contains("diverged") ?? false, e?.message ?? "\(error)")
            }
        }
    }

    func testMovieLensU1ReachesFastaisError() throws { try checkFoldU1(.ml100k()) }
    func testSyntheticU1ClosesTheGapToTheBayesError() throws { try checkFoldU1(.synthetic()) }

    /// fastbook's recipe on fold u1: the held-out error beats the dataset's bar
    /// (fastai's own on ml-100k), and the model file carries what analysis needs.
    func checkFoldU1(_ d: LayoutDataset) throws {
        let ratings = try DatasetLoader.load(path: d.folder, itemKey: .title)
        let (train, valid) = Split.fold(1).apply(ratings)
        let result = try Trainer.train(train, valid: valid, config: TrainConfig())
        let score = Evaluation.score(result.model, on: valid)
        XCTAssertLessThan(score.rmse, d.fastaiU1)
        XCTAssertGreaterThan(score.rmse, d.floorU1, "better than the Bayes-optimal predictor: the held-out part leaked")
        // The table's last valid_loss is this MSE.
        XCTAssertEqual(result.epochs.count, 5)
        XCTAssertEqual(result.epochs.last?.validLoss ?? 0, score.mse, accuracy: 1e-6)
        XCTAssertLessThan(result.epochs.last!.trainLoss, result.epochs.first!.trainLoss)
        // The model file carries what analysis needs and survives a round trip.
        let m = result.factors
        XCTAssertEqual(m.userFactors?.rows, d.vocabUsers)
        XCTAssertEqual(m.itemFactors.rows, d.vocabItemsByTitle)
        XCTAssertEqual(m.meta.recipe["recipe"], "fastai")
        XCTAssertEqual(m.meta.itemCounts.reduce(0, +), train.count)
        XCTAssertEqual(m.meta.dataChecksum, Trainer.trainingChecksum(train))
        let path = try TestData.scratch(self) + "/u1.safetensors"
        try ModelFile.save(m, to: path)
        let back = try ModelFile.load(path: path)
        XCTAssertEqual(Evaluation.score(back, on: valid), score)
    }

    func testEvaluationMatchesRowsByLabel() throws {
        // A model over users a, b and items x, y; data listing them in another order plus unknowns.
        var meta = ModelMetadata()
        meta.userLabels = ["#na#", "a", "b"]
        meta.itemKeys = ["#na#", "x", "y"]
        meta.yRange = nil
        let model = FactorModel(userFactors: Matrix(rows: 3, cols: 1, data: [0, 1, 2]),
                                itemFactors: Matrix(rows: 3, cols: 1, data: [0, 10, 20]),
                                userBias: nil, itemBias: nil, meta: meta)
        var raw = RawRatings()
        raw.userIds = ["b", "c", "a"]
        raw.itemIds = ["y", "x", "z"]
        // (b, y) -> 40, (a, x) -> 10, (c, x) unknown user, (a, z) unknown item.
        raw.user = [0, 2, 1, 2]
        raw.item = [0, 1, 1, 2]
        raw.rating = [41, 7, 1, 1]
        raw.timestamp = [0, 0, 0, 0]
        let data = try Ratings(raw, itemKey: .id)
        let s = Evaluation.score(model, on: data)
        XCTAssertEqual(s.n, 2)
        XCTAssertEqual(s.unknown, 2)
        XCTAssertEqual(s.mse, (1 + 9) / 2, accuracy: 1e-12)
        XCTAssertEqual(s.mae, (1 + 3) / 2, accuracy: 1e-12)
    }

    func testChecksumFollowsTheRows() throws {
        let data = try LowRank.ratings(users: 20, items: 10, rank: 1, density: 0.5, noise: 0.1, seed: 1)
        let a = Trainer.trainingChecksum(data)
        XCTAssertEqual(a.count, 64)
        XCTAssertEqual(a, Trainer.trainingChecksum(data.subset(Array(0..<data.count))))
        var changed = data
        changed.rating[0] += 0.5
        XCTAssertNotEqual(a, Trainer.trainingChecksum(changed))
    }

    func standardDeviation(_ x: [Float]) -> Double {
        let mean = x.reduce(0.0) { $0 + Double($1) } / Double(x.count)
        return (x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(x.count)).squareRoot()
    }
}
