import ArgumentParser
import EmbeddingKit
import Foundation

extension Recipe: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
    public static var allValueStrings: [String] { Recipes.names.map(\.rawValue) }
}

extension Sampling: ExpressibleByArgument {
    /// Only the samplings a user chooses: recipe sparse's blocks are not one.
    public init?(argument: String) {
        guard let s = Sampling(rawValue: argument), s != .blocks else { return nil }
        self = s
    }
    public static var allValueStrings: [String] { [Sampling.shuffle, .replacement].map(\.rawValue) }
}

extension Architecture: ExpressibleByArgument {}

/// How a model is trained: the recipe and its settings, shared by `train` and
/// `evaluate --cv` (which trains one model per fold).
struct TrainingOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "'fastai' (fastbook's recipe), 'sparse' (the same on sparse gradients, for large data), 'best' (Bayesian MF, lowest error) or 'auto'.",
        discussion: "auto: 'fastai' when its dense Adam pass costs at most 1e10 parameter updates per epoch ((users + items) x (factors + 1) x batches), else 'sparse'.",
        valueName: "recipe"))
    var recipe: Recipe = .auto

    @Option(name: .customLong("arch"), help: ArgumentHelp(
        "The network: 'dot' (fastbook's dot product with biases) or 'nn' (the chapter's last model, fastai's EmbeddingNN).",
        discussion: "nn: collab_learner(dls, use_nn=True, layers=[100, 50], y_range=(0, 5.5)): the user and item embeddings "
            + "(widths by fastai's rule min(600, round(1.6 n^0.56)) for n users or items) are concatenated and fed through "
            + "Linear, ReLU and BatchNorm1d per --layers width, then a Linear to one output and sigmoid_range. Trained by "
            + "recipe fastai; it has no biases, so 'bias' has nothing to rank, while 'pca' and 'similar' use its item embeddings.",
        valueName: "arch"))
    var architecture: Architecture = .dot

    @Option(help: ArgumentHelp("Hidden-layer widths of --arch nn, comma-separated (fastbook: 100,50).", valueName: "n,n,..."))
    var layers: String?

    @Option(help: ArgumentHelp("Epochs of the one-cycle schedule (recipes fastai and sparse).", valueName: "n"))
    var epochs = 5

    @Option(help: ArgumentHelp("Peak learning rate of the one-cycle schedule (recipes fastai and sparse).", valueName: "rate"))
    var lr: Float = 5e-3

    @Option(help: ArgumentHelp("Decoupled weight decay: each step multiplies every parameter by 1 - lr*wd (recipes fastai and sparse).", valueName: "wd"))
    var wd: Float = 0.1

    @Option(help: ArgumentHelp("Gibbs sweeps (recipe best); the first \(TrainConfig().burnIn) are burn-in.", valueName: "n"))
    var sweeps = TrainConfig().sweeps

    @Option(help: ArgumentHelp("Rank of the sampled factors (recipe best); the model file holds --factors.", valueName: "k"))
    var samplerFactors = TrainConfig().samplerFactors

    @Option(help: ArgumentHelp("Store this many thinned posterior samples of the item factors in the model (recipe best; for similar --stability).", valueName: "n"))
    var keepSamples = 0

    @OptionGroup var model: ModelShapeOptions

    /// `--layers`' text: widths separated by commas.
    static func parseLayers(_ text: String) throws -> [Int] {
        let widths = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !widths.isEmpty, widths.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw ValidationError("--layers must be widths of at least 1 separated by commas, e.g. 100,50")
        }
        return widths.map { $0! }
    }

    func config(split: Split? = nil) throws -> TrainConfig {
        var c = TrainConfig()
        c.split = split
        c.recipe = recipe
        c.architecture = architecture
        if let layers { c.layers = try Self.parseLayers(layers) }
        c.epochs = epochs
        c.lr = lr
        c.wd = wd
        c.sweeps = sweeps
        c.samplerFactors = samplerFactors
        c.keptSamples = keepSamples
        try model.apply(to: &c)
        return c
    }

    func validate() throws {
        switch architecture {
        case .dot:
            if layers != nil { throw ValidationError("--layers sets the hidden layers of --arch nn; the dot model has none") }
        case .nn:
            if model.factors != nil {
                throw ValidationError("--factors sets the dot model's width; --arch nn sizes its embeddings by fastai's rule (drop --factors)")
            }
            if model.noBias { throw ValidationError("--no-bias applies to --arch dot: --arch nn has no biases (drop --no-bias)") }
        }
        do { try config().validate() } catch let error as EmbtoolError { throw ValidationError(cliMessage(error)) }
    }
}

/// The model and how its mini-batches are drawn: what `train` and `lr-find` share.
struct ModelShapeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Latent factors per user and item (default \(TrainConfig().factors)).", valueName: "k"))
    var factors: Int?

    @Flag(help: "Train fastbook's DotProduct: no user or item biases.")
    var noBias = false

    @Option(help: ArgumentHelp("Squash predictions into LOW,HIGH with sigmoid_range, or 'none' for the raw dot product.", valueName: "LOW,HIGH|none"))
    var yRange = "0,5.5"

    @Option(name: .customLong("bs"), help: ArgumentHelp("Ratings per mini-batch (recipes fastai and sparse); fastai drops the last incomplete batch of an epoch.", valueName: "n"))
    var batchSize = 64

    @Option(help: ArgumentHelp(
        "How recipe fastai draws each epoch's batches: 'shuffle' (every rating once, fastbook's fastai) or 'replacement' (fastai 2.8's default loader).",
        discussion: "replacement: n uniform draws with replacement from the n training ratings per epoch, as fastai 2.8's TabWeightedDL does (about 63% of the ratings seen); u1 RMSE about 0.02 higher.",
        valueName: "sampling"))
    var sampling: Sampling = .shuffle

    @Option(help: ArgumentHelp("Seed of the initial factors and of the batch order (or of the sampler).", valueName: "n"))
    var seed: UInt64 = 42

    @Option(help: ArgumentHelp("Threads (default: 2, or 1 on a single core). Results do not depend on it.", valueName: "n"))
    var threads: Int?

    /// Sets these options' fields of `c`.
    func apply(to c: inout TrainConfig) throws {
        if let factors { c.factors = factors }
        c.useBias = !noBias
        c.yRange = try Self.parseYRange(yRange)
        c.batchSize = batchSize
        c.sampling = sampling
        c.seed = seed
        if let threads { c.threads = threads }
    }

    /// `--y-range`'s text: 'none' or LOW,HIGH.
    static func parseYRange(_ yRange: String) throws -> ModelMetadata.YRange? {
        if yRange.lowercased() == "none" { return nil }
        let parts = yRange.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let low = parts[0], let high = parts[1], low.isFinite, high.isFinite, low < high else {
            throw ValidationError("--y-range must be 'none' or LOW,HIGH with LOW < HIGH, e.g. 0,5.5")
        }
        return .init(low: low, high: high)
    }
}
