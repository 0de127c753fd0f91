import ArgumentParser
import EmbeddingKit
import Foundation

struct ExploreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore",
        abstract: "Write one self-contained HTML page to explore the item vectors in a browser.",
        discussion: """
        The page works offline, opened as a file: its script, style and data are inside it, \
        and it makes no network request. Every chosen item is a point (WebGL, or a 2-D \
        canvas without it); hover for title, ratings, mean rating, bias and genres; pan and \
        zoom with the mouse or keys.

        In the page: search with the rules of 'similar' (exact, case, core title, prefix, \
        substring); an item's cosine neighbours, highlighted on the map, equal to \
        'similar --json' on the same model; layouts computed here (PCA, with each axis's \
        share of variance, UMAP and t-SNE as 'embtool umap' and 'embtool tsne' compute them) and custom axes computed in the page (a title, "A-B", \
        "genre:NAME"); colour by genre, bias, mean rating, ratings or year, size by \
        ratings; the lowest and highest biases as 'bias' lists them; recommendations for \
        liked and disliked titles by the ridge fold-in of 'recommend --like'; the view in \
        the URL (a link reopens it); the view as SVG or PNG. Neighbours are searched among \
        the items in the page: all of them by default, listing those with at least \
        --min-ratings ratings (20 by default, as 'similar'; adjustable in the page).

        Mean ratings come from --data, or from the default dataset when the model was \
        trained on it.

        Examples:
          embtool explore -o exports/explorer.html
          embtool explore --model big.safetensors --data big -o big.html
          embtool explore --most-rated 5000 --min-ratings 20 --layouts pca
        """)

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Where to write the page (as given; folders are created).", valueName: "file"))
    var output = "explorer.html"

    @Option(help: ArgumentHelp("Put only the n most-rated items in the page (ties by title). Default: all.", valueName: "n"))
    var mostRated: Int?

    @Flag(help: "Put every item in the page (the default).")
    var all = false

    @Option(help: ArgumentHelp("The page's starting minimum number of ratings for neighbours, biases and recommendations (adjustable in the page). Default 20 when the model has rating counts, as 'similar'.", valueName: "n"))
    var minRatings: Int?

    @Option(help: ArgumentHelp("Vectors in the page: float32 (exact), int24 (¾ of the size; neighbours still the command line's), int16 (half; similarities to 1e-3) or auto (float32 up to 1.5 M values, int24 up to 3.2 M, int16 above).", valueName: "encoding"))
    var vectors: ExplorerPage.VectorEncoding = .auto

    @Option(help: ArgumentHelp("Layouts to compute and embed, comma-separated: \(ExploreCommand.available.map(\.name).joined(separator: ", ")). Default: pca, and umap and tsne up to \(ExploreCommand.neighbourMapsByDefaultUpTo) items.", valueName: "names"))
    var layouts: String?

    @Flag(help: "Print one JSON object on stdout (file, items, factors, layouts, vectors, min_ratings, min_ratings_source, bytes, seconds).")
    var json = false

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var data: DataOptions

    func validate() throws {
        if all && mostRated != nil { throw ValidationError("give --most-rated N or --all, not both") }
        if let n = mostRated, n < 2 { throw ValidationError("--most-rated needs at least 2 items") }
        if let minRatings, minRatings < 0 { throw ValidationError("--min-ratings cannot be negative") }
        if let layouts { _ = try ExploreCommand.layoutNames(layouts) }
    }

    /// The layout names of `--layouts`, checked.
    static func layoutNames(_ list: String) throws -> [String] {
        let names = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let known = available.map(\.name)
        guard !names.isEmpty else { throw ValidationError("--layouts needs at least one of \(known.joined(separator: ", "))") }
        for name in names where !known.contains(name) {
            throw ValidationError("--layouts: no layout '\(name)'; layouts are \(known.joined(separator: ", "))")
        }
        return names
    }

    func run() throws {
        let start = Date()
        let model = try modelOptions.load(data: data)
        let ratings = try companionRatings(for: model, data: data, purpose: "mean ratings are")
        let catalog = try Catalog(model: model, ratings: ratings)
        let floor = try RatingFloor.resolve(minRatings, catalog)
        let rows: [Int]
        if let n = mostRated {
            guard catalog.counts != nil else { throw EmbtoolError.usage("--most-rated needs rating counts: the model has none; pass --data or use --all") }
            rows = catalog.mostRated(n).sorted()
        } else {
            rows = Array(catalog.rows)
        }
        guard rows.count >= 2 else { throw EmbtoolError.usage("the page needs at least 2 items; the model has \(rows.count)") }
        note("explore: \(rows.count) items × \(model.factors) factors")
        note("explore: neighbours, biases and recommendations: " + floor.sentence)

        let vectors = model.itemFactors.gathering(rows)
        let wanted = try layouts.map(ExploreCommand.layoutNames)
            ?? ["pca"] + (rows.count <= ExploreCommand.neighbourMapsByDefaultUpTo ? ["umap", "tsne"] : [])
        var layouts: [ExplorerPage.Layout] = []
        for (name, make) in ExploreCommand.available where wanted.contains(name) {
            let t = Date()
            layouts.append(try make(vectors))
            note("explore: \(name) layout in \(String(format: "%.2f", Date().timeIntervalSince(t))) s")
        }
        let page = ExplorerPage(model: model, catalog: catalog, rows: rows, layouts: layouts,
                                minRatings: floor.minRatings, encoding: self.vectors)
        let html = try page.render()
        try writeOutput(html, to: output)
        let bytes = html.utf8.count
        if json {
            try printJSON(ExploreJSON(file: output, items: rows.count, factors: model.factors, layouts: layouts.map(\.name),
                                      vectors: page.resolvedEncoding.rawValue, minRatings: floor.minRatings,
                                      minRatingsSource: floor.source.rawValue, bytes: bytes,
                                      seconds: Date().timeIntervalSince(start)))
        } else {
            print(output)
        }
    }

    /// The layouts a page can carry, in tab order: each computed from the
    /// page's vectors (`n × k`, rows as in the page). A new layout is one line here.
    static let available: [(name: String, make: (Matrix) throws -> ExplorerPage.Layout)] = [
        ("pca", pcaLayout),
        ("umap", neighbourLayout(.umap())),
        ("tsne", neighbourLayout(.tsne())),
    ]

    /// UMAP and t-SNE are computed by default up to this many items (seconds);
    /// beyond, ask for them with `--layouts pca,umap,tsne`.
    static let neighbourMapsByDefaultUpTo = 20_000

    /// The first two principal components, axes titled with their share of variance.
    static func pcaLayout(_ vectors: Matrix) throws -> ExplorerPage.Layout {
        let (pca, scores) = try PCA.fit(vectors, components: 2)
        let ratio = pca.explainedVarianceRatio
        return ExplorerPage.Layout(name: "PCA", coordinates: scores,
                                   xTitle: "PC1 (\(percent(ratio[0])) of variance)",
                                   yTitle: "PC2 (\(percent(ratio[1])) of variance)")
    }

    /// UMAP and t-SNE with `embtool umap`'s and `embtool tsne`'s defaults.
    static func neighbourLayout(_ layout: NeighbourLayout) -> (Matrix) throws -> ExplorerPage.Layout {
        { vectors in
            let coordinates = try layout.layout(vectors, threads: nil, timing: false).coordinates
            return ExplorerPage.Layout(name: layout.name, coordinates: coordinates, xTitle: layout.name + " 1", yTitle: layout.name + " 2")
        }
    }
}

extension ExplorerPage.VectorEncoding: ExpressibleByArgument {}

struct ExploreJSON: Encodable {
    var file: String
    var items, factors: Int
    var layouts: [String]
    var vectors: String
    var minRatings: Int
    var minRatingsSource: String
    var bytes: Int
    var seconds: Double
}
