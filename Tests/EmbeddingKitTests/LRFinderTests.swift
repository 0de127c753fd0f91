@testable import EmbeddingCore
@testable import EmbeddingTrain
@testable import EmbeddingRender
import Foundation
import XCTest

/// fastai's learning-rate finder (`LRFinder`): the sweep, its stop rule, the
/// model put back, and the three suggestions.
final class LRFinderTests: XCTestCase {
    /// An exponential sweep of `n` points from 1e-7 towards 10, as fastai records it.
    func sweepLRs(_ n: Int = 100) -> [Double] { (0..<n).map { LRFinder().learningRate(batch: $0) } }

    func testTheLearningRateGrowsByTheSameFactorEachBatch() {
        let lrs = sweepLRs()
        XCTAssertEqual(lrs[0], 1e-7)
        let factor = pow(1e8, 1.0 / 100)  // 8 decades over 100 batches
        for i in 1..<lrs.count { XCTAssertEqual(lrs[i] / lrs[i - 1], factor, accuracy: 1e-12) }
        XCTAssertEqual(LRFinder().learningRate(batch: 100), 10, accuracy: 1e-12, "reaches end_lr at num_it")
    }

    /// A plateau, then one strictly decreasing stretch, then a climb. The longest
    /// decreasing subsequence is the last plateau point and the 50 falling ones:
    /// it ends at index 79 with 51 points, so start = 79 - 51 = 28, and the valley
    /// is 28 + ⌊51/3⌋ + ⌊51/6⌋ = 28 + 17 + 8 = 53.
    func testValleyLandsInTheLongestDecreasingStretch() {
        let plateau = [Double](repeating: 1, count: 30)
        let fall: [Double] = (1...50).map { 1 - 0.005 * Double($0) }
        let climb: [Double] = (1...20).map { 0.75 + 0.05 * Double($0) }
        let losses = plateau + fall + climb
        XCTAssertEqual(LRSuggestions.valley(losses: losses), 53)
        XCTAssertEqual(LRSuggestions.valley(losses: (0..<10).map { Double(10 - $0) }), 3, "all decreasing: start -1, 10 long: -1 + 3 + 1")
    }

    /// loss = 1 - tanh(ln lr - c): the secant slope over equal steps of ln lr is
    /// steepest on the segment centred on the inflection point c, here the
    /// midpoint of segment 40; `steep` names its left end.
    func testSteepFindsTheInflectionPoint() {
        let lrs = sweepLRs()
        let c = (log(lrs[40]) + log(lrs[41])) / 2
        let losses = lrs.map { 1 - tanh(log($0) - c) }
        XCTAssertEqual(LRSuggestions.steep(lrs: lrs, losses: losses), 40)
    }

    /// A parabola in log lr with its bottom at index 57, and a lower point in
    /// the part fastai drops (the first tenth): `minimum` is a tenth of lrs[57].
    func testMinimumIsATenthOfTheLowestLossAmongThePointsFastaiKeeps() throws {
        let lrs = sweepLRs()
        var losses = lrs.map { pow(log10($0) - log10(lrs[57]), 2) + 0.5 }
        losses[3] = 0  // dropped: before iterations / 10
        losses[98] = 0  // dropped: among the last 5
        let s = try LRSuggestions.suggest(lrs: lrs, losses: losses, iterations: 100)
        XCTAssertEqual(s.minimum.lr, lrs[57] / 10, accuracy: 1e-15)
        XCTAssertEqual(s.minimum.point.lr, lrs[57])
        XCTAssertEqual(s.minimum.point.loss, 0.5)
    }

