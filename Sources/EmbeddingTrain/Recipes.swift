import Foundation
import EmbeddingCore

/// One way of training a model: what `Trainer` runs for a recipe name. A new
/// trainer (fastai's neural model, say) is one more entry in `Recipes.all`.
public protocol TrainingRecipe: Sendable {
    var name: Recipe { get }
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
    public var passesPerRow: Int { 1 }
    public func validate(_ config: TrainConfig) throws {}
}

/// The recipes `Trainer` knows, by name. `auto` is not one: it stands for
/// `fastai` or `sparse` (`Recipe.resolved`).
public enum Recipes {
    public static let all: [any TrainingRecipe] = [OneCycleTraining.fastai, OneCycleTraining.sparse, BayesianTraining()]

    /// The trainer of `recipe`; nil for `auto` (resolve it first, `Recipe.resolved`) and for unknown names.
    public static func trainer(for recipe: Recipe) -> (any TrainingRecipe)? {
        all.first { $0.name == recipe }
    }

    /// Every name `--recipe` takes: the recipes, then `auto`.
    public static var names: [Recipe] { all.map(\.name) + [.auto] }

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
