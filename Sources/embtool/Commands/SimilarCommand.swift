import ArgumentParser
import EmbeddingKit
import Foundation

struct SimilarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "similar",
        abstract: "Find the items closest to one item, or every item's nearest neighbours.",
        discussion: """
        Closeness is measured between the items' learned vectors (fastbook: "the movie most \
        similar to Silence of the Lambs"). Cosine similarity compares directions only; \
        euclidean and dot also see a vector's length, which grows with popularity.

        QUERY resolves forgivingly, stopping at the first rule that matches: the exact \
        label; the label ignoring case; the title ignoring case, accents, punctuation, \
        the year and a leading or trailing article ("Star Wars" finds "Star Wars (1977)", \
        "empire strikes back" finds "Empire Strikes Back, The (1980)"); then a unique \
        title that starts with, then one that contains, the query. A query that matches \
        several items fails (exit 64) listing them; one that matches none fails (exit 65) \
        suggesting the nearest titles by edit distance.

        Rating counts come from the model file (the ratings it was trained on), or from \
        --data when given; no ratings are read otherwise, so an answer takes milliseconds. \
        Neighbours need at least 20 ratings unless --min-ratings says otherwise: a vector \
        learned from a handful of ratings is close to items by chance (--min-ratings 0 \
        lists every item). Models without counts list every item, and say so.

        --stability (models trained with --recipe best --keep-samples N) adds, per \
        neighbour, the share of the stored posterior samples of the item vectors in which \
        it is still among the top --top: how much of the list the data pins down.

        Examples:
          embtool similar "Star Wars"
          embtool similar "Star Wars" --stability --model models/best.safetensors
          embtool similar "Silence of the Lambs" --top 5 --min-ratings 50 --json
          embtool similar --all --top 10 --csv exports/neighbours.csv
        """)

    @Argument(help: ArgumentHelp("The item to start from: a title or key (see above).", valueName: "query"))
    var query: String?

    @Option(help: ArgumentHelp("How many neighbours to list (per item with --all).", valueName: "n"))
    var top = 10

    @Option(help: ArgumentHelp("cosine (direction only), euclidean (distance, listed as −distance in 'similarity'), or dot.", valueName: "metric"))
    var metric: SimilarityMetric = .cosine

    @Option(help: ArgumentHelp("Only list neighbours with at least this many ratings (0: all). Default 20 when the model has rating counts.", valueName: "n"))
    var minRatings: Int?

    @Flag(help: "Find the neighbours of every item (blocked SGEMM on both cores); needs --csv.")
    var all = false

    @Option(help: ArgumentHelp("Also write the neighbours as CSV to this path (as given; folders are created).", valueName: "file"))
    var csv: String?

    @Flag(help: "Print one JSON object on stdout instead of a table.")
    var json = false

    @Flag(help: "Add each neighbour's share of posterior samples in which it stays in the top --top (needs train --recipe best --keep-samples N).")
    var stability = false

    @Option(help: ArgumentHelp("With --stability: use the first n stored posterior samples (default: all).", valueName: "n"))
    var samples: Int?

    @Flag(help: "Print how long each phase took on stderr (load, then resolve and query, or index and all-neighbours).")
    var timing = false

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var data: DataOptions

    func validate() throws {
        if all && query != nil { throw ValidationError("give a QUERY or --all, not both") }
        if !all && query == nil { throw ValidationError("give the item to start from, e.g. embtool similar \"Star Wars\" (or --all)") }
        if all && csv == nil { throw ValidationError("--all lists every item's neighbours: give --csv FILE to write them to") }
        if top < 1 { throw ValidationError("--top must be at least 1") }
        if let minRatings, minRatings < 0 { throw ValidationError("--min-ratings cannot be negative") }
        if stability && all { throw ValidationError("--stability works on one QUERY's list, not with --all") }
        if samples != nil && !stability { throw ValidationError("--samples goes with --stability") }
        if let samples, samples < 1 { throw ValidationError("--samples must be at least 1") }
    }

    /// The stored posterior samples of the item factors `--stability` uses.
    func posteriorSamples(_ model: FactorModel) throws -> [Matrix] {
        guard let posterior = model.posterior, posterior.sampleCount > 0 else {
            let why = model.posterior == nil ? "the model has no posterior (it was not sampled)" : "the model stores no posterior samples"
            throw EmbtoolError.usage("--stability: \(why); train one with embtool train --recipe best --keep-samples 20")
        }
        let n = min(samples ?? posterior.sampleCount, posterior.sampleCount)
        return (0..<n).map { posterior.itemSample($0, items: model.itemCount, factors: model.factors) }
    }

    func run() throws {
        var clock = Stopwatch(enabled: timing)
        let model = try modelOptions.load(data: data, users: false, genres: false)
        let ratings = data.data != nil ? try companionRatings(for: model, data: data, purpose: "counts are") : nil
        let catalog = try Catalog(model: model, ratings: ratings)
        clock.lap("load")
        let floor = try RatingFloor.resolve(minRatings, catalog)
        let candidates = try catalog.rows(minRatings: floor.minRatings)
        if all {
            let index = SimilarityIndex(table: model.itemFactors, candidates: candidates, metric: metric)
            clock.lap("index")
            try runAll(index: index, catalog: catalog, floor: floor, clock: &clock)
        } else {
            try runOne(model, candidates: candidates, catalog: catalog, floor: floor, clock: &clock)
        }
        clock.report()
    }

    func runOne(_ model: FactorModel, candidates: [Int], catalog: Catalog, floor: RatingFloor, clock: inout Stopwatch) throws {
        let draws = stability ? try posteriorSamples(model) : []
        let resolver = TitleResolver(labels: catalog.labels, rows: Array(catalog.rows), popularity: catalog.counts)
        let row = try resolver.row(for: query!)
        clock.lap("resolve")
        let neighbours = SimilarityScan.neighbours(of: row, in: model.itemFactors, candidates: candidates, metric: metric, top: top)
        clock.lap("query")
        let shares: [Double]? = stability
            ? NeighbourStability.shares(of: neighbours.map(\.row), query: row, samples: draws, candidates: candidates,
                                        metric: metric, top: top)
            : nil
        if stability { clock.lap("stability") }
        let label = catalog.labels[row]

        if let csv {
            var table = CSVTable(header: ["rank", "label", "similarity", "count"] + (metric == .euclidean ? ["distance"] : [])
                                 + (shares != nil ? ["stability"] : []))
            for (r, n) in neighbours.enumerated() {
                table.appendRow([String(r + 1), catalog.labels[n.row], CSVTable.number(n.score), catalog.count(n.row).map(String.init) ?? ""]
                                + (metric == .euclidean ? [CSVTable.number(-n.score)] : [])
                                + (shares.map { [CSVTable.number(Float($0[r]))] } ?? []))
            }
            try writeOutput(table.bytes, to: csv)
        }
        if json {
            try printJSON(SimilarJSON(query: label, count: catalog.count(row), metric: metric.rawValue,
                                      minRatings: floor.minRatings, minRatingsSource: floor.source.rawValue,
                                      samples: shares != nil ? draws.count : nil,
                                      neighbours: neighbours.enumerated().map { r, n in
                                          NeighbourJSON(label: catalog.labels[n.row], similarity: n.score, count: catalog.count(n.row),
                                                        distance: metric == .euclidean ? -n.score : nil, stability: shares?[r])
                                      }))
            return
        }
        let what = metric == .euclidean ? "by euclidean distance" : metric == .cosine ? "by cosine similarity" : "by dot product"
        let countNote = catalog.count(row).map { ", \($0) ratings" } ?? ""
        print("Closest to \(TerminalText.escape(label))\(countNote), \(what):")
        print(floor.sentence)
        if shares != nil {
            print("Stable: the share of \(draws.count) posterior samples in which the neighbour stays in the top \(top).")
        }
        var table = TextTable(["#", metric == .euclidean ? "distance" : "similarity"] + (shares != nil ? ["stable"] : []) + ["ratings", "title"],
                              alignments: [.right, .right] + (shares != nil ? [.right] : []) + [.right, .left])
        for (r, n) in neighbours.enumerated() {
            table.append([String(r + 1), fixed(metric == .euclidean ? -n.score : n.score)]
                         + (shares.map { [String(format: "%.0f%%", 100 * $0[r])] } ?? [])
                         + [catalog.count(n.row).map(String.init) ?? "–", catalog.labels[n.row]])
        }
        print(table.render())
    }

    func runAll(index: SimilarityIndex, catalog: Catalog, floor: RatingFloor, clock: inout Stopwatch) throws {
        let result = index.allNeighbours(top: top, threads: ProcessInfo.processInfo.activeProcessorCount)
        clock.lap("all-neighbours")
        var table = CSVTable(header: ["label", "rank", "neighbour", "similarity", "neighbour_count"])
        for (q, row) in result.queries.enumerated() {
            for (r, n) in result.neighbours(ofPosition: q).enumerated() {
                table.appendRow([catalog.labels[row], String(r + 1), catalog.labels[n.row], CSVTable.number(n.score),
                                 catalog.count(n.row).map(String.init) ?? ""])
            }
        }
        try writeOutput(table.bytes, to: csv!)
        clock.lap("write")
        if json {
            try printJSON(AllJSON(items: result.queries.count, top: result.top, metric: metric.rawValue,
                                  minRatings: floor.minRatings, minRatingsSource: floor.source.rawValue, csv: csv!))
        } else {
            print("\(result.queries.count) items, \(result.top) \(metric.rawValue) neighbours each, in \(csv!)")
            print(floor.sentence)
        }
    }
}

struct NeighbourJSON: Encodable {
    var label: String
    var similarity: Float
    @NullWhenAbsent var count: Int?
    /// Only with metric euclidean.
    var distance: Float?
    /// Only with --stability: the share of posterior samples keeping it in the top k.
    var stability: Double?
}

struct SimilarJSON: Encodable {
    var query: String
    @NullWhenAbsent var count: Int?
    var metric: String
    /// The floor on a neighbour's ratings, and whether it was asked for, the default, or unavailable.
    var minRatings: Int
    var minRatingsSource: String
    /// Only with --stability: the posterior samples the shares count.
    var samples: Int?
    var neighbours: [NeighbourJSON]
}

struct AllJSON: Encodable {
    var items, top: Int
    var metric: String
    var minRatings: Int
    var minRatingsSource: String
    var csv: String
}
