import Foundation
import EmbeddingCore

/// The training loop of `learn.fit_one_cycle(epochs, lr, wd=wd)` on
/// `collab_learner(dls, n_factors, y_range)`: each epoch orders the training
/// ratings (`EpochSampler`), cuts them into batches of `batchSize` (dropping
/// the last, incomplete one, as fastai's training `DataLoader` does), and takes
/// one Adam step per batch with the one-cycle learning rate and β1 of that batch.
enum FastaiRecipe {
    /// The model `collab_learner` builds for `train` under `config`, before any
    /// step: factors, biases, y_range and the seeded initialisation.
    static func freshModel(_ train: Ratings, _ config: TrainConfig, pool: WorkerPool) -> DotBiasAdam {
        DotBiasAdam(users: train.users.count, items: train.items.count, factors: config.factors,
                    useBias: config.useBias, yRange: config.yRange, seed: config.seed,
                    maxBatch: config.batchSize, pool: pool)
    }

    static func train(_ train: Ratings, valid: Ratings?, config: TrainConfig,
                      progress: ((TrainProgress) -> Void)?) throws -> (DotBiasAdam, [EpochStats]) {
        _ = try batchCount(train, config.batchSize)  // before allocating buffers of batch size
        // Threads beyond the factor blocks would have nothing to do.
        let pool = WorkerPool(threads: min(config.threads, DotBiasAdam.factorBlocks))
        defer { pool.shutdown() }
        let net = freshModel(train, config, pool: pool)
        var sampler = EpochSampler(config.sampling, seed: config.seed)
        let stats = try fit(net, train, valid: valid, config: config, progress: progress) { _, order in sampler.next(&order) }
        return (net, stats)
    }

    /// The epochs of `fit_one_cycle` on `net` (fastai's `EmbeddingDotBias`, or
    /// its `EmbeddingNN` for `--arch nn`) from its current parameters. Before
    /// each epoch, `reorder(epoch, &order)` permutes the training rows (`order`
    /// keeps the previous epoch's rows): `train` draws them from its seeded
    /// `EpochSampler`; a replay of a run recorded from fastai sets the order fastai drew.
    static func fit(_ net: some MiniBatchNet, _ train: Ratings, valid: Ratings?, config: TrainConfig,
                    progress: ((TrainProgress) -> Void)?, reorder: (Int, inout [Int32]) -> Void) throws -> [EpochStats] {
        let batchSize = config.batchSize
        let batches = try batchCount(train, batchSize)
        let schedule = OneCycleSchedule(lrMax: Double(config.lr))
        var order = (0..<Int32(train.count)).map { $0 }
        var smooth = SmoothLoss()
        // The untrained model's error on (up to) the first 100k training ratings.
        let sample = min(train.count, 100_000)
        var divergence = DivergenceWatch(initialLoss: net.meanSquaredError(
            user: Array(train.user[..<sample]), item: Array(train.item[..<sample]), rating: Array(train.rating[..<sample])))
        var stats: [EpochStats] = []
        let totalBatches = Double(config.epochs * batches)
        let reportEvery = max(1, batches / 100)

        for epoch in 0..<config.epochs {
            let started = DispatchTime.now().uptimeNanoseconds
            reorder(epoch, &order)
            try train.user.withUnsafeBufferPointer { user in
                try train.item.withUnsafeBufferPointer { item in
                    try train.rating.withUnsafeBufferPointer { rating in
                        try order.withUnsafeBufferPointer { order in
                            for b in 0..<batches {
                                let pos = Double(epoch * batches + b) / totalBatches
                                let adam = AdamStep(lr: schedule.lr(at: pos), mom: schedule.mom(at: pos),
                                                    wd: Double(config.wd), step: net.steps + 1)
                                let rows = UnsafeBufferPointer(rebasing: order[(b * batchSize)..<((b + 1) * batchSize)])
                                let loss = net.step(rows: rows, user: user.baseAddress!, item: item.baseAddress!,
                                                    rating: rating.baseAddress!, adam: adam)
                                smooth.add(Double(loss))
                                try divergence.check(batchLoss: loss, smoothed: smooth.value, epoch: epoch, batch: b)
                                if let progress, b % reportEvery == 0 {
                                    progress(TrainProgress(epoch: epoch, epochs: config.epochs,
                                                           fraction: Double(b) / Double(batches), finished: nil))
                                }
                            }
                        }
                    }
                }
            }
            guard net.isFinite else { throw DivergenceWatch.diverged(epoch: epoch, why: "a parameter became infinite or NaN") }
            let validLoss = valid.flatMap { $0.count == 0 ? nil : net.meanSquaredError(user: $0.user, item: $0.item, rating: $0.rating) }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            let row = EpochStats(epoch: epoch, trainLoss: smooth.value, validLoss: validLoss, seconds: seconds)
            stats.append(row)
            progress?(TrainProgress(epoch: epoch, epochs: config.epochs, fraction: 1, finished: row))
        }
        return stats
    }

