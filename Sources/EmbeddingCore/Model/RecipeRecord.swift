/// A way of training, by name: `fastai`, `sparse`, `best`, or `auto`, which
/// chooses between the first two. EmbeddingTrain's `Recipes` maps each name to
/// its trainer; a new trainer is a new name there.
public struct Recipe: RawRepresentable, Hashable, Codable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// fastbook's `collab_learner` + `fit_one_cycle`: dense Adam, one-cycle schedule.
    public static let fastai = Recipe(rawValue: "fastai")
    /// The fastai recipe on sparse gradients, for large data.
    public static let sparse = Recipe(rawValue: "sparse")
    /// Bayesian matrix factorisation by Gibbs sampling: the lowest error.
    public static let best = Recipe(rawValue: "best")
    /// `fastai` or `sparse`, by the cost of a dense pass on the data.
    public static let auto = Recipe(rawValue: "auto")

    public var description: String { rawValue }

    public init(from decoder: Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// The order in which a training run visits the ratings.
public enum Sampling: String, Codable, Sendable {
    /// Each epoch, every training rating once, in a fresh random order (fastbook's fastai).
    case shuffle
    /// Each epoch, every training rating once, in stratified user x item blocks, each block shuffled (recipe sparse).
    case blocks
    /// Each epoch, n uniform draws with replacement from the n training ratings
    /// (about 1 - 1/e of them seen), as fastai 2.8's default `TabWeightedDL` does.
    case replacement
}

/// How a model was trained, as its file records it: typed where a later
/// command reads it back (`evaluate` re-creates the split), text for the rest.
public struct RecipeRecord: Codable, Equatable, Sendable {
    /// The recipe that ran (`auto` is recorded as the recipe it chose).
    public var name: Recipe?
    /// How the ratings were divided into the part trained on and the part held out.
    public var split: Split?
    /// How training visited the ratings; nil for a recipe that does not go through them in batches.
    public var sampling: Sampling?
    /// Seed of the initial factors and of the order of the ratings (or of the sampler).
    public var seed: UInt64?
    /// The recipe's other settings, as text: `factors`, `epochs`, `lr`, `wd`, `bs`, `bias`, `y_range`, `sweeps`, ...
    public var settings: [String: String]

    public init(name: Recipe? = nil, split: Split? = nil, sampling: Sampling? = nil, seed: UInt64? = nil, settings: [String: String] = [:]) {
        self.name = name
        self.split = split
        self.sampling = sampling
        self.seed = seed
        self.settings = settings
    }

    /// Nothing recorded (factors trained elsewhere).
    public var isEmpty: Bool { self == RecipeRecord() }

    /// The record as flat text, the form `info` shows and model files held
    /// before the record was typed: the settings, `recipe`, `seed`, `sampling`,
    /// `split` and, for a random split, `valid_pct` and `split_seed`.
    public var flattened: [String: String] {
        var out = settings
        out["recipe"] = name?.rawValue
        out["seed"] = seed.map(String.init)
        out["sampling"] = sampling?.rawValue
        if let split {
            out["split"] = split.name
            if case .random(let validPct, let seed) = split {
                out["valid_pct"] = String(validPct)
                out["split_seed"] = String(seed)
            }
        }
        return out
    }

    /// One entry of `flattened`.
    public subscript(key: String) -> String? { flattened[key] }

    /// Reads the flat form of files written before the record was typed. A
    /// random split is known only when its fraction and seed were recorded too;
    /// the sampling was not recorded then.
    public init(flattened old: [String: String]) {
        var settings = old
        for key in ["recipe", "seed", "sampling", "split", "valid_pct", "split_seed"] { settings[key] = nil }
        self.init(name: old["recipe"].map(Recipe.init(rawValue:)), split: Split(recorded: old),
                  sampling: old["sampling"].flatMap(Sampling.init(rawValue:)), seed: old["seed"].flatMap { UInt64($0) },
                  settings: settings)
    }
}

extension Split {
    /// The split a flat record names, nil when it names none or not completely.
    init?(recorded old: [String: String]) {
        guard let name = old["split"] else { return nil }
        if name.lowercased() == Split.randomName {
            guard let pct = old["valid_pct"].flatMap(Double.init), let seed = old["split_seed"].flatMap({ UInt64($0) }),
                  let split = try? Split(name: name, validPct: pct, seed: seed) else { return nil }
            self = split
        } else {
            guard let split = try? Split(name: name, validPct: Split.defaultValidPct, seed: Split.defaultSeed) else { return nil }
            self = split
        }
    }
}
