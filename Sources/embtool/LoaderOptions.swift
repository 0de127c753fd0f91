import ArgumentParser
import EmbeddingKit

/// How factors from elsewhere are read: which tensors, which labels, how strict.
/// Part of every command that takes `--model`.
struct LoaderOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Tensor (or .npz array) to use as item factors, rows x factors.",
        discussion: "Needed only when the names are not one of fastai's EmbeddingDotBias (i_weight.weight), "
            + "fastbook's DotProductBias (movie_factors), EmbeddingNN (embeds.1.weight) or item_factors. "
            + "'embtool info --model F' lists the tensors.", valueName: "name"))
    var itemsTensor: String?

    @Option(name: .long, help: ArgumentHelp("Tensor (or .npz array) to use as item biases.", valueName: "name"))
    var biasTensor: String?

    @Option(name: .long, help: ArgumentHelp(
        "A .npy vector of item biases, one per factor row (for factors saved without them).", valueName: "file.npy"))
    var bias: String?

    @Option(name: .long, help: ArgumentHelp(
        "Item labels, one per line or a JSON array, one per factor row (fastai's vocabulary starts with #na#).",
        discussion: "Or pass --data with the ratings the factors were trained on to rebuild fastai's vocabulary.",
        valueName: "file"))
    var vocab: String?

    @Flag(name: .long, help: "Refuse factors holding NaN or infinity (by default a warning gives their count).")
    var strict = false

    func loaderOptions(users: Bool = true, genres: Bool = true) -> FactorLoader.Options {
        var o = FactorLoader.Options()
        o.users = users
        o.genres = genres
        o.itemsTensor = itemsTensor
        o.biasTensor = biasTensor
        o.biasFile = bias
        o.vocabularyFile = vocab
        o.strict = strict
        o.warn = { note("embtool: warning: \($0) (--strict refuses such files)") }
        return o
    }
}

extension LoaderOptions {
    /// `--model PATH` read with these options. With `--data`, factors that carry
    /// no vocabulary of their own (a fastai checkpoint, Spark ids, a bare .npy)
    /// get the ratings' labels, counts and genres.
    func load(path: String, data: DataOptions, users: Bool = true, genres: Bool = true) throws -> FactorModel {
        let model = try FactorLoader.load(path: path, options: loaderOptions(users: users, genres: genres))
        guard data.data != nil, model.meta.itemCounts.isEmpty else { return model }
        return try FactorLoader.attachVocabulary(model, ratings: data.load())
    }
}
