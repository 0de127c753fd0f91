import ArgumentParser
import EmbeddingKit
import Foundation

struct PCACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pca",
        abstract: "Map items onto their principal components, with the items that define each axis.",
        discussion: """
        fastbook's picture of the movie vectors: take the most-rated items, centre their \
        vectors, and project them onto the directions of greatest variance: the SVD of the \
        centred matrix (a tall-skinny QR, then LAPACK's sgesdd of the small triangle). For \
        each component the items at its two ends show \
        what the axis means. Signs follow a fixed rule — each component's largest-magnitude \
        loading is positive, as in scikit-learn — so runs agree.

        --svg draws the scatter of components --x and --y: every chosen item is a point with \
        a tooltip, the --labels most-rated are labelled without overlaps, and --color genre \
        colours points by their first listed genre (--color genre:Horror highlights one).

        Examples:
          embtool pca
          embtool pca --svg exports/pca.svg --csv exports/pca.csv
          embtool pca --components 5 --x 1 --y 3 --color genre --svg pca-1-3.svg
        """)

    @Option(help: ArgumentHelp("How many principal components to compute and report.", valueName: "k"))
    var components = 3

    @Option(help: ArgumentHelp("Analyse the n most-rated items (ties by title). Default 1000.", valueName: "n"))
    var mostRated: Int?

    @Flag(help: "Analyse every item instead of the most-rated.")
    var all = false

    @Option(name: .customLong("x"), help: ArgumentHelp("Component on the picture's horizontal axis.", valueName: "k"))
    var xComponent = 1

    @Option(name: .customLong("y"), help: ArgumentHelp("Component on the picture's vertical axis.", valueName: "k"))
    var yComponent = 2

    @Option(help: ArgumentHelp("How many of the most-rated items to label in the picture.", valueName: "n"))
    var labels = 50

    @Option(help: ArgumentHelp("Colour points by 'genre' (first listed genre), or 'genre:NAME' to highlight one genre.", valueName: "scheme"))
    var color: String?

    @Option(help: ArgumentHelp("How many items to show at each end of each component.", valueName: "n"))
    var ends = 5

    @Option(help: ArgumentHelp("Write the scatter as SVG to this path (as given; folders are created).", valueName: "file"))
    var svg: String?

    @Option(help: ArgumentHelp("Write label, count and every component per item as CSV to this path.", valueName: "file"))
    var csv: String?

    @Flag(help: "Print one JSON object on stdout instead of text.")
    var json = false

    @Flag(help: "Print how long each phase took on stderr.")
    var timing = false

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var data: DataOptions

    static let defaultMostRated = 1000

    func validate() throws {
        if components < 1 { throw ValidationError("--components must be at least 1") }
        if all && mostRated != nil { throw ValidationError("give --most-rated N or --all, not both") }
        if let n = mostRated, n < 2 { throw ValidationError("--most-rated needs at least 2 items") }
        // The picture's axes matter only when there is a picture.
        if svg != nil {
            for (name, k) in [("--x", xComponent), ("--y", yComponent)] where !(1...components).contains(k) {
                throw ValidationError("\(name) \(k) is not one of the \(components) components computed (raise --components)")
            }
            if xComponent == yComponent { throw ValidationError("--x and --y must be different components") }
        }
        if labels < 0 { throw ValidationError("--labels cannot be negative") }
        if ends < 0 { throw ValidationError("--ends cannot be negative") }
        if let color, color != "genre", !color.hasPrefix("genre:") {
            throw ValidationError("--color takes 'genre' or 'genre:NAME', not '\(color)'")
        }
    }

    func run() throws {
        var clock = Stopwatch(enabled: timing)
        let model = try modelOptions.load(data: data)
        var ratings: Ratings? = nil
        if data.data != nil || (color != nil && model.meta.itemGenres.isEmpty) || (model.meta.itemCounts.isEmpty && !all) {
            ratings = try companionRatings(for: model, data: data, purpose: "counts and genres are")
        }
        let catalog = try Catalog(model: model, ratings: ratings)
        clock.lap("load")

        let k = model.factors
        guard components <= k else {
            throw EmbtoolError.usage("--components \(components) is more than the model's \(k) factors")
        }
        let rows: [Int]
        let selection: String
        if all {
            rows = Array(catalog.rows)
            selection = "all \(rows.count) items"
        } else if catalog.counts == nil {
            if mostRated != nil { throw EmbtoolError.usage("--most-rated needs rating counts: the model has none; pass --data or use --all") }
            note("note: the model has no rating counts; analysing all items (pass --data to pick the most-rated)")
            rows = Array(catalog.rows)
            selection = "all \(rows.count) items"
        } else {
            let n = mostRated ?? PCACommand.defaultMostRated
            rows = catalog.mostRated(n)
            selection = rows.count < n ? "all \(rows.count) items" : "the \(n) most-rated of \(catalog.rows.count) items"
        }
        guard rows.count > components else {
            throw EmbtoolError.usage("\(components) components need more than \(components) items; \(rows.count) chosen")
        }
        clock.lap("select")
        // All items are a contiguous run of rows: fit them in place.
        let contiguous = rows.count > 1 && rows.last! - rows.first! + 1 == rows.count && rows == Array(rows.first!...rows.last!)
        let (pca, scores) = contiguous
            ? try PCA.fit(model.itemFactors, rows: rows.first!..<(rows.last! + 1), components: components)
            : try PCA.fit(model.itemFactors.gathering(rows), components: components)
        clock.lap("pca")

        let ends = (0..<components).map { PCA.ends(scores, component: $0, count: self.ends) }
        if let csv { try writeOutput(csvTable(rows, scores, catalog).bytes, to: csv) }
        if let svg { try writeOutput(try scatter(rows, scores, pca, catalog, selection: selection, dataset: model.meta.dataset), to: svg) }
        clock.lap("write")

        if json {
            try printJSON(PCAJSON(
                selection: selection, items: rows.count, factors: k,
                explained_variance_ratio: pca.explainedVarianceRatio,
                components: ends.enumerated().map { j, e in
                    PCAJSON.Component(component: j + 1, explained_variance_ratio: pca.explainedVarianceRatio[j],
                                      low: e.low.map { .init(label: catalog.labels[rows[$0]], score: scores[$0, j]) },
                                      high: e.high.map { .init(label: catalog.labels[rows[$0]], score: scores[$0, j]) })
                },
                points: rows.enumerated().map { p, row in
                    PCAJSON.Point(label: catalog.labels[row], count: catalog.count(row), pc: (0..<components).map { scores[p, $0] })
                }))
        } else {
            printText(rows, scores, pca, catalog, ends: ends, selection: selection, factors: k)
        }
        clock.report()
    }

    func printText(_ rows: [Int], _ scores: Matrix, _ pca: PCA, _ catalog: Catalog, ends: [(low: [Int], high: [Int])], selection: String, factors: Int) {
        print("PCA of \(selection) (\(factors) factors).")
        for j in 0..<pca.componentCount {
            print("\nPC\(j + 1): \(percent(pca.explainedVarianceRatio[j])) of variance")
            var table = TextTable(["#", "low end", "score", "high end", "score"], alignments: [.right, .left, .right, .left, .right])
            for r in 0..<max(ends[j].low.count, ends[j].high.count) {
                let lo = ends[j].low[r], hi = ends[j].high[r]
                table.append([String(r + 1), short(catalog.labels[rows[lo]]), fixed(scores[lo, j], 2), short(catalog.labels[rows[hi]]), fixed(scores[hi, j], 2)])
            }
            print(table.render())
        }
        let total = pca.explainedVarianceRatio.reduce(0, +)
        let these = pca.componentCount == 1 ? "The first component explains" : "The \(pca.componentCount) components explain"
        print("\n\(these) \(percent(total)) of the variance.")
    }

    func csvTable(_ rows: [Int], _ scores: Matrix, _ catalog: Catalog) -> CSVTable {
        var table = CSVTable(header: ["label", "count"] + (1...components).map { "pc\($0)" })
        for (p, row) in rows.enumerated() {
            table.appendRow([catalog.labels[row], catalog.count(row).map(String.init) ?? ""] + (0..<components).map { CSVTable.number(scores[p, $0]) })
        }
        return table
    }

    /// Groups for `--color`: the first listed genre of each item, the nine
    /// most frequent coloured and the rest "other"; or one genre against the rest.
    func colourGroups(_ rows: [Int], _ catalog: Catalog) throws -> (names: [String], group: [Int?]) {
        guard let color else { return ([], rows.map { _ in nil }) }
        guard let genres = catalog.genres else {
            throw EmbtoolError.usage("--color genre needs genres: neither the model nor the data has any (pass --data with an item file)")
        }
        if color.hasPrefix("genre:") {
            let wanted = String(color.dropFirst(6))
            let known = Set(genres.joined())
            guard let name = known.first(where: { $0.lowercased() == wanted.lowercased() }) else {
                throw EmbtoolError.usage("no genre '\(wanted)'; genres are \(known.sorted().joined(separator: ", "))")
            }
            return ([name], rows.map { genres[$0].contains(name) ? 0 : nil })
        }
        let first = rows.map { genres[$0].first }
        var frequency: [String: Int] = [:]
        for g in first.compactMap({ $0 }) { frequency[g, default: 0] += 1 }
        let names = frequency.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(9).map(\.key)
        return (names, first.map { g in g.flatMap { names.firstIndex(of: $0) } })
    }

    func scatter(_ rows: [Int], _ scores: Matrix, _ pca: PCA, _ catalog: Catalog, selection: String, dataset: String) throws -> String {
        let (gx, gy) = (xComponent - 1, yComponent - 1)
        let (groupNames, group) = try colourGroups(rows, catalog)
        let points = rows.enumerated().map { p, row -> ScatterPlot.Point in
            let count = catalog.count(row).map { " · \($0) ratings" } ?? ""
            let tip = "\(catalog.labels[row])\(count) · PC\(xComponent) \(fixed(scores[p, gx], 3)), PC\(yComponent) \(fixed(scores[p, gy], 3))"
            return ScatterPlot.Point(x: Double(scores[p, gx]), y: Double(scores[p, gy]), group: group[p], label: catalog.labels[row], tooltip: tip)
        }
        // The chosen rows are already most-rated first; label the top of that order.
        let labelled = Array(0..<min(labels, rows.count))
        var plot = ScatterPlot(title: "Items on principal components \(xComponent) and \(yComponent) of their embeddings",
                               xTitle: "PC\(xComponent) (\(percent(pca.explainedVarianceRatio[gx])) of variance)",
                               yTitle: "PC\(yComponent) (\(percent(pca.explainedVarianceRatio[gy])) of variance)",
                               points: points)
        let labelNote = labelled.isEmpty ? "" : catalog.counts == nil ? " · \(labelled.count) labelled" : " · the \(labelled.count) most-rated labelled"
        plot.subtitle = "\(dataset.isEmpty ? "model" : dataset): \(selection)\(labelNote); hover a point for its title"
        plot.labelled = labelled
        plot.groups = groupNames
        if let color, color.hasPrefix("genre:") { plot.otherName = "other genres" }
        let rendered = plot.render()
        if !rendered.dropped.isEmpty {
            note("note: \(rendered.dropped.count) of \(labelled.count) labels found no room and were left out")
        }
        return rendered.svg
    }
}

/// A label cut to 40 characters for a terminal table (JSON and CSV keep it whole).
func short(_ label: String) -> String { label.count <= 40 ? label : label.prefix(39) + "…" }

/// "12.3 %": a ratio as a percentage with one decimal and a space.
func percent(_ ratio: Float) -> String { String(format: "%.1f %%", Double(ratio) * 100) }

struct PCAJSON: Encodable {
    struct End: Encodable { var label: String; var score: Float }
    struct Component: Encodable {
        var component: Int
        var explained_variance_ratio: Float
        var low: [End]
        var high: [End]
    }
    struct Point: Encodable {
        var label: String
        var count: Int?
        var pc: [Float]
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(label, forKey: .label)
            try c.encode(count, forKey: .count)
            try c.encode(pc, forKey: .pc)
        }
        enum CodingKeys: String, CodingKey { case label, count, pc }
    }
    var selection: String
    var items: Int
    var factors: Int
    var explained_variance_ratio: [Float]
    var components: [Component]
    var points: [Point]
}
