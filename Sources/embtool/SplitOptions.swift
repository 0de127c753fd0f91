import ArgumentParser
import EmbeddingKit

/// `--split`, `--valid-pct`, `--split-seed`: which ratings are held out, for
/// `train`, `lr-find` and `evaluate`. Unset values are nil so that `evaluate`
/// can fall back on the split the model records and the others on `train`'s defaults.
struct SplitOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Held-out ratings: 'random' (--valid-pct of them), GroupLens' folds 'u1'...'u5', or 'none'. Default: random (evaluate: the model's training split).", valueName: "split"))
    var split: String?

    @Option(help: ArgumentHelp("Fraction held out by --split random (default \(Split.defaultValidPct); evaluate: the model's).", valueName: "fraction"))
    var validPct: Double?

    @Option(help: ArgumentHelp("Seed of --split random, kept apart from --seed so that seeds compare on one split (default \(Split.defaultSeed); evaluate: the model's).", valueName: "n"))
    var splitSeed: UInt64?

    var anyGiven: Bool { split != nil || validPct != nil || splitSeed != nil }

    func validate() throws {
        if let validPct, !(validPct > 0 && validPct < 1) { throw ValidationError("--valid-pct must be between 0 and 1") }
    }

    /// The split asked for, `train`'s defaults for what was not.
    func resolved() throws -> Split {
        try Split(name: split ?? "random", validPct: validPct ?? Split.defaultValidPct, seed: splitSeed ?? Split.defaultSeed)
    }

    /// The split asked for, else the split `model` records: a random split
    /// takes what was not given from the model's random split, then `train`'s defaults.
    func resolved(recordedBy model: some RatingModel) throws -> Split {
        let recorded = model.meta.recipe.split
        guard let split else {
            guard let recorded else {
                throw EmbtoolError.usage("the model does not record its training split; pass --split u1...u5, random or none")
            }
            return try recorded.replacing(validPct: validPct, seed: splitSeed)
        }
        var base = (validPct: Split.defaultValidPct, seed: Split.defaultSeed)
        if case .random(let pct, let seed)? = recorded { base = (pct, seed) }
        return try Split(name: split, validPct: validPct ?? base.validPct, seed: splitSeed ?? base.seed)
    }
}