    /// fastai 2.8.12's own `valley`, `minimum` and `steep` on synthetic curves
    /// (`bench/lr_find_fixture.py`): the same learning rates and points.
    func testSuggestionsMatchFastaisOnRecordedCurves() throws {
        struct Point: Decodable { var lr: Double; var point_lr: Double; var point_loss: Double }
        struct Curve: Decodable { var name: String; var lrs: [Double]; var losses: [Double]; var valley: Point; var minimum: Point; var steep: Point }
        struct Fixture: Decodable { var fastai: String; var curves: [Curve] }
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("lr-find/fastai-suggestions.json")))
        let fixture = try JSONDecoder().decode(Fixture.self, from: data)
        XCTAssertGreaterThan(fixture.curves.count, 10)
        for c in fixture.curves {
            let v = LRSuggestions.valley(losses: c.losses), m = LRSuggestions.minimum(losses: c.losses)
            let s = LRSuggestions.steep(lrs: c.lrs, losses: c.losses)
            XCTAssertEqual(c.lrs[v], c.valley.lr, "valley, \(c.name)")
            XCTAssertEqual(c.losses[v], c.valley.point_loss, "valley, \(c.name)")
            XCTAssertEqual(c.lrs[m] / 10, c.minimum.lr, "minimum, \(c.name)")
            XCTAssertEqual(c.losses[m], c.minimum.point_loss, "minimum, \(c.name)")
            // fastai computes the slopes in float32: where two segments tie (the
            // plateau's straight fall), rounding picks one; both are equally steep.
            let f = try XCTUnwrap(c.lrs.firstIndex(of: c.steep.lr))
            func slope(_ i: Int) -> Double { (c.losses[i + 1] - c.losses[i]) / (log(c.lrs[i + 1]) - log(c.lrs[i])) }
            if s != f { XCTAssertEqual(slope(s), slope(f), accuracy: 1e-5 * abs(slope(f)), "steep, \(c.name): a tie") }
            XCTAssertEqual(c.name == "plateau" || s == f, true, "steep, \(c.name)")
        }
    }

    /// fastai stops once the smoothed loss exceeds 4x the lowest so far.
    func testTheSweepStopsWhenTheLossPassesFourTimesItsMinimum() {
        var stop = DivergenceStop()
        let losses = [5.0, 4, 3, 2, 1, 2, 3, 4, 4.5, 9]
        let stopped = losses.firstIndex { stop.shouldStop(smoothed: $0) }
        XCTAssertEqual(stopped, 8, "4 is not above 4 x 1; 4.5 is")
        var nan = DivergenceStop()
        XCTAssertFalse(nan.shouldStop(smoothed: 1))
        XCTAssertTrue(nan.shouldStop(smoothed: .nan))
    }

    /// A real sweep on a small low-rank set, several epochs long: the learning
    /// rates are the schedule's, a sweep to 1e4 stops by the rule, and the
    /// model and Adam's state are exactly as before (training on from them
    /// gives the model training gives without the sweep).
    func testASweepStopsByTheRuleAndPutsTheModelBack() throws {
        let data = try LowRank.ratings(users: 50, items: 40, rank: 2, density: 0.4, noise: 0.3, seed: 6)
        var config = TrainConfig()
        config.factors = 6
        config.epochs = 1
        let pool = WorkerPool(threads: 2)
        defer { pool.shutdown() }
        func net() -> DotBiasAdam {
            DotBiasAdam(users: data.users.count, items: data.items.count, factors: config.factors, useBias: true,
                        yRange: config.yRange, seed: config.seed, maxBatch: config.batchSize, pool: pool)
        }
        let swept = net(), plain = net()
        // Train a little first, so that Adam's moments are not zero.
        var s1 = EpochSampler(.shuffle, seed: 1), s2 = EpochSampler(.shuffle, seed: 1)
        _ = try FastaiRecipe.fit(swept, data, valid: nil, config: config, progress: nil) { _, o in s1.next(&o) }
        _ = try FastaiRecipe.fit(plain, data, valid: nil, config: config, progress: nil) { _, o in s2.next(&o) }
        let before = swept.state
        XCTAssertEqual(before, plain.state)

        var finder = LRFinder()
        finder.endLR = 1e4
        finder.iterations = 300  // many epochs of 8 batches
        var order = EpochSampler(.shuffle, seed: 2)
        let (lrs, losses, diverged) = finder.sweep(swept, data, batchSize: config.batchSize, wd: 0.01) { order.next(&$0) }
        XCTAssertEqual(swept.state, before, "parameters, moments and step count put back")
        XCTAssertTrue(diverged)
        XCTAssertLessThan(lrs.count, 300)
        XCTAssertEqual(lrs, (0..<lrs.count).map { finder.learningRate(batch: $0) })
        XCTAssertGreaterThan(losses.last!, 4 * losses.dropLast().min()!, "stopped on the rule")
        for i in 0..<(losses.count - 1) {
            XCTAssertLessThanOrEqual(losses[i], 4 * losses[...i].min()!, "not before: batch \(i)")
        }

        var s3 = EpochSampler(.shuffle, seed: 3), s4 = EpochSampler(.shuffle, seed: 3)
        _ = try FastaiRecipe.fit(swept, data, valid: nil, config: config, progress: nil) { _, o in s3.next(&o) }
        _ = try FastaiRecipe.fit(plain, data, valid: nil, config: config, progress: nil) { _, o in s4.next(&o) }
        XCTAssertEqual(swept.state, plain.state, "training on after the sweep is training without it")
    }

    /// The whole finder on the low-rank set: 100 batches when nothing diverges,
    /// and three suggestions inside the swept range.
    func testRunSuggestsLearningRatesInsideTheSweep() throws {
        let data = try LowRank.ratings(users: 120, items: 90, rank: 3, density: 0.5, noise: 0.2, seed: 8)
        var config = TrainConfig()
        config.factors = 8
        config.wd = 0.01
        var finder = LRFinder()
        finder.endLR = 1e-2  // stays below divergence
        let r = try finder.run(data, config: config)
        XCTAssertFalse(r.diverged)
        XCTAssertEqual(r.lrs.count, 100)
        for s in [r.suggestions.valley, r.suggestions.steep] {
            XCTAssertTrue(r.lrs[10..<95].contains(s.lr), "a swept rate within the kept points")
        }
        XCTAssertTrue(r.lrs[10..<95].contains(r.suggestions.minimum.point.lr))
    }

    /// The log axis puts a tick at each power of ten and places values by log10.
    func testALogAxisPlacesDecadesEvenly() throws {
        let axis = LineChart.XAxis.decades(low: 1e-7, high: 7.9)
        XCTAssertEqual(axis.low, -7)
        XCTAssertEqual(axis.high, 1)
        XCTAssertEqual(axis.ticks.map(\.0), Array(stride(from: -7.0, through: 1, by: 1)))
        XCTAssertEqual(axis.ticks.first?.1, "1e−7")
        XCTAssertEqual(axis.ticks.last?.1, "10")
        var chart = LineChart(title: "t <&>", xTitle: "lr", yTitle: "loss",
                              series: [.init(name: "loss", points: [(1e-7, 1), (1e-3, 0.5), (1, 2)], dots: false)])
        chart.logX = true
        chart.marks = [.init(x: 1e-3, y: 0.5, label: "valley <1e-3>")]
        let svg = chart.render()
        XCTAssertFalse(svg.contains("<&>") || svg.contains("<1e-3>"), "text is escaped")
        let parsed = try ParsedSVG(svg)
        XCTAssertTrue(parsed.all("text").contains { $0.text == "1 valley <1e-3>" })
        let tick = try XCTUnwrap(parsed.all("text", class: "tl").first { $0.text == "1e−3" })
        let mark = try XCTUnwrap(parsed.all("circle", class: "mark").first)
        XCTAssertEqual(parsed.number(mark, "cx"), parsed.number(tick, "x"), accuracy: 0.01, "1e-3 sits on its decade's tick")
    }
}
