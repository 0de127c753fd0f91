import ArgumentParser
import EmbeddingKit
import Foundation

struct AxesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "axes",
        abstract: "Map items onto axes you choose: a title, a difference of two, or a genre.",
        discussion: """
        The Embedding Projector's custom projection. Each axis is a direction in factor \
        space and an item's coordinate is its vector's projection on that direction, \
        normalised: x = v·d/‖d‖. An axis is

          TITLE            the item's own vector ("Star Wars", resolved as 'similar' does)
          A-B              the direction from B to A ("Star Wars-Sense and Sensibility")
          genre:NAME       the centroid of every item listing that genre
          genre:A-genre:B  from one genre's centroid to another's

        A title may itself hold a hyphen ("Spider-Man"): the whole text is tried first, \
        then each hyphen that splits it into two names that both resolve.

        Each axis is shown with its Pearson correlation (r, over the items shown) with \
        what is known of the items: each genre (0/1), the year in the title, \
        ln(1 + ratings), the mean rating and the learned bias; the strongest three in the \
        terminal, two on the SVG's axis titles, all in --json (components[].correlates).

        Examples:
          embtool axes --x "genre:Sci-Fi-genre:Romance" --y "genre:Comedy-genre:Drama" --svg axes.svg
          embtool axes --x "Star Wars" --y "Fargo" --color genre --csv axes.csv
        """)

    @Option(name: .customLong("x"), help: ArgumentHelp("The horizontal axis: TITLE, A-B, or genre:NAME.", valueName: "axis"))
    var xAxis: String

    @Option(name: .customLong("y"), help: ArgumentHelp("The vertical axis: TITLE, A-B, or genre:NAME.", valueName: "axis"))
    var yAxis: String

    @Option(help: ArgumentHelp("How many items to show at each end of each axis.", valueName: "n"))
    var ends = 5

    @OptionGroup var map: MapOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var data: DataOptions

    func validate() throws {
        if ends < 0 { throw ValidationError("--ends cannot be negative") }
    }

    func run() throws {
        var clock = Stopwatch(enabled: map.timing)
        var (model, catalog) = try map.loadCatalog(modelOptions, data)
        if catalog.genres == nil, [xAxis, yAxis].contains(where: { $0.lowercased().contains("genre:") }) {
            // Genre axes need genres even when the model carries none.
            if let ratings = try companionRatings(for: model, data: data, purpose: "genres are") {
                catalog = try Catalog(model: model, ratings: ratings)
            }
        }
        clock.lap("load")
        let chosen = try map.choose(from: catalog)
        let x = try CustomAxis.parse(xAxis, vectors: model.itemFactors, catalog: catalog)
        let y = try CustomAxis.parse(yAxis, vectors: model.itemFactors, catalog: catalog)
        let start = DispatchTime.now().uptimeNanoseconds
        let vectors = model.itemFactors.gathering(chosen.rows)
        let (xs, ys) = (x.project(vectors), y.project(vectors))
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        clock.lap("project")

        let itemMap = try map.itemMap("custom axes", chosen, catalog, x: xs, y: ys,
                                      axes: (.init(name: "x", title: "→ \(x.name)"), .init(name: "y", title: "→ \(y.name)")),
                                      dataset: model.meta.dataset, itemBias: model.itemBias)
        try map.emit(itemMap, title: "Items projected on two chosen directions of their embeddings", seconds: seconds) {
            print("Custom axes over \(chosen.description) (\(model.factors) factors).")
            for (axis, coordinates) in [(x, xs), (y, ys)] {
                let e = PCA.ends(Matrix(rows: coordinates.count, cols: 1, data: coordinates), component: 0, count: ends)
                print("\n\(TerminalText.escape(axis.name))")
                print(endsTable(e, label: { itemMap.labels[$0] }, score: { coordinates[$0] }))
            }
        }
        clock.lap("write")
        clock.report()
    }
}
