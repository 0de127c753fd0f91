import Foundation
import EmbeddingCore

/// fastai's learning-rate finder, `learn.lr_find()` (`callback/schedule.py`:
/// `LRFinder` and the suggestion functions), on recipe fastai's model:
///
/// 1. `learningRate`: batch i of `iterations` trains at
///    lr_i = start · (end / start)^(i / iterations)   (fastai's `SchedExp`),
///    with Adam at β1 = 0.9 and the decoupled weight decay of the config
///    (fastai's `Adam` default, 0.01, when `lr_find` runs before any `fit`).
/// 2. The loss recorded after batch i is fastai's `AvgSmoothLoss`: the
///    exponential average of batch MSEs, β = 0.98, divided by 1 - β^(i+1).
/// 3. `DivergenceStop`: the sweep ends after `iterations` batches, or as soon
///    as the smoothed loss exceeds 4× the lowest smoothed loss so far.
/// 4. The model's parameters and Adam's state are put back as they were.
/// 5. `LRSuggestions.suggest`: the suggestions read the curve without its first
///    `iterations / 10` and last 5 points (and from the first NaN on).
public struct LRFinder: Sendable {
    public var startLR = 1e-7
    public var endLR = 10.0
    /// Mini-batches of the sweep (fastai's `num_it`; at least 6, as fastai enforces).
    public var iterations = 100
    /// Adam's β1 during the sweep (fastai's default: `lr_find` schedules only the learning rate).
    public var mom = 0.9

    public init() {}

    /// Rejects a sweep that cannot run.
    public func validate() throws {
        guard startLR.isFinite, endLR.isFinite, startLR > 0, endLR > startLR else {
            throw EmbtoolError.usage("the sweep needs 0 < start learning rate < end learning rate")
        }
        guard iterations >= 6 else { throw EmbtoolError.usage("the sweep needs at least 6 mini-batches") }
    }

    /// The learning rate of batch `i` (0-based): exponential from `startLR` at 0 towards `endLR` at `iterations`.
    public func learningRate(batch i: Int) -> Double {
        startLR * pow(endLR / startLR, Double(i) / Double(iterations))
    }

    /// The curve the sweep records and the suggestions read from it.
    public struct Result: Sendable {
        /// Learning rate and smoothed loss after each batch of the sweep.
        public var lrs: [Double]
        public var losses: [Double]
        /// True when the loss passed 4× its minimum before `iterations` batches.
        public var diverged: Bool
        public var suggestions: LRSuggestions
    }

    /// A fresh recipe-fastai model of `config` (factors, biases, y_range, seed,
    /// batch size, sampling, weight decay), swept over `train`.
    public func run(_ train: Ratings, config: TrainConfig) throws -> Result {
        try validate()
        try config.validate()
        _ = try FastaiRecipe.batchCount(train, config.batchSize)  // at least one full batch
        let pool = WorkerPool(threads: min(config.threads, DotBiasAdam.factorBlocks))
        defer { pool.shutdown() }
        let net = FastaiRecipe.freshModel(train, config, pool: pool)
        var sampler = EpochSampler(config.sampling, seed: config.seed)
        let (lrs, losses, diverged) = sweep(net, train, batchSize: config.batchSize, wd: Double(config.wd)) { sampler.next(&$0) }
        return Result(lrs: lrs, losses: losses, diverged: diverged,
                      suggestions: try LRSuggestions.suggest(lrs: lrs, losses: losses, iterations: iterations))
    }

    /// Steps 1-4 on `net` from its current state, which it has again on return.
    /// `reorder` sets the rows of each epoch the sweep starts (as `FastaiRecipe.fit`'s).
    func sweep(_ net: DotBiasAdam, _ train: Ratings, batchSize: Int, wd: Double,
               reorder: (inout [Int32]) -> Void) -> (lrs: [Double], losses: [Double], diverged: Bool) {
        let saved = net.state
        defer { net.restore(saved) }
        let perEpoch = train.count / batchSize
        var order = (0..<Int32(train.count)).map { $0 }
        var smooth = SmoothLoss()
        var stop = DivergenceStop()
        var lrs: [Double] = [], losses: [Double] = []
        train.user.withUnsafeBufferPointer { user in
            train.item.withUnsafeBufferPointer { item in
                train.rating.withUnsafeBufferPointer { rating in
                    for i in 0..<iterations {
                        if i % perEpoch == 0 { reorder(&order) }
                        let b = i % perEpoch
                        let lr = learningRate(batch: i)
                        let loss = order.withUnsafeBufferPointer { order in
                            net.step(rows: UnsafeBufferPointer(rebasing: order[(b * batchSize)..<((b + 1) * batchSize)]),
                                     user: user.baseAddress!, item: item.baseAddress!, rating: rating.baseAddress!,
                                     adam: AdamStep(lr: lr, mom: mom, wd: wd, step: net.steps + 1))
                        }
                        smooth.add(Double(loss))
                        lrs.append(lr)
                        losses.append(smooth.value)
                        if stop.shouldStop(smoothed: smooth.value) { return }
                    }
                }
            }
        }
        return (lrs, losses, stop.diverged)
    }
}

