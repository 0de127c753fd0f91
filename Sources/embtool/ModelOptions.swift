import ArgumentParser
import EmbeddingKit
import Foundation

/// Which model an analysis command reads. Without `--model`, the model trained
/// on the default dataset, trained first when absent.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Model or factor file (embtool/safetensors, PyTorch .pth, .npy/.npz, CSV/TSV, Spark ALSModel folder, word2vec).",
        discussion: "Default: the model trained on MovieLens 100k, trained first if absent.", valueName: "path"))
    var model: String?

    @OptionGroup(title: "Reading factors trained elsewhere")
    var loader: LoaderOptions

    /// The model named by `--model`, else the default model — trained on the
    /// default dataset and saved on first use, so `embtool similar "Star Wars"`
    /// works as the very first command. Concurrent first uses take turns on a
    /// lock beside the model: one fetches and trains, the others wait and read
    /// its model (written atomically, so never seen half-written). Without
    /// `users` the user side is not read, without `genres` the item genres
    /// (`FactorLoader.Options`): a large model then starts in milliseconds for
    /// commands that need neither.
    func load(data: DataOptions, users: Bool = true, genres: Bool = true) throws -> FactorModel {
        if let model { return try loader.load(path: model, data: data, users: users, genres: genres) }
        let path = EmbtoolHome.modelPath(dataset: "ml-100k")
        var options = FactorLoader.Options()
        options.users = users
        options.genres = genres
        if FileManager.default.fileExists(atPath: path) { return try ModelFile.load(path: path, options: options) }
        return try FileLock.withExclusive(path + ".lock", waiting: {
            note("waiting for another embtool to finish training the default model…")
        }) {
            if FileManager.default.fileExists(atPath: path) { return try ModelFile.load(path: path, options: options) }
            return try trainDefaultModel(data: data, saveTo: path)
        }
    }

    /// The model as a predictor of ratings: a fastai `EmbeddingNN` file
    /// predicts through its network (`EmbeddingNNModel`, its vocabularies and
    /// y-range from the file, or from `--data` as `load` gives them), any other
    /// model through its factors.
    func loadRatingModel(data: DataOptions) throws -> any RatingModel {
        let factors = try load(data: data)
        return try network(of: factors) ?? factors
    }

    /// The network of `factors` when they are a fastai `EmbeddingNN`'s item
    /// embeddings (read again from their file, with their metadata), else nil.
    func network(of factors: FactorModel) throws -> EmbeddingNNModel? {
        guard factors.source?.naming == FactorLoader.embeddingNN, let path = factors.source?.path else { return nil }
        return try EmbeddingNNModel(stateDict: FactorLoader.stateDict(path: path), meta: factors.meta, file: path)
    }

    /// fastbook's recipe (`TrainConfig()` defaults) on all of MovieLens 100k,
    /// as `embtool train --split none` would, saved where `train` saves it.
    func trainDefaultModel(data: DataOptions, saveTo path: String) throws -> FactorModel {
        note("training the default model on ml-100k (first use)…")
        let ratings = try data.load()
        guard ratings.name == "ml-100k" else {
            throw EmbtoolError.usage("without --model the default model is trained on ml-100k, not \(ratings.name): run 'embtool train --data \(data.data ?? "DIR")' and pass its model with --model")
        }
        var config = TrainConfig()
        config.split = Split.none
        let result = try Trainer.train(ratings, valid: nil, config: config)
        try ModelFile.save(result.model, to: path)
        note("wrote \(path)")
        // Read back as every later command will read it.
        return try ModelFile.load(path: path)
    }
}

/// Ratings to read beside a model, for what the model file does not carry
/// (mean ratings, which items a user has seen, counts for foreign factors):
/// `--data` when given, else the default dataset when the model was trained
/// on it and it is at hand. Nil, with a note saying what is missing (unless
/// `quiet`), otherwise.
func companionRatings(for model: FactorModel, data: DataOptions, purpose: String, quiet: Bool = false) throws -> Ratings? {
    if data.data != nil {
        // --format and --columns apply; items are keyed as the model keys them.
        let raw = try data.loadRaw()
        return try Ratings(raw, itemKey: raw.catalog.isEmpty ? .id : model.meta.itemKey)
    }
    let defaultName = "ml-100k"
    let cached = EmbtoolHome.datasetFolder(defaultName)
    if model.meta.dataset == defaultName, FileManager.default.fileExists(atPath: cached + "/u.data") {
        return try DatasetLoader.load(path: cached, itemKey: model.meta.itemKey)
    }
    if !quiet { note("note: no ratings beside the model, so \(purpose) unknown; pass --data") }
    return nil
}

/// Writes an output file atomically and names it on stderr.
func writeOutput(_ bytes: [UInt8], to path: String) throws {
    try AtomicFile.write(Data(bytes), to: path)
    note("wrote \(path)")
}

func writeOutput(_ text: String, to path: String) throws {
    try writeOutput(Array(text.utf8), to: path)
}

extension SimilarityMetric: ExpressibleByArgument {}
