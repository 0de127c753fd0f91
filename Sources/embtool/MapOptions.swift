import ArgumentParser
import EmbeddingKit
import Foundation

/// The options every item map shares (`pca`, `umap`, `tsne`, `axes`): which
/// items, how the picture is labelled and coloured, and where it goes.
struct MapOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Map the n most-rated items (ties by title). Default 1000.", valueName: "n"))
    var mostRated: Int?

    @Flag(help: "Map every item instead of the most-rated.")
    var all = false

    @Option(help: ArgumentHelp("How many of the most-rated items to label in the picture.", valueName: "n"))
    var labels = 50

    @Option(help: ArgumentHelp("Colour points by 'genre' (first listed genre), or 'genre:NAME' to highlight one genre.", valueName: "scheme"))
    var color: String?

    @Option(help: ArgumentHelp("Write the map as an SVG scatter to this path (as given; folders are created).", valueName: "file"))
    var svg: String?

    @Option(help: ArgumentHelp("Write the map's points as CSV (label,count,x,y) to this path.", valueName: "file"))
    var csv: String?

    @Flag(help: "Print one JSON object on stdout instead of text.")
    var json = false

    @Flag(help: "Print how long each phase took on stderr.")
    var timing = false

    func validate() throws {
        if all && mostRated != nil { throw ValidationError("give --most-rated N or --all, not both") }
        if let n = mostRated, n < 2 { throw ValidationError("--most-rated needs at least 2 items") }
        if labels < 0 { throw ValidationError("--labels cannot be negative") }
        if let color, ItemColouring.Scheme(color) == nil {
            throw ValidationError("--color takes 'genre' or 'genre:NAME', not '\(color)'")
        }
    }

    var selection: ItemSelection? { all ? .all : mostRated.map(ItemSelection.mostRated) }

    /// The model and what is known of its items. Ratings are read beside the
    /// model when `--data` is given or it lacks what was asked for (counts,
    /// genres); else, silently, when the model was trained on the cached default
    /// dataset, for the axes' correlation with mean ratings.
    func loadCatalog(_ modelOptions: ModelOptions, _ data: DataOptions) throws -> (FactorModel, Catalog) {
        let model = try modelOptions.load(data: data, users: false)
        let needed = data.data != nil || (color != nil && model.meta.itemGenres.isEmpty) || (model.meta.itemCounts.isEmpty && !all)
        let ratings = try companionRatings(for: model, data: data, purpose: "counts and genres are", quiet: !needed)
        return (model, try Catalog(model: model, ratings: ratings))
    }


    /// The chosen items, with the library's refusals worded with this command's flags.
    func choose(from catalog: Catalog) throws -> ChosenItems {
        do {
            let chosen = try ChosenItems.choose(selection, from: catalog)
            if let n = chosen.note { note("note: \(n) (pass --data to pick the most-rated)") }
            return chosen
        } catch ItemMapError.noCounts {
            throw EmbtoolError.usage("--most-rated needs rating counts: the model has none; pass --data or use --all")
        }
    }

    /// `--color`'s groups for the chosen rows, or nil without `--color`.
    func colouring(_ chosen: ChosenItems, _ catalog: Catalog) throws -> ItemColouring? {
        guard let color, let scheme = ItemColouring.Scheme(color) else { return nil }
        do {
            return try ItemColouring(scheme, rows: chosen.rows, catalog: catalog)
        } catch ItemMapError.noGenres {
            throw EmbtoolError.usage("--color genre needs genres: neither the model nor the data has any (pass --data with an item file)")
        } catch let ItemMapError.unknownGenre(name, known) {
            throw EmbtoolError.usage("no genre '\(name)'; genres are \(known.joined(separator: ", "))")
        }
    }

    /// The map of the chosen items at a layout's coordinates, coloured and labelled as asked,
    /// each axis with its correlates against what `catalog` and `itemBias` tell of the items.
    func itemMap(_ layoutName: String, _ chosen: ChosenItems, _ catalog: Catalog, x: [Float], y: [Float],
                 axes: (x: ItemMap.Axis, y: ItemMap.Axis), dataset: String, itemBias: [Float]?) throws -> ItemMap {
        let features = ItemFeatures(rows: chosen.rows, catalog: catalog, itemBias: itemBias)
        var (xAxis, yAxis) = axes
        xAxis.correlates = AxisCorrelates.correlates(of: x, with: features)
        yAxis.correlates = AxisCorrelates.correlates(of: y, with: features)
        return ItemMap(layoutName: layoutName, chosen: chosen, catalog: catalog, x: x, y: y, xAxis: xAxis, yAxis: yAxis,
                       dataset: dataset, colouring: try colouring(chosen, catalog), labelCount: labels)
    }

    /// Writes the files asked for, then prints `--json` (the map and the layout's
    /// `seconds`) or, without it, what `text` prints.
    func emit(_ map: ItemMap, title: String, seconds: Double, text: () -> Void) throws {
        try write(map, title: title)
        if json { try printJSON(MapJSON(map, seconds: seconds)) } else {
            text()
            for axis in [map.xAxis, map.yAxis] { printCorrelates(axis.title, axis.correlates) }
        }
    }

    /// Writes `--svg` and `--csv` for `map`, if asked.
    func write(_ map: ItemMap, title: String) throws {
        if let csv { try writeOutput(map.csvTable.bytes, to: csv) }
        try writeSVG(map, title: title)
    }

    /// Writes `--svg` for `map`, if asked.
    func writeSVG(_ map: ItemMap, title: String) throws {
        if let svg {
            let rendered = map.scatterPlot(title: title).render()
            if !rendered.dropped.isEmpty {
                note("note: \(rendered.dropped.count) of \(map.labelCount) labels found no room and were left out")
            }
            try writeOutput(rendered.svg, to: svg)
        }
    }
}

/// The strongest few correlates of an axis, one terminal line (nothing when none).
func printCorrelates(_ name: String, _ correlates: [AxisCorrelate], count: Int = 3) {
    guard !correlates.isEmpty else { return }
    print("\(name) correlates with \(AxisCorrelates.summary(correlates, count: count)) (Pearson r over the items shown; all in --json)")
}

/// `--json`'s record of one map axis: its number (1 = x), name and every correlate.
struct AxisJSON: Encodable {
    var component: Int
    var name: String
    var correlates: [AxisCorrelate]
}

/// `--json` of a two-dimensional map: what was drawn, its axes and every point.
struct MapJSON: Encodable {
    var layout, selection: String
    var items: Int
    var xAxis, yAxis: String
    /// Wall time of the layout itself (not loading or writing), seconds.
    var seconds: Double
    /// The x and y axes with their correlates.
    var components: [AxisJSON]
    var points: [ItemMap.Point]

    init(_ map: ItemMap, seconds: Double) {
        layout = map.layoutName
        selection = map.selection
        items = map.count
        xAxis = map.xAxis.title
        yAxis = map.yAxis.title
        self.seconds = seconds
        components = [map.xAxis, map.yAxis].enumerated().map { AxisJSON(component: $0 + 1, name: $1.name, correlates: $1.correlates) }
        points = map.points
    }
}
