import ArgumentParser
import EmbeddingKit
import Foundation

struct BiasCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bias",
        abstract: "Rank items (or users) by their learned bias, beside their mean rating.",
        discussion: """
        A bias is what the model adds to every prediction for an item, whatever the user's \
        taste: fastbook reads a low bias as "people rate it low even when it suits them". \
        That is not the same as a low mean rating — a film can have a poor average because \
        only the wrong audience saw it — so each row shows the mean rating and the number \
        of ratings beside the bias (from --data, or the default dataset when the model was \
        trained on it; unknown otherwise).

        A model trained with --recipe best sampled a posterior: each bias is shown as \
        bias ± sd, its posterior standard deviation over the kept samples, and the SVG \
        draws ±1 sd error bars. Other models have no posterior and say so.

        Examples:
          embtool bias
          embtool bias --top 15 --bottom 15 --min-ratings 20 --svg exports/bias.svg --csv exports/bias.csv
          embtool bias --users --json
        """)

    @Option(help: ArgumentHelp("How many of the highest-bias rows to list.", valueName: "n"))
    var top = 10

    @Option(help: ArgumentHelp("How many of the lowest-bias rows to list.", valueName: "n"))
    var bottom = 10

    @Flag(help: "Rank users instead of items.")
    var users = false

    @Option(help: ArgumentHelp("Only rank rows with at least this many ratings (0: all).", valueName: "n"))
    var minRatings = 0

    @Option(help: ArgumentHelp("Draw both ends as horizontal bars in an SVG at this path (as given; folders are created).", valueName: "file"))
    var svg: String?

    @Option(help: ArgumentHelp("Write both ends as CSV (end, rank, label, bias, sd, mean_rating, count) to this path.", valueName: "file"))
    var csv: String?

    @Flag(help: "Print one JSON object on stdout instead of tables.")
    var json = false

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var data: DataOptions

    func validate() throws {
        if top < 0 || bottom < 0 { throw ValidationError("--top and --bottom cannot be negative") }
        if minRatings < 0 { throw ValidationError("--min-ratings cannot be negative") }
    }

    func run() throws {
        let model = try modelOptions.load(data: data, users: users, genres: false)
        let side: Side = users ? .users : .items
        guard let biases = users ? model.userBias : model.itemBias else {
            if model.source?.naming == FactorLoader.embeddingNN {
                throw EmbtoolError.data("\(modelOptions.model ?? "the model") is fastai's EmbeddingNN, which has no biases: its network "
                    + "takes the user and item embeddings, nothing is added per \(users ? "user" : "item"); bias ranks a dot model's (train --arch dot)")
            }
            throw EmbtoolError.data("the model has no \(users ? "user" : "item") biases (only factors were loaded)")
        }
        let ratings = try companionRatings(for: model, data: data, purpose: "mean ratings are")
        let catalog = try Catalog(model: model, side: side, ratings: ratings)
        let rows = try catalog.rows(minRatings: minRatings)
        let sds = users ? model.posterior?.userBiasSD : model.posterior?.itemBiasSD
        let (lowest, highest) = BiasRanking.rank(biases: biases, sds: sds, catalog: catalog, rows: rows, bottom: bottom, top: top)
        let noun = users ? "users" : "items"
        let scope = minRatings > 0 ? "\(rows.count) \(noun) with at least \(minRatings) ratings" : "all \(rows.count) \(noun)"

        if let csv {
            var table = CSVTable(header: ["end", "rank", "label", "bias", "sd", "mean_rating", "count"])
            for (end, entries) in [("lowest", lowest), ("highest", highest)] {
                for (r, e) in entries.enumerated() {
                    table.appendRow([end, String(r + 1), e.label, CSVTable.number(e.bias), CSVTable.number(e.sd),
                                     CSVTable.number(e.meanRating), e.count.map(String.init) ?? ""])
                }
            }
            try writeOutput(table.bytes, to: csv)
        }
        if let svg {
            try writeOutput(chart(lowest: lowest, highest: highest, scope: scope, dataset: model.meta.dataset), to: svg)
        }
        if json {
            try printJSON(BiasJSON(side: side.rawValue, ranked: rows.count, posterior: sds != nil,
                                   lowest: lowest.map(BiasJSON.Row.init), highest: highest.map(BiasJSON.Row.init)))
            return
        }
        if sds == nil { print(Self.noPosterior) }
        for (title, entries) in [("Lowest bias", lowest), ("Highest bias", highest)] where !entries.isEmpty {
            print("\(title) (\(scope)):")
            var table = TextTable(["#", sds == nil ? "bias" : "bias ± sd", "mean rating", "ratings", users ? "user" : "title"],
                                  alignments: [.right, .right, .right, .right, .left])
            for (r, e) in entries.enumerated() {
                let bias = fixed(e.bias) + (e.sd.map { " ± " + fixed($0) } ?? "")
                table.append([String(r + 1), bias, fixed(e.meanRating, 2), e.count.map(String.init) ?? "–", e.label])
            }
            print(table.render())
            if title == "Lowest bias" && !highest.isEmpty { print("") }
        }
    }

    /// The one line a model without a posterior prints instead of ± sd.
    static let noPosterior = "No posterior sd: this model was not sampled (embtool train --recipe best gives bias ± sd)."

    func chart(lowest: [BiasEntry], highest: [BiasEntry], scope: String, dataset: String) -> String {
        func bar(_ e: BiasEntry) -> BarChart.Bar {
            let mean = e.meanRating.map { "mean \(fixed($0, 2))" } ?? "mean –"
            let count = e.count.map { " · \($0) ratings" } ?? ""
            let sd = e.sd.map { " ± \(fixed($0))" } ?? ""
            return BarChart.Bar(label: e.label, value: Double(e.bias), note: mean + count,
                                tooltip: "\(e.label): bias \(fixed(e.bias))\(sd), \(mean)\(count)", error: e.sd.map(Double.init))
        }
        let posterior = (lowest + highest).contains { $0.sd != nil }
        let noun = users ? "users" : "items"
        var chart = BarChart(title: "The \(noun) the model rates lowest and highest, whoever \(users ? "they rate" : "rates them")",
                             valueTitle: "learned bias (added to every prediction before the sigmoid)",
                             sections: [BarChart.Section(title: "Lowest bias", bars: lowest.map(bar), color: 4),
                                        BarChart.Section(title: "Highest bias", bars: highest.map(bar), color: 0)])
        chart.subtitle = "\(dataset.isEmpty ? "model" : dataset): \(scope); mean rating and count from the ratings, beside each bar"
            + (posterior ? "; error bars ±1 posterior sd" : "")
        chart.noteTitle = "raw ratings"
        return chart.render()
    }
}

struct BiasJSON: Encodable {
    struct Row: Encodable {
        var label: String
        var bias: Float
        /// Posterior standard deviation of the bias; null without a posterior.
        @NullWhenAbsent var sd: Float?
        @NullWhenAbsent var meanRating: Float?
        @NullWhenAbsent var count: Int?
        init(_ e: BiasEntry) {
            label = e.label; bias = e.bias; sd = e.sd; meanRating = e.meanRating; count = e.count
        }
    }
    var side: String
    var ranked: Int
    /// Whether the model carries posterior standard deviations (recipe best).
    var posterior: Bool
    var lowest: [Row]
    var highest: [Row]
}
