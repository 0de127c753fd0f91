import ArgumentParser
import EmbeddingKit
import Foundation

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train fastbook's dot-product-with-bias model (or its neural network, --arch nn) and write a model file.",
        discussion: """
        Recipe fastai is exactly fastbook chapter 8's: collab_learner(dls, n_factors=50, \
        y_range=(0, 5.5)) then learn.fit_one_cycle(5, 5e-3, wd=0.1) — Adam with fastai's \
        defaults, decoupled weight decay on every parameter, the one-cycle schedule of \
        learning rate and momentum, batches of 64. Recipe sparse is the same on sparse \
        gradients, for data where updating every parameter at every batch is too slow; the \
        default, auto, picks between the two by that cost. '--recipe best' trains a Bayesian \
        matrix factorisation by Gibbs sampling instead, for the lowest error.

        The model file is safetensors with the names of fastai's EmbeddingDotBias state dict \
        (u_weight.weight, i_weight.weight, u_bias.weight, i_bias.weight), so \
        model.load_state_dict(safetensors.torch.load_file(path)) works in fastai.

        '--arch nn' trains the chapter's last model instead, fastai's EmbeddingNN: \
        collab_learner(dls, use_nn=True, layers=[100, 50], y_range=(0, 5.5)) then the same \
        fit_one_cycle(5, 5e-3, wd=0.1) (BatchNorm weights and biases without weight decay, \
        as fastai's Learner leaves them). Its file holds EmbeddingNN's state dict \
        (embeds.0.weight, embeds.1.weight, layers.*, bn_cont.*, running statistics), \
        which fastai's EmbeddingNN loads with strict=True.

        Examples:
          embtool train                           fastbook's run, 20% held out
          embtool train --split u1 --seed 7       GroupLens' fold u1, another seed
          embtool train --no-bias --y-range none  the chapter's DotProduct model
          embtool train --sampling replacement    fastai 2.8's batch draw
          embtool train --recipe best -o best.safetensors
          embtool train --arch nn -o nn.safetensors      fastai's EmbeddingNN, layers 100,50
          embtool train --arch nn --layers 200,100,50    three hidden layers
        """)

    @OptionGroup var data: DataOptions

    @OptionGroup var heldOut: SplitOptions

    @OptionGroup(title: "Training")
    var training: TrainingOptions

    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp(
        "Where to write the model.", discussion: "Default: $EMBTOOL_HOME/models/<dataset>.safetensors.", valueName: "path"))
    var output: String?

    @Option(help: ArgumentHelp("Also draw the train and valid loss per epoch as an SVG at this path.", valueName: "file"))
    var svg: String?

    @Flag(help: "Print one JSON object on stdout instead of the table.")
    var json = false

    func run() throws {
        let splitter = try heldOut.resolved()
        let config = try training.config(split: splitter)
        let loadStart = DispatchTime.now().uptimeNanoseconds
        let ratings = try data.load()
        note(String(format: "read %d ratings in %.2f s", ratings.count, Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e9))
        // Without a split, train on the table itself rather than on a copy of it.
        let (train, valid) = splitter == .none ? (ratings, ratings.subset([])) : splitter.apply(ratings)
        let path = output ?? EmbtoolHome.modelPath(dataset: ratings.name)
        let resolved = config.resolvedRecipe(ratings: train.count, users: train.users.count, items: train.items.count)
        guard let trainer = Recipes.trainer(for: resolved, architecture: config.architecture) else {
            throw EmbtoolError(.software, "no trainer for recipe \(resolved)")
        }
        let network = config.architecture == .dot ? "" : " (EmbeddingNN, " + Self.describe(
            EmbeddingNNShape(users: train.users.count, items: train.items.count, layers: config.layers)) + ")"
        note("training recipe \(resolved.rawValue)\(network) on \(train.count) ratings of \(ratings.name) (\(train.users.count - 1) users, \(train.items.count - 1) items), validating on \(valid.count) (\(splitter.name))")

        let table = EpochTable(trainer, printRows: !json)
        let started = DispatchTime.now().uptimeNanoseconds
        let result = try Trainer.train(train, valid: valid.count > 0 ? valid : nil, config: config) { table.update($0) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        table.finish()

        var model = result.model
        // Counts over the whole dataset, as fastbook ranks "most rated" movies,
        // so analysis shows the same counts whatever was held out.
        model.meta.itemCounts = ratings.itemCounts()
        try ModelFile.save(model, to: path)
        if let svg { try writeOutput(lossChart(result.epochs, dataset: ratings.name, recipe: resolved, split: splitter), to: svg) }
        let score = valid.count > 0 ? Evaluation.score(result.model, on: valid) : nil
        if json {
            try printJSON(TrainReport(epochs: result.epochs, validMSE: score?.mse, validRMSE: score?.rmse,
                                      validMAE: score?.mae, seconds: seconds, model: path, recipe: resolved.rawValue,
                                      sampling: model.meta.recipe.sampling?.rawValue, arch: config.architecture.rawValue,
                                      layers: config.architecture == .nn ? config.layers : nil,
                                      split: splitter.name, trainRatings: train.count, validRatings: valid.count))
        } else {
            if let score {
                print(String(format: "valid MSE %.4f  RMSE %.4f  MAE %.4f  on %d ratings; trained in %.2f s", score.mse, score.rmse, score.mae, score.n, seconds))
            } else {
                print(String(format: "trained in %.2f s on all ratings (--split none: nothing held out)", seconds))
            }
            fflush(stdout)
        }
        note("wrote \(path)")
    }
}

