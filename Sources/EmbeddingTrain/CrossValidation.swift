import Foundation
import EmbeddingCore

/// K-fold cross-validation as Surprise's `cross_validate` reports it: one model
/// per fold trained on the other folds, scored on the fold, then the mean and
/// standard deviation of each measure over the folds.
public enum CrossValidation {
    /// GroupLens' five folds u1…u5 (`u{i}.test` is the i-th fifth of `u.data`).
    public static let groupLensFolds: [Split] = (1...5).map(Split.fold)

    /// Trains one model per split with `config` (its `split` set to the fold's),
    /// exactly as `embtool train --split uK` does — the held-out part is the
    /// validation set, scored after each epoch and never trained on — then
    /// hands each model with its two parts to `score`, fold by fold in order.
    ///
    /// With `config.threads` = T > 1, min(T, folds) folds train at once, each on
    /// one thread. Every recipe gives the same model for any thread count, so
    /// each fold's model is the one a serial run (or `train --split uK`) makes,
    /// bit for bit (tested); two single-threaded folds simply waste less time
    /// at barriers than one two-threaded fold.
    public static func run<T>(_ ratings: Ratings, config: TrainConfig, splits: [Split] = groupLensFolds,
                              progress: ((Split) -> Void)? = nil,
                              score: (_ split: Split, _ result: TrainResult, _ train: Ratings, _ heldOut: Ratings) throws -> T) throws -> [T] {
        let workers = max(1, min(config.threads, splits.count))
        var foldConfig = config
        if workers > 1 { foldConfig.threads = 1 }
        // One slot per fold, each written by the one worker that trains it.
        let slots = UnsafeMutablePointer<Result<TrainResult, any Error>?>.allocate(capacity: splits.count)
        slots.initialize(repeating: nil, count: splits.count)
        defer {
            slots.deinitialize(count: splits.count)
            slots.deallocate()
        }
        let address = UInt(bitPattern: slots)
        Parallel.forEach(splits.count, threads: workers) { _, i in
            let slots = UnsafeMutablePointer<Result<TrainResult, any Error>?>(bitPattern: address)!
            progress?(splits[i])
            slots[i] = Result { try trainFold(ratings, split: splits[i], config: foldConfig) }
        }
        return try splits.indices.map { i in
            let result = try slots[i]!.get()
            let (train, heldOut) = splits[i].apply(ratings)
            return try score(splits[i], result, train, heldOut)
        }
    }

    /// One fold's model: `config` with the fold's split, trained on the rest,
    /// validated on the fold.
    static func trainFold(_ ratings: Ratings, split: Split, config: TrainConfig) throws -> TrainResult {
        var config = config
        config.split = split
        let (train, heldOut) = split.apply(ratings)
        return try Trainer.train(train, valid: heldOut.count > 0 ? heldOut : nil, config: config)
    }

    /// Mean and standard deviation of `values`. The deviation is the population
    /// one, `sqrt(Σ(x − x̄)²/n)`, as `numpy.std` computes it and Surprise's
    /// `cross_validate` prints it (the sample one divides by n − 1: √(5/4) ≈ 1.118
    /// times larger for five folds). NaN for no values.
    public static func meanAndDeviation(_ values: [Double]) -> (mean: Double, sd: Double) {
        guard !values.isEmpty else { return (.nan, .nan) }
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return (mean, (squares / n).squareRoot())
    }
}
