import ArgumentParser
import EmbeddingKit
import Foundation

struct LRFindCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lr-find",
        abstract: "fastai's learning-rate finder: sweep the learning rate, suggest one.",
        discussion: """
        learn.lr_find() on fastbook's model: a fresh model trains on the training ratings for \
        --num-it mini-batches while the learning rate grows exponentially from --start-lr to \
        --end-lr, recording fastai's smoothed loss (β = 0.98, debiased); the sweep stops early \
        when that loss passes 4x its minimum. Nothing is written but the optional chart. \
        Suggestions, read as fastai reads the curve (without its first tenth and last 5 points):
          valley   fastai's default: within the longest decreasing stretch of the curve
          minimum  a tenth of the learning rate at the lowest loss
          steep    where the loss falls fastest per decade

        Examples:
          embtool lr-find --split u1              suggestions for fold u1
          embtool lr-find --svg lr.svg --json     the curve as JSON and as a chart
        """)

    @OptionGroup var data: DataOptions

    @OptionGroup(title: "Held-out ratings (left out of the sweep)")
    var heldOut: SplitOptions

    @Option(help: ArgumentHelp("Learning rate of the first mini-batch.", valueName: "rate"))
    var startLR = LRFinder().startLR

    @Option(help: ArgumentHelp("Learning rate the sweep grows towards (reached at --num-it).", valueName: "rate"))
    var endLR = LRFinder().endLR

    @Option(help: ArgumentHelp("Mini-batches of the sweep (at least 6).", valueName: "n"))
    var numIt = LRFinder().iterations

    @Option(help: ArgumentHelp("Decoupled weight decay during the sweep: fastai's Adam default, as lr_find uses it before any fit.", valueName: "wd"))
    var wd: Float = 0.01

    @OptionGroup(title: "The model swept (as in train)")
    var model: ModelShapeOptions

    @Option(help: ArgumentHelp("Also draw the loss against the learning rate (log axis), suggestions marked, as an SVG at this path.", valueName: "file"))
    var svg: String?

    @Flag(help: "Print one JSON object on stdout instead of the suggestions.")
    var json = false

    func finder() -> LRFinder {
        var f = LRFinder()
        f.startLR = startLR
        f.endLR = endLR
        f.iterations = numIt
        return f
    }

    func config() throws -> TrainConfig {
        var c = TrainConfig()
        c.recipe = .fastai
        c.wd = wd
        try model.apply(to: &c)
        return c
    }

    func validate() throws {
        guard startLR.isFinite, endLR.isFinite, startLR > 0, endLR > startLR else {
            throw ValidationError("--start-lr and --end-lr need 0 < START < END")
        }
        guard numIt >= 6 else { throw ValidationError("--num-it must be at least 6") }
        do { try config().validate() } catch let error as EmbtoolError { throw ValidationError(cliMessage(error)) }
    }

    func run() throws {
        let splitter = try heldOut.resolved()
        let config = try config()
        let ratings = try data.load()
        let train = splitter == .none ? ratings : splitter.apply(ratings).train
        note("sweeping the learning rate from \(startLR) to \(endLR) over \(numIt) mini-batches of \(model.batchSize) from \(train.count) ratings of \(ratings.name) (\(splitter.name))")
        let started = DispatchTime.now().uptimeNanoseconds
        let result = try finder().run(train, config: config)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        if let svg { try writeOutput(chart(result, dataset: ratings.name, split: splitter), to: svg) }
        let s = result.suggestions
        if json {
            func point(_ x: LRSuggestions.Suggestion) -> LRFindReport.Point { .init(lr: x.lr, pointLR: x.point.lr, pointLoss: x.point.loss) }
            try printJSON(LRFindReport(valley: point(s.valley), minimum: point(s.minimum), steep: point(s.steep),
                                       lrs: result.lrs, losses: result.losses, batches: result.lrs.count, diverged: result.diverged,
                                       seconds: seconds, split: splitter.name, trainRatings: train.count))
        } else {
            print(String(format: "valley   %.3g  (loss %.4f)", s.valley.lr, s.valley.point.loss))
            print(String(format: "minimum  %.3g  (a tenth of %.3g, where the loss is lowest: %.4f)", s.minimum.lr, s.minimum.point.lr, s.minimum.point.loss))
            print(String(format: "steep    %.3g  (loss %.4f)", s.steep.lr, s.steep.point.loss))
            print(String(format: "%d mini-batches, learning rate %.3g to %.3g%@, in %.2f s", result.lrs.count, result.lrs.first ?? 0,
                         result.lrs.last ?? 0, result.diverged ? "; stopped when the loss passed 4x its minimum" : "", seconds))
            fflush(stdout)
        }
    }

    /// fastai's `plot_lr_find`: the smoothed loss against a log learning-rate
    /// axis without the last 5 points, the suggestions marked on the curve.
    func chart(_ r: LRFinder.Result, dataset: String, split: Split) -> String {
        let shown = max(1, r.lrs.count - 5)
        let points = (0..<shown).map { (x: r.lrs[$0], y: r.losses[$0]) }
        var chart = LineChart(title: "Learning-rate finder", xTitle: "learning rate (log scale)", yTitle: "smoothed training loss (MSE)",
                              series: [LineChart.Series(name: "loss", points: points, dots: false)])
        chart.logX = true
        chart.subtitle = "\(dataset), split \(split.name), \(r.lrs.count) mini-batches"
        let s = r.suggestions
        chart.marks = [("valley", s.valley), ("minimum", s.minimum), ("steep", s.steep)].map { name, x in
            LineChart.Mark(x: x.point.lr, y: x.point.loss, label: String(format: "%@ %.2g", name, x.lr))
        }
        return chart.render()
    }
}

/// The `--json` document of `embtool lr-find`.
struct LRFindReport: Encodable {
    /// A suggested learning rate and the point of the curve it marks
    /// (for `minimum`, the point of the lowest loss, ten times the suggestion).
    struct Point: Encodable {
        var lr: Double
        var pointLR: Double
        var pointLoss: Double
    }
    var valley: Point, minimum: Point, steep: Point
    /// The curve: the learning rate and the smoothed loss after each mini-batch.
    var lrs: [Double], losses: [Double]
    var batches: Int
    /// True when the sweep stopped because the loss passed 4x its minimum.
    var diverged: Bool
    var seconds: Double
    var split: String
    var trainRatings: Int
}
