import Foundation
import EmbeddingCore

extension Recipe {
    /// Above this many parameter updates per epoch (all parameters x batches),
    /// `auto` picks `sparse`: about 2 s per epoch of dense Adam on two cores.
    public static let denseUpdateLimit = 1e10

    /// The recipe `auto` stands for on data of this shape; other recipes are themselves.
    public func resolved(ratings: Int, users: Int, items: Int, factors: Int, batchSize: Int) -> Recipe {
        guard self == .auto else { return self }
        let updates = Double(users + items) * Double(factors + 1) * Double(ratings / max(1, batchSize))
        return updates <= Self.denseUpdateLimit ? .fastai : .sparse
    }
}

/// The network a recipe trains: fastai's `EmbeddingDotBias` (`dot`, the
/// chapter's first model) or its `EmbeddingNN` (`nn`, `collab_learner(use_nn=True)`,
/// the chapter's last).
public enum Architecture: String, Codable, Sendable, CaseIterable {
    case dot, nn
}

/// Hyper-parameters of a training run. The defaults are fastbook chapter 8's.
public struct TrainConfig: Sendable {
    /// Latent factors per user and item (`n_factors`).
    public var factors = 50
    /// Passes over the training ratings (`fit_one_cycle(epochs, ...)`).
    public var epochs = 5
    /// Peak learning rate of the one-cycle schedule (`lr_max`).
    public var lr: Float = 5e-3
    /// Decoupled weight decay (`wd`): every step multiplies every parameter by `1 - lr * wd`.
    public var wd: Float = 0.1
    /// Ratings per mini-batch; the last incomplete batch of an epoch is dropped, as fastai does.
    public var batchSize = 64
    /// Seeds the initial factors and the order of the ratings in each epoch.
    public var seed: UInt64 = 42
    /// How recipe fastai draws each epoch's batches: `.shuffle` (every rating
    /// once, fastbook's fastai) or `.replacement` (fastai 2.8's default loader).
    /// Recipe sparse always visits every rating once, in blocks.
    public var sampling: Sampling = .shuffle
    /// `EmbeddingDotBias` (true) or fastbook's `DotProduct` (false).
    public var useBias = true
    /// Predictions are `sigmoid_range(x, low, high)` when set, the raw `x` otherwise.
    public var yRange: ModelMetadata.YRange? = .init(low: 0, high: 5.5)
    public var recipe: Recipe = .fastai
    /// The network: `.dot` (`factors`, `useBias` apply) or `.nn` (`layers` applies).
    public var architecture: Architecture = .dot
    /// `.nn`: widths of the hidden layers (fastbook's `layers=[100, 50]`); the
    /// embedding widths follow fastai's `get_emb_sz` rule (`EmbeddingNNShape`).
    public var layers = [100, 50]
    /// Threads that share the work; results do not depend on it.
    public var threads = max(1, min(2, ProcessInfo.processInfo.activeProcessorCount))
    /// Recipe `best`: Gibbs sweeps, of which the first `burnIn` are discarded,
    /// and the rank of the sampled factors (the model file holds `factors`).
    public var sweeps = 200
    public var burnIn = 10
    public var samplerFactors = 20
    /// Recipe `best`: thinned posterior samples of the item factors to store in
    /// the model (for `similar --stability`); 0 stores none.
    public var keptSamples = 0
    /// The split that made the training ratings, recorded in the model file (training does not use it).
    public var split: Split?

    public init() {}

    /// Rejects settings no recipe can train with, then those the recipe cannot.
    public func validate() throws {
        func check(_ ok: Bool, _ setting: String, _ requirement: String) throws {
            guard ok else { throw TrainConfig.invalid(setting, requirement) }
        }
        try check(factors >= 1, "factors", "must be at least 1")
        try check(epochs >= 1, "epochs", "must be at least 1")
        try check(lr.isFinite && lr > 0, "lr", "must be a positive number")
        try check(wd.isFinite && wd >= 0, "wd", "must be zero or positive")
        try check(batchSize >= 1, "batchSize", "must be at least 1")
        try check(threads >= 1, "threads", "must be at least 1")
        try check(sampling == .shuffle || sampling == .replacement, "sampling", "must be shuffle or replacement")
        try check(keptSamples >= 0, "keptSamples", "cannot be negative")
        try check(keptSamples == 0 || recipe == .best, "keptSamples", "needs recipe best (the only one that samples a posterior)")
        if let r = yRange { try check(r.low.isFinite && r.high.isFinite && r.low < r.high, "yRange", "needs LOW < HIGH") }
        try check(recipe == .auto || Recipes.trainer(for: recipe) != nil, "recipe",
                  "must be one of \(Recipes.names.map(\.rawValue).joined(separator: ", "))")
        let trainers = Recipes.trainers(for: architecture).map(\.name.rawValue)
        try check(recipe == .auto || Recipes.trainer(for: recipe, architecture: architecture) != nil, "architecture",
                  "\(architecture.rawValue) is trained by recipe \(trainers.joined(separator: ", ")) (or auto), not \(recipe)")
        // `auto` stands for recipe fastai alone with nn: its checks apply before any data is read.
        let named = architecture == .nn && recipe == .auto ? Recipe.fastai : recipe
        try Recipes.trainer(for: named, architecture: architecture)?.validate(self)
    }

    /// The recipe a run on `ratings` training ratings of `users` x `items` takes:
    /// `recipe`, or what `auto` stands for (`Recipe.resolved`; always `fastai`
    /// for the neural network, which recipe sparse does not train).
    public func resolvedRecipe(ratings: Int, users: Int, items: Int) -> Recipe {
        if architecture == .nn && recipe == .auto { return .fastai }
        return recipe.resolved(ratings: ratings, users: users, items: items, factors: factors, batchSize: batchSize)
    }

    /// A usage error naming `setting` (a property of `TrainConfig`) and what it must satisfy.
    static func invalid(_ setting: String, _ requirement: String) -> EmbtoolError {
        .usage("\(setting) \(requirement)", reason: .setting(setting, requirement: requirement))
    }
}

/// One row of the training table.
public struct EpochStats: Codable, Equatable, Sendable {
    public var epoch: Int
    /// Recipe `fastai`: fastai's `train_loss`, the debiased moving average
    /// (β = 0.98) of batch MSEs at the end of the epoch. Recipe `sparse`: the
    /// mean batch MSE over the epoch. Recipe `best`: the training MSE of the sweep's sample.
    public var trainLoss: Double
    /// MSE on the validation ratings, when there are some (recipe `best`: of
    /// the predictions averaged over the sweeps kept so far).
    public var validLoss: Double?
    public var seconds: Double

    public init(epoch: Int, trainLoss: Double, validLoss: Double?, seconds: Double) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.validLoss = validLoss
        self.seconds = seconds
    }

    enum CodingKeys: String, CodingKey {
        case epoch, seconds
        case trainLoss = "train_loss"
        case validLoss = "valid_loss"
    }
}

/// What a training run reports while it runs.
public struct TrainProgress: Sendable {
    /// 0-based epoch (or sweep) in progress.
    public var epoch: Int
    public var epochs: Int
    /// Fraction of the current epoch done, 0...1.
    public var fraction: Double
    /// Set once, when the epoch has finished.
    public var finished: EpochStats?
}

public struct TrainResult: Sendable {
    /// A `FactorModel` (architecture dot) or an `EmbeddingNNModel` (nn).
    public var model: any RatingModel
    public var epochs: [EpochStats]
}
