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

        Each axis is shown with its Pearson correlation (r, over the items shown) with \
        what is known of the items: each genre (0/1), the year in the title, \
        ln(1 + ratings), the mean rating and the learned bias; the strongest three in the \
        terminal, two on the SVG's axis titles, all in --json (components[].correlates).

        Examples:
          embtool pca
          embtool pca --svg exports/pca.svg --csv exports/pca.csv
          embtool pca --components 5 --x 1 --y 3 --color genre --svg pca-1-3.svg
        """)

    @Option(help: ArgumentHelp("How many principal components to compute and report.", valueName: "k"))
    var components = 3

    @Option(name: .customLong("x"), help: ArgumentHelp("Component on the picture's horizontal axis.", valueName: "k"))
    var xComponent = 1

    @Option(name: .customLong("y"), help: ArgumentHelp("Component on the picture's vertical axis.", valueName: "k"))
    var yComponent = 2

    @Option(help: ArgumentHelp("How many items to show at each end of each component.", valueName: "n"))
    var ends = 5

    @OptionGroup var map: MapOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var data: DataOptions

    func validate() throws {
        if components < 1 { throw ValidationError("--components must be at least 1") }
        // The picture's axes matter only when there is a picture.
        if map.svg != nil {
            for (name, k) in [("--x", xComponent), ("--y", yComponent)] where !(1...components).contains(k) {
                throw ValidationError("\(name) \(k) is not one of the \(components) components computed (raise --components)")
            }
            if xComponent == yComponent { throw ValidationError("--x and --y must be different components") }
        }
        if ends < 0 { throw ValidationError("--ends cannot be negative") }
    }

    func run() throws {
        var clock = Stopwatch(enabled: map.timing)
        let (model, catalog) = try map.loadCatalog(modelOptions, data)
        clock.lap("load")

        let k = model.factors
        guard components <= k else {
            throw EmbtoolError.usage("--components \(components) is more than the model's \(k) factors")
        }
        let chosen = try map.choose(from: catalog)
        let rows = chosen.rows
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
        let features = ItemFeatures(rows: rows, catalog: catalog, itemBias: model.itemBias)
        let correlates = (0..<components).map { j in
            AxisCorrelates.correlates(of: (0..<rows.count).map { scores[$0, j] }, with: features)
        }
        // The CSV has every component, not just the picture's two.
        if let csv = map.csv { try writeOutput(csvTable(rows, scores, catalog).bytes, to: csv) }
        if map.svg != nil {
            try map.writeSVG(try itemMap(chosen, scores, pca, catalog, model: model),
                             title: "Items on principal components \(xComponent) and \(yComponent) of their embeddings")
        }
        clock.lap("write")

        if map.json {
            try printJSON(PCAJSON(
                selection: chosen.description, items: rows.count, factors: k,
                explainedVarianceRatio: pca.explainedVarianceRatio,
                components: ends.enumerated().map { j, e in
                    PCAJSON.Component(component: j + 1, explainedVarianceRatio: pca.explainedVarianceRatio[j],
                                      correlates: correlates[j],
                                      low: e.low.map { .init(label: catalog.labels[rows[$0]], score: scores[$0, j]) },
                                      high: e.high.map { .init(label: catalog.labels[rows[$0]], score: scores[$0, j]) })
                },
                points: rows.enumerated().map { p, row in
                    PCAJSON.Point(label: catalog.labels[row], count: catalog.count(row), pc: (0..<components).map { scores[p, $0] })
                }))
        } else {
            printText(rows, scores, pca, catalog, ends: ends, correlates: correlates, selection: chosen.description, factors: k)
        }
        clock.report()
    }

    func printText(_ rows: [Int], _ scores: Matrix, _ pca: PCA, _ catalog: Catalog, ends: [(low: [Int], high: [Int])],
                   correlates: [[AxisCorrelate]], selection: String, factors: Int) {
        print("PCA of \(selection) (\(factors) factors).")
        for j in 0..<pca.componentCount {
            print("\nPC\(j + 1): \(percent(pca.explainedVarianceRatio[j])) of variance")
            printCorrelates("PC\(j + 1)", correlates[j])
            print(endsTable(ends[j], label: { catalog.labels[rows[$0]] }, score: { scores[$0, j] }))
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

    /// The picture: components --x and --y of the chosen items.
    func itemMap(_ chosen: ChosenItems, _ scores: Matrix, _ pca: PCA, _ catalog: Catalog, model: FactorModel) throws -> ItemMap {
        let (gx, gy) = (xComponent - 1, yComponent - 1)
        func axis(_ c: Int) -> ItemMap.Axis {
            ItemMap.Axis(name: "PC\(c + 1)", title: "PC\(c + 1) (\(percent(pca.explainedVarianceRatio[c])) of variance)")
        }
        return try map.itemMap("PCA", chosen, catalog,
                               x: (0..<chosen.rows.count).map { scores[$0, gx] }, y: (0..<chosen.rows.count).map { scores[$0, gy] },
                               axes: (axis(gx), axis(gy)), dataset: model.meta.dataset, itemBias: model.itemBias)
    }
}

/// The items at both ends of an axis, side by side: `#, low end, score, high end, score`.
func endsTable(_ ends: (low: [Int], high: [Int]), label: (Int) -> String, score: (Int) -> Float) -> String {
    var table = TextTable(["#", "low end", "score", "high end", "score"], alignments: [.right, .left, .right, .left, .right])
    for r in 0..<max(ends.low.count, ends.high.count) {
        let (lo, hi) = (ends.low[r], ends.high[r])
        table.append([String(r + 1), short(label(lo)), fixed(score(lo), 2), short(label(hi)), fixed(score(hi), 2)])
    }
    return table.render()
}

/// A label cut to 40 characters for a terminal table (JSON and CSV keep it whole).
func short(_ label: String) -> String { label.count <= 40 ? label : label.prefix(39) + "…" }

/// "12.3 %": a ratio as a percentage with one decimal and a space.
func percent(_ ratio: Float) -> String { String(format: "%.1f %%", Double(ratio) * 100) }

struct PCAJSON: Encodable {
    struct End: Encodable { var label: String; var score: Float }
    struct Component: Encodable {
        var component: Int
        var explainedVarianceRatio: Float
        /// Pearson r of the component's scores with each item feature, strongest first.
        var correlates: [AxisCorrelate]
        var low: [End]
        var high: [End]
    }
    struct Point: Encodable {
        var label: String
        @NullWhenAbsent var count: Int?
        var pc: [Float]
    }
    var selection: String
    var items: Int
    var factors: Int
    var explainedVarianceRatio: [Float]
    var components: [Component]
    var points: [Point]
}