    /// Full batches per epoch (fastai drops the last, incomplete one); at least one.
    static func batchCount(_ train: Ratings, _ batchSize: Int) throws -> Int {
        guard train.count >= batchSize else {
            throw EmbtoolError.data("\(train.count) training ratings make no full batch of \(batchSize); lower --bs")
        }
        return train.count / batchSize
    }
}

/// What `FastaiRecipe.fit` trains: a network taking one Adam step per
/// mini-batch (`DotBiasAdam`, `EmbeddingNN`).
protocol MiniBatchNet: AnyObject {
    /// Adam's step counter: steps taken so far.
    var steps: Int { get }
    /// One step on the ratings `rows` (indices into `user`, `item`, `rating`); returns the batch MSE.
    func step(rows: UnsafeBufferPointer<Int32>, user: UnsafePointer<Int32>, item: UnsafePointer<Int32>,
              rating: UnsafePointer<Float>, adam: AdamStep) -> Float
    /// True when every parameter is a finite number.
    var isFinite: Bool { get }
    /// MSE of the current model's predictions for the given ratings (NaN for none).
    func meanSquaredError(user: [Int32], item: [Int32], rating: [Float]) -> Double
}

extension DotBiasAdam: MiniBatchNet {}

/// The rows of the training ratings each epoch of recipe fastai visits, in order.
struct EpochSampler {
    let sampling: Sampling
    private var rng: SplitMix64

    /// The order stream of `seed`, apart from the stream that initialises the factors.
    init(_ sampling: Sampling, seed: UInt64) {
        precondition(sampling == .shuffle || sampling == .replacement, "recipe fastai samples by shuffle or replacement")
        self.sampling = sampling
        rng = SplitMix64(seed: seed ^ 0x5348_5546_464C_4521)
    }

    /// Overwrites `order` (n rows) with the next epoch's: `.shuffle` permutes it
    /// in place (every rating once, in a fresh random order: fastai's
    /// `TabDataLoader`); `.replacement` writes n independent uniform draws from
    /// 0..<n, as fastai 2.8's `TabWeightedDL` without weights does with
    /// `np.random.choice(n, n, p=uniform)`.
    mutating func next(_ order: inout [Int32]) {
        switch sampling {
        case .replacement:
            let n = order.count
            for j in 0..<n { order[j] = Int32(truncatingIfNeeded: Int.random(in: 0..<n, using: &rng)) }
        default:
            order.shuffle(using: &rng)
        }
    }
}

/// fastai's `AvgSmoothLoss(beta=0.98)`, the `train_loss` its table prints: an
/// exponential moving average of batch losses, debiased by `1 - β^n`.
struct SmoothLoss {
    let beta = 0.98
    private var average = 0.0
    private var n = 0

    mutating func add(_ loss: Double) {
        n += 1
        average = beta * average + (1 - beta) * loss
    }

    var value: Double { n == 0 ? .nan : average / (1 - pow(beta, Double(n))) }
}

/// Stops a run that has gone wrong: a batch loss that is not finite, or,
/// after a short warm-up, a smoothed loss above 1.5x the untrained model's or
/// above 4x the lowest seen (fastai's `lr_find` stops on the latter). With
/// y_range the loss is bounded, so a learning rate far too large shows up as a
/// loss stuck above the untrained model's rather than as NaN.
struct DivergenceWatch {
    /// Batches before the smoothed-loss rules apply, so noise cannot trip them.
    static let warmUp = 50
    let initialLoss: Double
    private var lowest = Double.infinity
    private var seen = 0

    init(initialLoss: Double) { self.initialLoss = initialLoss }

    mutating func check(batchLoss: Float, smoothed: Double, epoch: Int, batch: Int) throws {
        guard batchLoss.isFinite else {
            throw Self.diverged(epoch: epoch, why: "the loss of batch \(batch) is \(batchLoss)")
        }
        seen += 1
        guard seen > Self.warmUp else { return }
        lowest = min(lowest, smoothed)
        if smoothed > 1.5 * initialLoss {
            throw Self.diverged(epoch: epoch, why: String(format: "the training loss rose to %.3g, worse than the untrained model's %.3g", smoothed, initialLoss))
        }
        if smoothed > 4 * lowest {
            throw Self.diverged(epoch: epoch, why: String(format: "the training loss rose to %.3g, over 4x its lowest %.3g", smoothed, lowest))
        }
    }

    /// The same rules for a loss averaged over a whole epoch (no warm-up needed).
    mutating func check(epochLoss: Double, epoch: Int) throws {
        guard epochLoss.isFinite else { throw Self.diverged(epoch: epoch, why: "the training loss is \(epochLoss)") }
        seen = max(seen, Self.warmUp)
        try check(batchLoss: 0, smoothed: epochLoss, epoch: epoch, batch: 0)
    }

    static func diverged(epoch: Int, why: String) -> EmbtoolError {
        EmbtoolError(.software, "training diverged in epoch \(epoch): \(why); a lower learning rate may help (no model written)",
                     reason: .diverged(epoch: epoch, why: why))
    }
}
