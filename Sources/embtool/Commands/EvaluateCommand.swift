import ArgumentParser
import EmbeddingKit
import Foundation

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a model on held-out ratings (MSE, RMSE, MAE, precision/recall/NDCG@k), or cross-validate a recipe.",
        discussion: """
        Splits the data as the model's training run did (its file records the split) and \
        scores the held-out part; --split chooses another. Users and items are matched by \
        label, items keyed as the model keys them; ratings whose user or item the model lacks \
        are skipped and counted. When the training part of the split is not the data the \
        model was trained on (the file records its checksum), a warning says so.

        Ranking: for each user, every item they did not rate in the training part is a \
        candidate, ranked by predicted rating as 'recommend --user' ranks them; the relevant \
        items are those they rated 4 or more in the held-out part. precision@k = hits/k, \
        recall@k = hits/relevant, NDCG@k with binary gains, averaged over users with at \
        least one relevant item.

        --cv trains the recipe (the training options, as 'train' takes them) on each of \
        GroupLens' folds u1...u5 in turn, scores the held-out fifth and prints each fold with \
        the mean and standard deviation over the folds (population sd, numpy.std, as \
        Surprise's cross_validate prints it).

        Examples:
          embtool evaluate --model u1.safetensors
          embtool evaluate --model model.safetensors --split u2 --json
          embtool evaluate --cv --seed 7 --json
        """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var data: DataOptions

    @Flag(help: ArgumentHelp("Cross-validate: train and score each of GroupLens' folds u1...u5, with the training options below.",
                             discussion: "Fold uK holds out the K-th fifth of the ratings in file order: GroupLens' u{K}.test on ml-100k."))
    var cv = false

    @OptionGroup(title: "Training each fold (with --cv)")
    var training: TrainingOptions

    @Option(help: ArgumentHelp("Length of the ranked list for precision@k, recall@k and NDCG@k.", valueName: "k"))
    var k = 10

    @OptionGroup(title: "Held-out ratings (--split none scores every rating)")
    var heldOut: SplitOptions

    @Option(help: ArgumentHelp("Also write each held-out rating with the model's prediction to this CSV (user,item,rating,prediction).", valueName: "path"))
    var predictions: String?

    @Flag(help: "Print one JSON object on stdout.")
    var json = false

    func validate() throws {
        if k < 1 { throw ValidationError("--k must be at least 1") }
        if cv {
            if modelOptions.model != nil { throw ValidationError("--cv trains a model per fold: give the training options, not --model") }
            if heldOut.anyGiven { throw ValidationError("--cv uses GroupLens' folds u1...u5: drop --split, --valid-pct and --split-seed") }
            if predictions != nil { throw ValidationError("--predictions writes one model's predictions: not with --cv") }
        }
    }

    func run() throws {
        if cv { return try runFolds() }
        let model = try modelOptions.loadRatingModel(data: data)
        guard model.userCount > 0 else {
            throw EmbtoolError.data("\(modelOptions.model ?? "the model") has no user factors, so it cannot predict ratings")
        }
        let splitter = try heldOut.resolved(recordedBy: model)
        let splitName = splitter.name
        // Items keyed as the model keys them, whatever --item-key says.
        let ratings = try Ratings(data.loadRaw(), itemKey: model.meta.itemKey)
        let (train, heldOut) = splitter == .none ? (ratings, ratings) : splitter.apply(ratings)

        let sameData = model.meta.dataChecksum.isEmpty || splitter == .none
            ? nil : Trainer.trainingChecksum(train) == model.meta.dataChecksum
        if sameData == false {
            note("warning: the training part of split '\(splitName)' is not the data this model was trained on (checksums differ); held-out ratings may include ratings it trained on")
        }
        let predicted = Evaluation.predict(model, on: heldOut)
        let score = Evaluation.score(predictions: predicted, ratings: heldOut.rating)
        if score.unknown > 0 {
            note("skipped \(score.unknown) of \(heldOut.count) ratings: their user or item is not in the model")
        }
        guard score.n > 0 else { throw EmbtoolError.data("no held-out rating has a user and an item the model knows") }

        // Nothing is held out from training with --split none: no ranking to score.
        let ranking = splitter == .none ? nil : try RankingMetrics.evaluate(model, train: train, heldOut: heldOut, k: k)
        if let predictions {
            try writeOutput(predictionsCSV(heldOut, predicted), to: predictions)
        }
        if json {
            try printJSON(EvaluateReport(mse: score.mse, rmse: score.rmse, mae: score.mae, n: score.n, unknown: score.unknown,
                                         split: splitName, model: modelOptions.model ?? EmbtoolHome.modelPath(dataset: "ml-100k"),
                                         trainingDataMatches: sameData, k: k, precisionAtK: ranking?.precision.finite,
                                         recallAtK: ranking?.recall.finite, ndcgAtK: ranking?.ndcg.finite, rankedUsers: ranking?.users))
        } else {
            print(String(format: "MSE %.4f  RMSE %.4f  MAE %.4f  on %d held-out ratings (split %@)", score.mse, score.rmse, score.mae, score.n, splitName))
            if let ranking, ranking.users > 0 {
                print(String(format: "precision@%d %.4f  recall@%d %.4f  NDCG@%d %.4f  over %d users with a held-out rating >= 4",
                             k, ranking.precision, k, ranking.recall, k, ranking.ndcg, ranking.users))
            }
        }
    }

    /// `--cv`: one model per GroupLens fold, each scored on its held-out fifth.
    func runFolds() throws {
        let ratings = try data.load()
        let config = try training.config()
        let started = DispatchTime.now().uptimeNanoseconds
        let folds = try CrossValidation.run(ratings, config: config, progress: { note("fold \($0.name): training…") }) { split, result, train, heldOut in
            let score = Evaluation.score(result.model, on: heldOut)
            let ranking = try RankingMetrics.evaluate(result.model, train: train, heldOut: heldOut, k: k)
            return FoldReport(split: split.name, rmse: score.rmse, mae: score.mae, mse: score.mse, n: score.n,
                              precisionAtK: ranking.precision.finite, recallAtK: ranking.recall.finite, ndcgAtK: ranking.ndcg.finite)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let resolved = config.resolvedRecipe(ratings: ratings.count * 4 / 5, users: ratings.users.count, items: ratings.items.count)
        let sampling = Recipes.trainer(for: resolved, architecture: config.architecture)?.sampling(config)
        let summary = CVSummary(folds: folds, k: k, recipe: resolved.rawValue, sampling: sampling?.rawValue, arch: config.architecture.rawValue,
                                layers: config.architecture == .nn ? config.layers : nil, seed: config.seed, seconds: seconds)
        if json { return try printJSON(summary) }
        var table = TextTable(["fold", "RMSE", "MAE", "precision@\(k)", "recall@\(k)", "NDCG@\(k)"],
                              alignments: [.left, .right, .right, .right, .right, .right])
        let cell = { (x: Double?) in x.map { String(format: "%.4f", $0) } ?? "–" }
        for f in folds {
            table.append([f.split, cell(f.rmse), cell(f.mae), cell(f.precisionAtK), cell(f.recallAtK), cell(f.ndcgAtK)])
        }
        table.append(["mean", cell(summary.rmseMean), cell(summary.maeMean), cell(summary.precisionAtKMean), cell(summary.recallAtKMean), cell(summary.ndcgAtKMean)])
        table.append(["sd", cell(summary.rmseSD), cell(summary.maeSD), cell(summary.precisionAtKSd), cell(summary.recallAtKSd), cell(summary.ndcgAtKSd)])
        let network = config.architecture == .nn ? " training EmbeddingNN (layers \(config.layers.map(String.init).joined(separator: ",")))" : ""
        print("Recipe \(resolved.rawValue)\(network)\(sampling.map { " (sampling \($0.rawValue))" } ?? ""), seed \(config.seed), on GroupLens' folds u1...u5 (sd: population, as numpy.std and Surprise):")
        print(table.render())
        print(String(format: "RMSE %.4f ± %.4f  MAE %.4f ± %.4f  in %.2f s", summary.rmseMean, summary.rmseSD, summary.maeMean, summary.maeSD, seconds))
    }

    /// One line per rating: user and item as the data label them, the rating,
    /// and the prediction (empty when the model lacks the user or item).
    func predictionsCSV(_ ratings: Ratings, _ predicted: [Float]) -> [UInt8] {
        var table = CSVTable(header: ["user", "item", "rating", "prediction"])
        for j in 0..<ratings.count {
            table.appendRow([ratings.users[Int(ratings.user[j])], ratings.items[Int(ratings.item[j])],
                             "\(ratings.rating[j])", CSVTable.number(predicted[j])])
        }
        return table.bytes
    }
}