extension TrainCommand {
    /// The network's sizes as fastai prints them: `embeddings 944x74, 1665x102; layers 176-100-50-1`.
    static func describe(_ shape: EmbeddingNNShape) -> String {
        let widths = [shape.inputWidth] + shape.layers + [1]
        return "embeddings \(shape.users)x\(shape.userWidth), \(shape.items)x\(shape.itemWidth); layers "
            + widths.map(String.init).joined(separator: "-")
    }

    /// fastai's `learn.recorder.plot_loss()`, per epoch: train and valid MSE.
    func lossChart(_ epochs: [EpochStats], dataset: String, recipe: Recipe, split: Split) -> String {
        var series = [LineChart.Series(name: "train_loss", points: epochs.map { (Double($0.epoch), $0.trainLoss) })]
        let valid = epochs.compactMap { e in e.validLoss.map { (x: Double(e.epoch), y: $0) } }
        if !valid.isEmpty { series.append(LineChart.Series(name: "valid_loss", points: valid, dashed: true)) }
        var chart = LineChart(title: "Training and validation loss", xTitle: "epoch", yTitle: "MSE", series: series)
        chart.subtitle = "\(dataset), recipe \(recipe.rawValue), split \(split.name)"
        return chart.render()
    }
}

/// The `--json` document of `embtool train`.
struct TrainReport: Encodable {
    var epochs: [EpochStats]
    /// Null when nothing is held out.
    @NullWhenAbsent var validMSE: Double?
    @NullWhenAbsent var validRMSE: Double?
    @NullWhenAbsent var validMAE: Double?
    /// Wall time of training, without loading data or writing the model.
    var seconds: Double
    var model, recipe: String
    /// How training visited the ratings (`shuffle`, `replacement`, `blocks`); null for recipe best.
    @NullWhenAbsent var sampling: String?
    /// The network, `dot` or `nn`, and the hidden-layer widths of `nn` (null for `dot`).
    var arch: String
    @NullWhenAbsent var layers: [Int]?
    var split: String
    var trainRatings, validRatings: Int
}

/// fastai's results table (epoch, train_loss, valid_loss, time) on stdout, one
/// row per finished epoch, with a progress bar on stderr while an epoch runs
/// when stderr is a terminal, and one plain status line per epoch otherwise.
final class EpochTable {
    /// What a pass is called, and every how many passes a row is printed.
    let unit: String
    let printEvery: Int
    let printRows: Bool
    let terminal = isatty(STDERR_FILENO) != 0
    private var headerPrinted = false
    private var barShown = false

    init(_ trainer: any TrainingRecipe, printRows: Bool) {
        unit = trainer.pass
        printEvery = trainer.passesPerRow
        self.printRows = printRows
    }

    /// Many short passes: the bar tracks the whole run rather than one pass.
    var barPerRun: Bool { printEvery > 1 }

    func update(_ p: TrainProgress) {
        guard let row = p.finished else {
            if terminal { showBar(p.epoch, of: p.epochs, fraction: p.fraction) }
            return
        }
        clearBar()
        let last = row.epoch + 1 == p.epochs
        let shown = (row.epoch + 1) % printEvery == 0 || last
        if printRows && shown {
            if !headerPrinted {
                print("\(unit.padding(toLength: 7, withPad: " ", startingAt: 0))train_loss  valid_loss  time")
                headerPrinted = true
            }
            let valid = row.validLoss.map { String(format: "%-10.6f", $0) } ?? "-         "
            print(String(format: "%-6d %-10.6f  %@  %.3fs", row.epoch, row.trainLoss, valid, row.seconds))
            fflush(stdout)
        }
        if terminal {
            if barPerRun && !last { showBar(row.epoch + 1, of: p.epochs, fraction: Double(row.epoch + 1) / Double(p.epochs)) }
        } else if shown {
            let valid = row.validLoss.map { String(format: ", valid_loss %.6f", $0) } ?? ""
            note(String(format: "\(unit) %d/%d: train_loss %.6f%@ (%.3f s)", row.epoch + 1, p.epochs, row.trainLoss, valid, row.seconds))
        }
    }

    private func showBar(_ index: Int, of count: Int, fraction: Double) {
        let width = 30
        let done = min(width, Int(fraction * Double(width)))
        let bar = String(repeating: "█", count: done) + String(repeating: "·", count: width - done)
        let label = barPerRun ? "\(unit)s \(index)/\(count)" : "\(unit) \(index + 1)/\(count)"
        FileHandle.standardError.write(Data("\r\(label) \(bar) \(Int(fraction * 100))%".utf8))
        barShown = true
    }

    func finish() { clearBar() }

    private func clearBar() {
        if barShown {
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
            barShown = false
        }
    }
}
