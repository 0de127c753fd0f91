import Foundation
import EmbeddingCore

/// One way of training a model: what `Trainer` runs for a recipe name and an
/// architecture. A new trainer is one more entry in `Recipes.all`.
public protocol TrainingRecipe: Sendable {
    var name: Recipe { get }
    /// The network it trains (`.dot` unless it says otherwise).
    var architecture: Architecture { get }
    /// How a run of `config` visits the ratings (recorded in the model file); nil when not in batches.
    func sampling(_ config: TrainConfig) -> Sampling?
    /// What one pass over the ratings is called in a progress table (`epoch`, `sweep`).
    var pass: String { get }
    /// Passes of a run of `config`.
    func passes(_ config: TrainConfig) -> Int
    /// Every how many passes a progress table shows a row: 1, or more for a
    /// recipe of many short passes.
    var passesPerRow: Int { get }
    /// The settings that define a run of `config` besides the recorded split,
    /// sampling and seed, as text for the model file.
    func settings(_ config: TrainConfig) -> [String: String]
    /// Rejects what `config` sets that this recipe cannot train with.
    func validate(_ config: TrainConfig) throws
    /// Trains on `train`, scoring `valid` after every pass; `meta` holds the
    /// vocabularies and the record of the run.
    func train(_ train: Ratings, valid: Ratings?, config: TrainConfig, meta: ModelMetadata,
               progress: ((TrainProgress) -> Void)?) throws -> TrainResult
}

extension TrainingRecipe {
    public var architecture: Architecture { .dot }
    public var passesPerRow: Int { 1 }
    public func validate(_ config: TrainConfig) throws {}
}

/// The recipes `Trainer` knows, by name. `auto` is not one: it stands for
/// `fastai` or `sparse` (`Recipe.resolved`).
public enum Recipes {
    public static let all: [any TrainingRecipe] = [OneCycleTraining.fastai, OneCycleTraining.sparse, BayesianTraining(),
                                                   EmbeddingNNTraining()]

    /// The trainer of `recipe` for `architecture`; nil for `auto` (resolve it
    /// first, `TrainConfig.resolvedRecipe`), for unknown names, and for a
    /// recipe that does not train that architecture.
    public static func trainer(for recipe: Recipe, architecture: Architecture = .dot) -> (any TrainingRecipe)? {
        all.first { $0.name == recipe && $0.architecture == architecture }
    }

    /// The trainers of `architecture`.
    public static func trainers(for architecture: Architecture) -> [any TrainingRecipe] {
        all.filter { $0.architecture == architecture }
    }

    /// Every name `--recipe` takes: the recipes, then `auto`.
    public static var names: [Recipe] { trainers(for: .dot).map(\.name) + [.auto] }

    static func yRangeText(_ r: ModelMetadata.YRange?) -> String { r.map { "\($0.low),\($0.high)" } ?? "none" }
}

/// A recipe of `fit_one_cycle` epochs: fastbook's on dense gradients
/// (`FastaiRecipe`) or the same on sparse gradients (`SparseRecipe`).
struct OneCycleTraining: TrainingRecipe {
    let name: Recipe
    /// The sampling of a run of the config: recipe fastai's is the config's choice.
    let samplingOf: @Sendable (TrainConfig) -> Sampling
    /// The recipe's training loop: the trained parameters and the epochs' table.
    let fit: @Sendable (Ratings, Ratings?, TrainConfig, ((TrainProgress) -> Void)?) throws -> (any FactorNet, [EpochStats])
    let pass = "epoch"
    func passes(_ config: TrainConfig) -> Int { config.epochs }
    func sampling(_ config: TrainConfig) -> Sampling? { samplingOf(config) }

    func validate(_ c: TrainConfig) throws {
        guard name == .fastai || c.sampling == .shuffle else {
            throw TrainConfig.invalid("sampling", "must be shuffle with recipe \(name): only recipe fastai draws with replacement")
        }
    }

    func settings(_ c: TrainConfig) -> [String: String] {
        ["factors": String(c.factors), "bias": String(c.useBias), "y_range": Recipes.yRangeText(c.yRange),
         "epochs": String(c.epochs), "lr": String(c.lr), "wd": String(c.wd), "bs": String(c.batchSize)]
    }

    func train(_ train: Ratings, valid: Ratings?, config: TrainConfig, meta: ModelMetadata,
               progress: ((TrainProgress) -> Void)?) throws -> TrainResult {
        let (net, epochs) = try fit(train, valid, config, progress)
        return TrainResult(model: net.model(meta: meta), epochs: epochs)
    }