/// The `--json` document of `embtool evaluate`.
struct EvaluateReport: Encodable {
    var mse: Double, rmse: Double, mae: Double
    var n: Int
    /// Held-out ratings skipped: the model has no row for their user or item.
    var unknown: Int
    var split: String
    var model: String
    /// Whether the split's training part is the model's training data; null when unknown.
    @NullWhenAbsent var trainingDataMatches: Bool?
    var k: Int
    /// Ranking on the held-out part (`RankingMetrics`); null with `--split none`.
    @NullWhenAbsent var precisionAtK: Double?
    @NullWhenAbsent var recallAtK: Double?
    @NullWhenAbsent var ndcgAtK: Double?
    /// Users with at least one relevant held-out item, over whom the ranking is averaged.
    @NullWhenAbsent var rankedUsers: Int?
}

/// One fold of `evaluate --cv`.
struct FoldReport: Encodable {
    var split: String
    var rmse: Double, mae: Double, mse: Double
    var n: Int
    @NullWhenAbsent var precisionAtK: Double?
    @NullWhenAbsent var recallAtK: Double?
    @NullWhenAbsent var ndcgAtK: Double?
}

/// The `--json` document of `evaluate --cv`: the folds, then the mean and
/// population standard deviation of each measure over them.
struct CVSummary: Encodable {
    var folds: [FoldReport]
    var k: Int
    var recipe: String
    /// How training visited the ratings (`shuffle`, `replacement`, `blocks`); null for recipe best.
    @NullWhenAbsent var sampling: String?
    /// The network trained, `dot` or `nn`, and the hidden-layer widths of `nn` (null for `dot`).
    var arch: String
    @NullWhenAbsent var layers: [Int]?
    var seed: UInt64
    /// Wall time of the whole run: training and scoring every fold.
    var seconds: Double
    var rmseMean: Double, rmseSD: Double, maeMean: Double, maeSD: Double
    @NullWhenAbsent var precisionAtKMean: Double?
    @NullWhenAbsent var precisionAtKSd: Double?
    @NullWhenAbsent var recallAtKMean: Double?
    @NullWhenAbsent var recallAtKSd: Double?
    @NullWhenAbsent var ndcgAtKMean: Double?
    @NullWhenAbsent var ndcgAtKSd: Double?

