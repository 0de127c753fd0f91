@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingLinalg
@testable import EmbeddingTrain
@testable import EmbeddingAnalysis
@testable import EmbeddingRender
import Foundation
import XCTest

/// Recipe `sparse` (lazy Adam over stratified blocks) and recipe `auto`.
final class TrainSparseTests: XCTestCase {
    /// A row that steps at `first`, sits out the next `gap` steps, and is caught
    /// up in closed form, against the same row stepped densely with zero gradients.
    func testCatchUpMatchesDenseZeroGradientSteps() {
        let steps = 100_000, n = 8
        let tables = SparseAdam.DecayTables(schedule: OneCycleSchedule(lrMax: 5e-3), wd: 0.1, steps: steps)
        for first in [2_000, 30_000, 90_000] {
            for gap in [1, 7, 60, 250, 1_000] {
                let net = SparseAdam(users: 1, items: 1, factors: n - 1, useBias: true, yRange: nil, seed: UInt64(gap))
                let p = net.params(0), m = p + net.stride, q = m + net.stride
                var g = (0..<n).map { Float($0) * 0.01 - 0.03 }
                tables.withView { v in
                    v.steps[first].apply(params: p, grads: &g, gradAvg: m, sqrtSqrAvg: q, count: n)
                    net.stamp(0, step: first, v)
                }
                let before = Array(UnsafeBufferPointer(start: p, count: n))
                var dense = (p: before, m: Array(UnsafeBufferPointer(start: m, count: n)), q: Array(UnsafeBufferPointer(start: q, count: n)))
                for t in (first + 1)...(first + gap) {
                    tables.withView { $0.steps[t] }.applyZeroGradient(params: &dense.p, gradAvg: &dense.m, sqrtSqrAvg: &dense.q, count: n)
                }
                tables.withView { v in
                    let a = SparseAdam.Absence(last: first, step: first + gap + 1, clock: net.clock(0).pointee, v)!
                    for f in 0..<n {
                        p[f] = (p[f] - a.drift * (m[f] / (q[f] * a.c + AdamStep.defaultEps))) * a.decay
                        m[f] *= a.momDecay
                        q[f] *= a.sqrDecay
                    }
                }
                for f in 0..<n {
                    // Moments exactly; the parameter's move within 1% (the drift neglects eps
                    // next to sqrt(v) and holds lr and the debiasing for the window).
                    XCTAssertEqual(m[f], dense.m[f], accuracy: 1e-5 * abs(dense.m[f]) + 1e-20, "m at \(first)+\(gap)")
                    XCTAssertEqual(q[f], dense.q[f], accuracy: 1e-5 * abs(dense.q[f]) + 1e-30, "q at \(first)+\(gap)")
                    let move = dense.p[f] - before[f]
                    XCTAssertEqual(p[f] - before[f], move, accuracy: 0.01 * abs(move) + 1e-8, "p at \(first)+\(gap)")
                }
            }
        }
    }

    func testMergedStepNumbersArePermutations() {
        for counts in [[3, 5], [1, 0, 4], [7, 7, 7, 2], [10, 1, 3, 8, 2, 6, 5, 9]] {
            var seen: [Int] = []
            for (p, n) in counts.enumerated() {
                var previous = -1
                for b in 0..<n {
                    let index = BlockSchedule.mergedIndex(b, pair: p, counts: counts)
                    XCTAssertGreaterThan(index, previous, "a pair's batches keep their order")
                    previous = index
                    seen.append(index)
                }
            }
            XCTAssertEqual(seen.sorted(), Array(0..<counts.reduce(0, +)), "\(counts)")
        }
    }

    func testTwoThreadsTrainTheSameModelAsOne() throws {
        let data = try LowRank.ratings(users: 400, items: 300, rank: 3, density: 0.2, noise: 0.3, seed: 8)
        let (train, valid) = Split.fold(3).apply(data)
        var config = TrainConfig()
        config.recipe = .sparse
        config.epochs = 1
        config.threads = 1
        let one = try Trainer.train(train, valid: valid, config: config)
        config.threads = 2
        let two = try Trainer.train(train, valid: valid, config: config)
        // The strata's pairs share no rows, so the threads' interleaving cannot matter.
        XCTAssertEqual(one.model.userFactors, two.model.userFactors)
        XCTAssertEqual(one.model.itemBias, two.model.itemBias)
        let rmse1 = Evaluation.score(one.model, on: valid).rmse, rmse2 = Evaluation.score(two.model, on: valid).rmse
        XCTAssertEqual(rmse1, rmse2, accuracy: 0.005)
    }

    func testSparseRecipeRecoversALowRankModel() throws {
        let (result, valid, noise) = try LowRank.recoveryRun(recipe: .sparse)
        XCTAssertLessThan(Evaluation.score(result.model, on: valid).rmse, 1.5 * Double(noise))
        XCTAssertEqual(result.model.meta.recipe["recipe"], "sparse")
    }

    func testSparseRecipeTracksTheDenseOneOnMovieLens() throws {
        let ratings = try DatasetLoader.load(path: TestData.ml100k(), itemKey: .title)
        let (train, valid) = Split.fold(1).apply(ratings)
        var config = TrainConfig()
        let dense = Evaluation.score(try Trainer.train(train, valid: valid, config: config).model, on: valid).rmse
        config.recipe = .sparse
        let sparse = Evaluation.score(try Trainer.train(train, valid: valid, config: config).model, on: valid).rmse
        XCTAssertEqual(sparse, dense, accuracy: 0.01, "same recipe, sparse updates")
        XCTAssertLessThan(sparse, 0.95)
    }

    func testAutoPicksByTheCostOfTheDensePass() {
        // ml-100k: 2609 rows x 51 x 1250 batches = 1.7e8 updates per epoch: dense.
        XCTAssertEqual(Recipe.auto.resolved(ratings: 80_000, users: 944, items: 1665, factors: 50, batchSize: 64), .fastai)
        // ml-25m: 221 589 rows x 51 x 390 626 batches = 4.4e12: sparse.
        XCTAssertEqual(Recipe.auto.resolved(ratings: 25_000_095, users: 162_542, items: 59_048, factors: 50, batchSize: 64), .sparse)
        XCTAssertEqual(Recipe.best.resolved(ratings: 25_000_095, users: 162_542, items: 59_048, factors: 50, batchSize: 64), .best)
    }
}
