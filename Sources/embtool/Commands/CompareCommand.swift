import ArgumentParser
import EmbeddingKit
import Foundation

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two models of the same items: alignment, neighbour overlap, biases, PCA axes.",
        discussion: """
        --model and --with are read as every command reads --model (any format; --data, \
        --vocab and the other loader options apply to both) and their items are matched by \
        key (title or id). B is rotated onto A by \
        orthogonal Procrustes (R = U·Vᵀ from the SVD of BᵀA, LAPACK), neither centred nor \
        scaled: rotations about the origin are what leave a dot-product model's predictions \
        and its cosine neighbours unchanged. Models of different ranks are compared after \
        padding the narrower with zero columns.

        Reported: the items compared; the residual ‖A − BR‖/‖A‖ (0: B is a rotated A); per \
        item, the Jaccard overlap of the two cosine top-k neighbour sets, each taken in its \
        own model's space; its mean and distribution; Spearman's ρ of the item biases; |cos| \
        between matching principal axes of A and BR; and the items whose neighbourhoods \
        changed most.

        Examples:
          embtool compare --model seed1.safetensors --with seed2.safetensors
          embtool compare --model ours.safetensors --with learn.pth --data ~/ml-100k --min-ratings 20 --json
          embtool compare --model a.safetensors --with b.safetensors --csv items.csv --svg overlap.svg
        """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .customLong("with"), help: ArgumentHelp("The second model (B), in any format --model reads.", valueName: "path"))
    var other: String

    @OptionGroup var data: DataOptions

    @Option(help: ArgumentHelp("Neighbours per item for the overlap.", valueName: "k"))
    var top = 10

    @Option(help: ArgumentHelp("Only compare items with at least this many ratings (0: all).", valueName: "n"))
    var minRatings = 0

    @Option(help: ArgumentHelp("Principal axes whose agreement is reported.", valueName: "n"))
    var components = 3

    @Option(help: ArgumentHelp("How many of the most changed items to list.", valueName: "n"))
    var show = 10

    @Option(help: ArgumentHelp("Write one row per item (label,count,overlap,shared,residual,bias_model,bias_with) to this CSV.", valueName: "file"))
    var csv: String?

    @Option(help: ArgumentHelp("Draw the overlap histogram as an SVG at this path.", valueName: "file"))
    var svg: String?

    @Flag(help: "Print one JSON object on stdout instead of the report.")
    var json = false

    func validate() throws {
        if top < 1 { throw ValidationError("--top must be at least 1") }
        if minRatings < 0 { throw ValidationError("--min-ratings cannot be negative") }
        if components < 0 { throw ValidationError("--components cannot be negative") }
        if show < 0 { throw ValidationError("--show cannot be negative") }
    }

    func run() throws {
        let a = try modelOptions.load(data: data)
        let b = try modelOptions.loader.load(path: other, data: data)
        let ratings = data.data != nil ? try companionRatings(for: a, data: data, purpose: "counts are") : nil
        let catalog = try Catalog(model: a, ratings: ratings)
        let counts = catalog.counts ?? countsFromB(a, b)
        // Without counts on either side, Catalog says a minimum needs them.
        let rows = try counts.map { c in catalog.rows.filter { c[$0] >= minRatings } } ?? catalog.rows(minRatings: minRatings)
        let comparison = try ModelComparison(a, b, rowsA: rows, top: top, components: components, progress: note)
        let changed = comparison.mostChanged(show, counts: counts)
        let nameA = modelOptions.model ?? EmbtoolHome.modelPath(dataset: "ml-100k")
        let label = { (position: Int) in catalog.labels[comparison.items[position].rowA] }
        let count = { (position: Int) in counts?[comparison.items[position].rowA] }

        if let csv { try writeOutput(itemsCSV(comparison, a, b, label: label, count: count), to: csv) }
        if let svg { try writeOutput(histogramSVG(comparison, nameA: nameA), to: svg) }
        if json {
            let report = CompareReport(
                model: nameA, with: other, itemsCompared: comparison.items.count, factorsModel: comparison.factorsA,
                factorsWith: comparison.factorsB, top: comparison.top, minRatings: minRatings,
                procrustesResidual: comparison.procrustesResidual, neighbourOverlapMean: comparison.overlapMean,
                neighbourOverlapMedian: comparison.overlapMedian,
                overlapHistogram: comparison.histogram.map { .init(shared: $0.shared, jaccard: $0.jaccard, items: $0.items) },
                biasSpearman: comparison.biasSpearman.flatMap { $0.isFinite ? $0 : nil },
                pcaAgreement: comparison.axisAgreement.enumerated().map { .init(component: $0.offset + 1, absCosine: $0.element) },
                mostChanged: changed.map { p in
                    let item = comparison.items[p]
                    return .init(label: label(p), count: count(p), overlap: item.overlap, shared: item.shared,
                                 onlyInModel: item.onlyInA.map(label), onlyInWith: item.onlyInB.map(label))
                })
            return try printJSON(report)
        }
        printReport(comparison, changed: changed, nameA: nameA, label: label, count: count)
    }

    /// A's item counts taken from B by key, when A has none and B has.
    func countsFromB(_ a: FactorModel, _ b: FactorModel) -> [Int]? {
        guard b.meta.itemCounts.count == b.itemCount else { return nil }
        let rowB = KeyAlignment(data: a.meta.itemKeys, model: b.meta.itemKeys, modelRows: b.itemCount).modelRow
        guard rowB.count == a.itemCount else { return nil }
        return rowB.map { $0 >= 0 ? b.meta.itemCounts[$0] : 0 }
    }

    func printReport(_ c: ModelComparison, changed: [Int], nameA: String, label: (Int) -> String, count: (Int) -> Int?) {
        print("Compared \(c.items.count) items of \(nameA) (\(c.factorsA) factors) and \(other) (\(c.factorsB) factors)\(minRatings > 0 ? " with at least \(minRatings) ratings" : "").")
        print(String(format: "Procrustes residual ‖A − BR‖/‖A‖: %.4f (B rotated onto A; not centred, not scaled)", c.procrustesResidual))
        print(String(format: "Neighbour overlap@%d (Jaccard of the cosine top-%d sets): mean %.3f, median %.3f", c.top, c.top, c.overlapMean, c.overlapMedian))
        var histogram = TextTable(["shared", "Jaccard", "items", ""], alignments: [.right, .right, .right, .left])
        let largest = max(1, c.histogram.map(\.items).max() ?? 1)
        for bucket in c.histogram.reversed() {
            histogram.append(["\(bucket.shared) of \(c.top)", String(format: "%.3f", bucket.jaccard), String(bucket.items),
                              String(repeating: "█", count: (bucket.items * 30 + largest - 1) / largest)])
        }
        print(histogram.render())
        if let rho = c.biasSpearman {
            print(String(format: "Item biases, Spearman's ρ: %.4f", rho))
        } else {
            print("Item biases: not compared (a model has none)")
        }
        if !c.axisAgreement.isEmpty {
            print("PCA axes, |cos| of matching components after alignment: "
                  + c.axisAgreement.enumerated().map { String(format: "PC%d %.3f", $0.offset + 1, $0.element) }.joined(separator: ", "))
        }
        guard !changed.isEmpty else { return }
        print("Neighbourhoods that changed most (lowest overlap; ties: most rated first):")
        var table = TextTable(["#", "overlap", "ratings", "title", "only in A's top \(c.top)", "only in B's"],
                              alignments: [.right, .right, .right, .left, .left, .left])
        for (r, p) in changed.enumerated() {
            let item = c.items[p]
            table.append([String(r + 1), String(format: "%.3f", item.overlap), count(p).map(String.init) ?? "–", label(p),
                          item.onlyInA.prefix(2).map(label).joined(separator: "; "), item.onlyInB.prefix(2).map(label).joined(separator: "; ")])
        }
        print(table.render())
    }

    func itemsCSV(_ c: ModelComparison, _ a: FactorModel, _ b: FactorModel, label: (Int) -> String, count: (Int) -> Int?) -> [UInt8] {
        var table = CSVTable(header: ["label", "count", "overlap", "shared", "residual", "bias_model", "bias_with"])
        for (p, item) in c.items.enumerated() {
            table.appendRow([label(p), count(p).map(String.init) ?? "", CSVTable.number(Float(item.overlap)), String(item.shared),
                             CSVTable.number(Float(item.residual)), a.itemBias.map { CSVTable.number($0[item.rowA]) } ?? "",
                             b.itemBias.map { CSVTable.number($0[item.rowB]) } ?? ""])
        }
        return table.bytes
    }

    /// The overlap's distribution as bars: items per number of shared neighbours.
    func histogramSVG(_ c: ModelComparison, nameA: String) -> String {
        let total = max(1, c.items.count)
        let bars = c.histogram.reversed().map { bucket in
            BarChart.Bar(label: "\(bucket.shared) of \(c.top) shared (Jaccard \(String(format: "%.2f", bucket.jaccard)))",
                         value: Double(bucket.items),
                         note: String(format: "%.1f %%", 100 * Double(bucket.items) / Double(total)),
                         tooltip: "\(bucket.items) items share \(bucket.shared) of their \(c.top) nearest neighbours")
        }
        var chart = BarChart(title: "Neighbour overlap@\(c.top) between two models", valueTitle: "items",
                             sections: [.init(title: "items by shared neighbours", bars: bars, color: 0)])
        chart.subtitle = String(format: "%@ vs %@: %d items%@, mean Jaccard %.3f, Procrustes residual %.4f",
                                (nameA as NSString).lastPathComponent, (other as NSString).lastPathComponent, c.items.count,
                                minRatings > 0 ? " with ≥ \(minRatings) ratings" : "", c.overlapMean, c.procrustesResidual)
        chart.noteTitle = "share"
        chart.valueFormat = "%.0f"
        return chart.render()
    }
}

/// The `--json` document of `embtool compare`.
struct CompareReport: Encodable {
    struct Bucket: Encodable { var shared: Int, jaccard: Double, items: Int }
    struct Axis: Encodable { var component: Int, absCosine: Double }
    struct Changed: Encodable {
        var label: String
        @NullWhenAbsent var count: Int?
        var overlap: Double
        var shared: Int
        var onlyInModel, onlyInWith: [String]
    }
    var model, with: String
    var itemsCompared, factorsModel, factorsWith: Int
    var top, minRatings: Int
    var procrustesResidual: Double
    var neighbourOverlapMean, neighbourOverlapMedian: Double
    var overlapHistogram: [Bucket]
    /// Null unless both models have item biases.
    @NullWhenAbsent var biasSpearman: Double?
    var pcaAgreement: [Axis]
    var mostChanged: [Changed]
}
