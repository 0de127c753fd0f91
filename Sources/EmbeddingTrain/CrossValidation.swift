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
    /// validation set, scored after each epoch and never trained on — and hands
    /// each model with its two parts to `score`. Folds run one after another,
    /// each on `config.threads` threads: the recipes are deterministic for any
    /// thread count, so this is the parallelism that keeps every fold's model
    /// the serial one.
    public static func run<T>(_ ratings: Ratings, config: TrainConfig, splits: [Split] = groupLensFolds,
                              progress: ((Split) -> Void)? = nil,
                              score: (_ split: Split, _ result: TrainResult, _ train: Ratings, _ heldOut: Ratings) throws -> T) throws -> [T] {
        try splits.map { split in
            progress?(split)
            var foldConfig = config
            foldConfig.split = split
            let (train, heldOut) = split.apply(ratings)
            let result = try Trainer.train(train, valid: heldOut.count > 0 ? heldOut : nil, config: foldConfig)
            return try score(split, result, train, heldOut)
        }
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
