import ArgumentParser
import EmbeddingKit
import Foundation

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a model on held-out ratings: MSE, RMSE, MAE.",
        discussion: """
        Splits the data as the model's training run did (its file records the split) and \
        scores the held-out part; --split chooses another. Users and items are matched by \
        label, items keyed as the model keys them; ratings whose user or item the model lacks \
        are skipped and counted. When the training part of the split is not the data the \
        model was trained on (the file records its checksum), a warning says so.

        Examples:
          embtool evaluate --model u1.safetensors
          embtool evaluate --model model.safetensors --split u2 --json
        """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var data: DataOptions

    @Option(help: ArgumentHelp("Held-out ratings: 'random', 'u1'...'u5' or 'none' (score every rating). Default: the model's training split.", valueName: "split"))
    var split: String?

    @Option(help: ArgumentHelp("Fraction held out by --split random (default: the model's).", valueName: "fraction"))
    var validPct: Double?

    @Option(help: ArgumentHelp("Seed of --split random (default: the model's).", valueName: "n"))
    var splitSeed: UInt64?

    @Option(help: ArgumentHelp("Also write each held-out rating with the model's prediction to this CSV (user,item,rating,prediction).", valueName: "path"))
    var predictions: String?

    @Flag(help: "Print one JSON object on stdout.")
    var json = false

    func validate() throws {
        if let validPct, !(validPct > 0 && validPct < 1) { throw ValidationError("--valid-pct must be between 0 and 1") }
    }

    /// `--split` (a random one takes `--valid-pct` and `--split-seed`, else the
    /// model's random split's, else `train`'s defaults), or the split the model records.
    func heldOutSplit(_ model: FactorModel) throws -> Split {
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

    func run() throws {
        let model = try modelOptions.load(data: data)
        guard model.userFactors != nil else {
            throw EmbtoolError.data("\(modelOptions.model ?? "the model") has no user factors, so it cannot predict ratings")
        }
        let splitter = try heldOutSplit(model)
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

        if let predictions {
            try writeOutput(predictionsCSV(heldOut, predicted), to: predictions)
        }
        if json {
            try printJSON(EvaluateReport(mse: score.mse, rmse: score.rmse, mae: score.mae, n: score.n, unknown: score.unknown,
                                         split: splitName, model: modelOptions.model ?? EmbtoolHome.modelPath(dataset: "ml-100k"),
                                         trainingDataMatches: sameData))
        } else {
            print(String(format: "MSE %.4f  RMSE %.4f  MAE %.4f  on %d held-out ratings (split %@)", score.mse, score.rmse, score.mae, score.n, splitName))
        }
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
}