    static let fastai = OneCycleTraining(name: .fastai, samplingOf: { $0.sampling }) { train, valid, config, progress in
        try FastaiRecipe.train(train, valid: valid, config: config, progress: progress)
    }
    static let sparse = OneCycleTraining(name: .sparse, samplingOf: { _ in .blocks }) { train, valid, config, progress in
        try SparseRecipe.train(train, valid: valid, config: config, progress: progress)
    }
}

/// Bayesian matrix factorisation by Gibbs sampling (`BayesianMF`).
struct BayesianTraining: TrainingRecipe {
    let name = Recipe.best
    func sampling(_ config: TrainConfig) -> Sampling? { nil }
    let pass = "sweep"
    /// A run has hundreds of sweeps: a table shows every 20th.
    let passesPerRow = 20
    func passes(_ config: TrainConfig) -> Int { config.sweeps }

    func settings(_ c: TrainConfig) -> [String: String] {
        var s = ["factors": String(c.factors), "bias": String(c.useBias), "y_range": Recipes.yRangeText(c.yRange),
                 "sweeps": String(c.sweeps), "burn_in": String(c.burnIn), "sampler_factors": String(c.samplerFactors)]
        if c.keptSamples > 0 { s["kept_samples"] = String(min(c.keptSamples, c.sweeps - c.burnIn)) }
        return s
    }

    func validate(_ c: TrainConfig) throws {
        guard c.sweeps > c.burnIn, c.burnIn >= 0 else { throw TrainConfig.invalid("sweeps", "must exceed the burn-in of \(c.burnIn)") }
        guard c.samplerFactors >= 1 else { throw TrainConfig.invalid("samplerFactors", "must be at least 1") }
        guard c.useBias else { throw TrainConfig.invalid("useBias", "must be true: recipe best always learns biases") }
        guard c.sampling == .shuffle else { throw TrainConfig.invalid("sampling", "must be shuffle with recipe best: it samples no batches") }
    }

    func train(_ train: Ratings, valid: Ratings?, config: TrainConfig, meta: ModelMetadata,
               progress: ((TrainProgress) -> Void)?) throws -> TrainResult {
        try BayesianMF.train(train, valid: valid, config: config, meta: meta, progress: progress)
    }
}

/// fastai's `EmbeddingNN`, `collab_learner(dls, use_nn=True, layers=layers,
/// y_range=y_range)`, trained by recipe fastai's loop (`EmbeddingNNRecipe`).
struct EmbeddingNNTraining: TrainingRecipe {
    let name = Recipe.fastai
    let architecture = Architecture.nn
    let pass = "epoch"
    func passes(_ config: TrainConfig) -> Int { config.epochs }
    func sampling(_ config: TrainConfig) -> Sampling? { config.sampling }

    func settings(_ c: TrainConfig) -> [String: String] {
        ["arch": c.architecture.rawValue, "layers": c.layers.map(String.init).joined(separator: ","),
         "y_range": Recipes.yRangeText(c.yRange), "epochs": String(c.epochs), "lr": String(c.lr), "wd": String(c.wd),
         "bs": String(c.batchSize)]
    }

    func validate(_ c: TrainConfig) throws {
        guard !c.layers.isEmpty, c.layers.allSatisfy({ $0 >= 1 }) else {
            throw TrainConfig.invalid("layers", "needs one or more hidden-layer widths, each at least 1 (fastbook: 100,50)")
        }
        guard c.batchSize >= 2 else {
            throw TrainConfig.invalid("batchSize", "must be at least 2 with architecture nn: BatchNorm1d normalises by the batch's statistics")
        }
        guard c.useBias else {
            throw TrainConfig.invalid("architecture", "nn has no biases to leave out: its MLP takes the embeddings alone")
        }
    }

    func train(_ train: Ratings, valid: Ratings?, config: TrainConfig, meta: ModelMetadata,
               progress: ((TrainProgress) -> Void)?) throws -> TrainResult {
        let (net, epochs) = try EmbeddingNNRecipe.train(train, valid: valid, config: config, progress: progress)
        return TrainResult(model: net.model(meta: meta), epochs: epochs)
    }
}

/// A training loop's parameters, readable as a model at any point of the run.
protocol FactorNet {
    var yRange: ModelMetadata.YRange? { get }
    /// The current parameters as a model (`meta` supplies vocabularies and provenance).
    func model(meta: ModelMetadata) -> FactorModel
}

extension FactorNet {
    /// Mean squared error of the current parameters' predictions for the given
    /// ratings (NaN for none): the model's own predictions, so a run's last
    /// `valid_loss` is the MSE of the model it returns.
    func meanSquaredError(user: [Int32], item: [Int32], rating: [Float]) -> Double {
        var meta = ModelMetadata()
        meta.yRange = yRange
        return Evaluation.score(predictions: model(meta: meta).predict(users: user, items: item), ratings: rating).mse
    }
}