    init(folds: [FoldReport], k: Int, recipe: String, sampling: String?, arch: String, layers: [Int]?, seed: UInt64, seconds: Double) {
        (self.folds, self.k, self.recipe, self.sampling, self.seed, self.seconds) = (folds, k, recipe, sampling, seed, seconds)
        (self.arch, self.layers) = (arch, layers)
        (rmseMean, rmseSD) = CrossValidation.meanAndDeviation(folds.map(\.rmse))
        (maeMean, maeSD) = CrossValidation.meanAndDeviation(folds.map(\.mae))
        func summary(_ values: [Double?]) -> (Double?, Double?) {
            let present = values.compactMap { $0 }
            guard present.count == values.count, !present.isEmpty else { return (nil, nil) }
            let (m, sd) = CrossValidation.meanAndDeviation(present)
            return (m, sd)
        }
        (precisionAtKMean, precisionAtKSd) = summary(folds.map(\.precisionAtK))
        (recallAtKMean, recallAtKSd) = summary(folds.map(\.recallAtK))
        (ndcgAtKMean, ndcgAtKSd) = summary(folds.map(\.ndcgAtK))
    }
}

extension Double {
    /// The value, or nil when it is NaN or infinite (JSON has no NaN).
    var finite: Double? { isFinite ? self : nil }
}
