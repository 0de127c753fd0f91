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
    /// Rows that step at `first` with a gradient, then sit out `gap` steps, caught
    /// up by the shipped code — `catchUpAll` (end of an epoch) and the catch-up
    /// fused into `step` (the row's next batch) — against the same rows stepped
    /// densely, one zero-gradient Adam step at a time (`AdamStep.applyZeroGradient`,
    /// itself checked against the full step and a fastai run).
    func testIsFiniteFindsAnyNonFiniteParameter() {
        // 11 factors and a bias: a row of 12 values, one lane block of 8 and a tail of 4.
        let net = SparseAdam(users: 5, items: 4, factors: 11, useBias: true, yRange: nil, seed: 3)
        XCTAssertTrue(net.isFinite)
        for (row, column) in [(0, 0), (3, 7), (4, 8), (8, 11)] {
            for bad in [Float.nan, .infinity, -.infinity] {
                let p = net.params(row), kept = p[column]
                p[column] = bad
                XCTAssertFalse(net.isFinite, "\(bad) at row \(row), value \(column)")
                p[column] = kept
            }
        }
        XCTAssertTrue(net.isFinite)
        net.params(2)[5] = .greatestFiniteMagnitude
        XCTAssertTrue(net.isFinite, "large but finite")
    }

    func testCatchUpMatchesDenseZeroGradientSteps() {
        let steps = 100_000, factors = 7, n = factors + 1
        let tables = SparseAdam.DecayTables(schedule: OneCycleSchedule(lrMax: 5e-3), wd: 0.1, steps: steps)
        typealias Row = (p: [Float], m: [Float], q: [Float])

        /// One user and one item, both stepped at `first` with a gradient; returns the net and each row's state.
        func steppedAtFirst(_ first: Int, seed: UInt64) -> (SparseAdam, [Row]) {
            let net = SparseAdam(users: 1, items: 1, factors: factors, useBias: true, yRange: nil, seed: seed)
            var rows: [Row] = []
            for r in 0..<2 {
                let p = net.params(r), m = p + net.stride, q = m + net.stride
                var g = (0..<n).map { Float($0 + r) * 0.01 - 0.03 }
                tables.withView { v in
                    v.steps[first].apply(params: p, grads: &g, gradAvg: m, sqrtSqrAvg: q, count: n)
                    net.stamp(r, step: first, v)
                }
                rows.append((Array(UnsafeBufferPointer(start: p, count: n)), Array(UnsafeBufferPointer(start: m, count: n)),
                             Array(UnsafeBufferPointer(start: q, count: n))))
            }
            return (net, rows)
        }
        /// `row` after zero-gradient steps `range`, one at a time.
        func dense(_ row: Row, _ range: ClosedRange<Int>) -> Row {
            var d = row
            for t in range { tables.withView { $0.steps[t] }.applyZeroGradient(params: &d.p, gradAvg: &d.m, sqrtSqrAvg: &d.q, count: n) }
            return d
        }
        func check(_ net: SparseAdam, _ r: Int, against d: Row, moved from: Row, _ what: String) {
            let p = net.params(r), m = p + net.stride, q = m + net.stride
            for f in 0..<n {
                // Moments exactly; the parameter's move within 1% (the drift neglects eps
                // next to sqrt(v) and holds lr and the debiasing for the window).
                XCTAssertEqual(m[f], d.m[f], accuracy: 1e-5 * abs(d.m[f]) + 1e-20, "m, \(what)")
                XCTAssertEqual(q[f], d.q[f], accuracy: 1e-5 * abs(d.q[f]) + 1e-30, "q, \(what)")
                let move = d.p[f] - from.p[f]
                XCTAssertEqual(p[f] - from.p[f], move, accuracy: 0.01 * abs(move) + 1e-8, "p, \(what)")
            }
        }

        for first in [2_000, 30_000, 90_000] {
            for gap in [1, 7, 60, 250, 1_000] {
                // End of an epoch: every row brought up to step first + gap.
                let (net, rows) = steppedAtFirst(first, seed: UInt64(gap))
                tables.withView { net.catchUpAll(to: first + gap, $0, threads: 1) }
                for r in 0..<2 {
                    check(net, r, against: dense(rows[r], (first + 1)...(first + gap)), moved: rows[r], "catchUpAll, row \(r) at \(first)+\(gap)")
                }

                // The rows' next batch at step first + gap + 1, rated exactly as the model
                // predicts, so the gradient is zero and the dense truth is gap + 1 zero-gradient steps.
                let (fused, before) = steppedAtFirst(first, seed: UInt64(gap))
                let batch = [PackedRating(user: 0, item: 0, rating: fused.score(0, 1))]
                let scratch = SparseAdam.Scratch(rows: fused.rows, batch: 1, stride: fused.stride)
                let loss = batch.withUnsafeBufferPointer { b in
                    tables.withView { fused.step(b, end: b.baseAddress! + 1, step: first + gap + 1, scratch: scratch, $0) }
                }
                XCTAssertEqual(loss, 0)
                for r in 0..<2 {
                    check(fused, r, against: dense(before[r], (first + 1)...(first + gap + 1)), moved: before[r], "step, row \(r) at \(first)+\(gap)")
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

    /// The merge the step numbers follow: every batch (pair q, batch c) sorted by its
    /// relative position (c + 1/2) / counts[q], ties to the lower pair; a batch's
    /// step is its place in that order. Compared as fractions, by cross-multiplying.
    func testMergedStepNumbersFollowRelativePosition() {
        for counts in [[3, 5], [1, 0, 4], [7, 7, 7, 2], [10, 1, 3, 8, 2, 6, 5, 9], [2, 6], [6, 2], [3, 1], [1, 3, 9]] {
            let batches = counts.enumerated().flatMap { q, n in (0..<n).map { (pair: q, batch: $0) } }
            let merged = batches.sorted { a, b in
                let (x, y) = ((2 * a.batch + 1) * counts[b.pair], (2 * b.batch + 1) * counts[a.pair])
                return x != y ? x < y : a.pair < b.pair
            }
            for (step, b) in merged.enumerated() {
                XCTAssertEqual(BlockSchedule.mergedIndex(b.batch, pair: b.pair, counts: counts), step, "\(counts): pair \(b.pair) batch \(b.batch)")
            }
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
        XCTAssertEqual(one.factors.userFactors, two.factors.userFactors)
        XCTAssertEqual(one.factors.itemBias, two.factors.itemBias)
        let rmse1 = Evaluation.score(one.model, on: valid).rmse, rmse2 = Evaluation.score(two.model, on: valid).rmse
        XCTAssertEqual(rmse1, rmse2, accuracy: 0.005)
    }

    func testSparseRecipeRecoversALowRankModel() throws {
        let (result, valid, noise) = try LowRank.recoveryRun(recipe: .sparse)
        XCTAssertLessThan(Evaluation.score(result.model, on: valid).rmse, 1.5 * Double(noise))
        XCTAssertEqual(result.model.meta.recipe["recipe"], "sparse")
    }

    func testSparseRecipeTracksTheDenseOneOnMovieLens() throws { try checkSparseTracksDense(.ml100k(), within: 0.01) }
    /// 15,000 ratings make 190 batches an epoch: the strata reorder a larger share of them.
    func testSparseRecipeTracksTheDenseOneOnSyntheticData() throws { try checkSparseTracksDense(.synthetic(), within: 0.03) }

    func checkSparseTracksDense(_ d: LayoutDataset, within tolerance: Double) throws {
        let ratings = try DatasetLoader.load(path: d.folder, itemKey: .title)
        let (train, valid) = Split.fold(1).apply(ratings)
        var config = TrainConfig()
        let dense = Evaluation.score(try Trainer.train(train, valid: valid, config: config).model, on: valid).rmse
        config.recipe = .sparse
        let sparse = Evaluation.score(try Trainer.train(train, valid: valid, config: config).model, on: valid).rmse
        XCTAssertEqual(sparse, dense, accuracy: tolerance, "same recipe, sparse updates")
        XCTAssertLessThan(sparse, d.fastaiU1)
    }

    func testAutoPicksByTheCostOfTheDensePass() {
        // ml-100k: 2609 rows x 51 x 1250 batches = 1.7e8 updates per epoch: dense.
        XCTAssertEqual(Recipe.auto.resolved(ratings: 80_000, users: 944, items: 1665, factors: 50, batchSize: 64), .fastai)
        // ml-25m: 221 589 rows x 51 x 390 626 batches = 4.4e12: sparse.
        XCTAssertEqual(Recipe.auto.resolved(ratings: 25_000_095, users: 162_542, items: 59_048, factors: 50, batchSize: 64), .sparse)
        XCTAssertEqual(Recipe.best.resolved(ratings: 25_000_095, users: 162_542, items: 59_048, factors: 50, batchSize: 64), .best)
    }
}