/// fastai's stop rule for the sweep: the smoothed loss has passed 4× the lowest
/// smoothed loss seen so far (that point included), or is no longer a number.
struct DivergenceStop {
    private(set) var lowest = Double.infinity
    private(set) var diverged = false

    mutating func shouldStop(smoothed: Double) -> Bool {
        lowest = min(lowest, smoothed)
        diverged = !smoothed.isFinite || smoothed > 4 * lowest
        return diverged
    }
}

/// fastai's three learning-rate suggestions from a swept curve.
public struct LRSuggestions: Sendable, Equatable {
    /// A suggested learning rate and the point of the curve it marks.
    public struct Suggestion: Sendable, Equatable {
        public var lr: Double
        public var point: (lr: Double, loss: Double)
        public static func == (a: Self, b: Self) -> Bool { a.lr == b.lr && a.point == b.point }
    }

    public var valley: Suggestion
    public var minimum: Suggestion
    public var steep: Suggestion

    /// Step 5: the three suggestions from the curve fastai keeps, points
    /// `iterations / 10 ..< count - 5`, cut at the first NaN loss.
    static func suggest(lrs: [Double], losses: [Double], iterations: Int) throws -> LRSuggestions {
        let lo = iterations / 10, hi = losses.count - 5
        var kept = lo < hi ? Array(lo..<hi) : []
        if let nan = kept.firstIndex(where: { losses[$0].isNaN }) { kept = Array(kept[..<nan]) }
        guard kept.count >= 2 else {
            throw EmbtoolError.data("the sweep stopped after \(losses.count) mini-batches, too few to suggest a learning rate; lower --start-lr")
        }
        let l = kept.map { lrs[$0] }, y = kept.map { losses[$0] }
        func at(_ i: Int) -> (lr: Double, loss: Double) { (l[i], y[i]) }
        let v = valley(losses: y), m = minimum(losses: y), s = steep(lrs: l, losses: y)
        return LRSuggestions(valley: Suggestion(lr: l[v], point: at(v)),
                             minimum: Suggestion(lr: l[m] / 10, point: at(m)),
                             steep: Suggestion(lr: l[s], point: at(s)))
    }

    /// fastai's `valley`: the longest strictly decreasing subsequence of the
    /// losses (`run[i]`, its length ending at i, by the O(n²) recurrence), and
    /// the index two fifths-ish into it: start + ⌊len/3⌋ + ⌊len/6⌋, with
    /// len = end - start. As in fastai, `start = end - run[end]` is taken when
    /// index `end` first overtakes the longest run so far, while `run[end]` is
    /// still growing; the result stays within the curve.
    static func valley(losses: [Double]) -> Int {
        let n = losses.count
        guard n > 1 else { return 0 }
        var run = [Int](repeating: 1, count: n)
        var start = 0, end = 0
        for i in 1..<n {
            for j in 0..<i {
                if losses[i] < losses[j] { run[i] = max(run[i], run[j] + 1) }
                if run[i] > run[end] { (start, end) = (i - run[i], i) }
            }
        }
        let third = Double(end - start) / 3
        return min(n - 1, max(0, start + Int(third) + Int(third / 2)))
    }

    /// fastai's `minimum`: the index of the lowest loss (the first, on a tie);
    /// the suggestion is a tenth of its learning rate.
    static func minimum(losses: [Double]) -> Int {
        losses.indices.min { losses[$0] < losses[$1] } ?? 0
    }

    /// fastai's `steep`: the left end of the segment where the loss falls
    /// fastest per unit of ln(lr), `(loss[i+1] - loss[i]) / (ln lr[i+1] - ln lr[i])`.
    static func steep(lrs: [Double], losses: [Double]) -> Int {
        guard losses.count > 1 else { return 0 }
        let slope: [Double] = (0..<(losses.count - 1)).map { i in
            let rise = losses[i + 1] - losses[i], run = log(lrs[i + 1]) - log(lrs[i])
            return rise / run
        }
        return slope.indices.min { slope[$0] < slope[$1] } ?? 0
    }
}
