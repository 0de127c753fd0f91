import EmbeddingKit
import Foundation

/// A layout that keeps neighbourhoods (UMAP, t-SNE), as `embtool umap`,
/// `embtool tsne` and the explorer run it: vectors in (`n × k`), coordinates
/// out (`n × 2`), progress on stderr.
struct NeighbourLayout {
    /// Shown name and axis prefix: "UMAP" gives axes "UMAP 1" and "UMAP 2".
    let name: String
    /// Name in JSON and CSV: "umap" gives columns "umap1" and "umap2".
    let key: String
    let fit: (_ vectors: Matrix, _ threads: Int, _ progress: LayoutProgress) throws -> Matrix

    static func umap(_ config: UMAP.Config = UMAP.Config()) -> NeighbourLayout {
        NeighbourLayout(name: "UMAP", key: "umap") { try UMAP.fit($0, config: config, threads: $1, progress: $2.update) }
    }

    static func tsne(_ config: TSNE.Config = TSNE.Config()) -> NeighbourLayout {
        NeighbourLayout(name: "t-SNE", key: "tsne") { try TSNE.fit($0, config: config, threads: $1, progress: $2.update) }
    }

    /// The layout of `vectors` and the wall seconds it took.
    func layout(_ vectors: Matrix, threads: Int?, timing: Bool) throws -> (coordinates: Matrix, seconds: Double) {
        let bar = LayoutProgress(timing: timing)
        let start = DispatchTime.now().uptimeNanoseconds
        let coordinates = try fit(vectors, threads ?? ProcessInfo.processInfo.activeProcessorCount, bar)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        bar.finish()
        return (coordinates, seconds)
    }

    /// A map command's whole run: load, choose the items, lay them out, write
    /// what `map` asks for. `summary` is the terminal's first line.
    func run(_ map: MapOptions, _ modelOptions: ModelOptions, _ data: DataOptions, threads: Int?, title: String,
             summary: (_ chosen: ChosenItems, _ model: FactorModel, _ seconds: Double) -> String) throws {
        var clock = Stopwatch(enabled: map.timing)
        let (model, catalog) = try map.loadCatalog(modelOptions, data)
        clock.lap("load")
        let chosen = try map.choose(from: catalog)
        let (layout, seconds) = try self.layout(model.itemFactors.gathering(chosen.rows), threads: threads, timing: map.timing)
        clock.lap(key)
        let itemMap = try map.itemMap(name, chosen, catalog,
                                      x: (0..<layout.rows).map { layout[$0, 0] }, y: (0..<layout.rows).map { layout[$0, 1] },
                                      axes: (.init(name: key + "1", title: name + " 1"), .init(name: key + "2", title: name + " 2")),
                                      dataset: model.meta.dataset, itemBias: model.itemBias)
        try map.emit(itemMap, title: title, seconds: seconds) { print(summary(chosen, model, seconds)) }
        clock.lap("write")
        clock.report()
    }
}
