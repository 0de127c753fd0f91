import ArgumentParser
import EmbeddingKit
import Foundation

struct UMAPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "umap",
        abstract: "Map items by UMAP: neighbours in factor space stay neighbours on the map.",
        discussion: """
        UMAP as McInnes et al. define it and umap-learn computes it: each item's nearest \
        neighbours (exact below 24,000 items, NN-descent above, said on stderr), the fuzzy \
        simplicial set (per-item ρ and σ, fuzzy union), a spectral or PCA start, and the \
        SGD layout with negative sampling, a and b fitted from --min-dist. The layout is \
        the same for a seed whatever the number of cores. Distances on the map mean little \
        beyond the neighbourhood: clusters and who sits next to whom are the message.

        Each axis is shown with its Pearson correlation (r, over the items shown) with \
        what is known of the items: each genre (0/1), the year in the title, \
        ln(1 + ratings), the mean rating and the learned bias; the strongest three in the \
        terminal, two on the SVG's axis titles, all in --json (components[].correlates).

        Examples:
          embtool umap --svg umap.svg --color genre
          embtool umap --all --csv umap.csv --json
          embtool umap --model vectors.npy --all --metric euclidean --init pca
        """)

    @Option(help: ArgumentHelp("Neighbours per item, the item itself included (umap-learn's n_neighbors).", valueName: "k"))
    var neighbors = 15

    @Option(help: ArgumentHelp("Smallest distance between points on the map (umap-learn's min_dist).", valueName: "d"))
    var minDist = 0.1

    @Option(help: ArgumentHelp("Optimisation epochs, or 'auto' (500 up to 10,000 items, else 200).", valueName: "n|auto"))
    var epochs = "auto"

    @Option(help: ArgumentHelp("Seed of the neighbour search, the start and the sampling.", valueName: "n"))
    var seed: UInt64 = 42

    @Option(name: .customLong("init"), help: ArgumentHelp("Starting layout: spectral (the graph Laplacian's eigenvectors) or pca.", valueName: "method"))
    var initialisation = "spectral"

    @OptionGroup var graph: NeighbourGraphOptions
    @OptionGroup var map: MapOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var data: DataOptions

    func validate() throws {
        if neighbors < 2 { throw ValidationError("--neighbors needs at least 2") }
        if !(minDist >= 0 && minDist <= 1) { throw ValidationError("--min-dist must be between 0 and 1") }
        if epochs != "auto" && !(1...UMAPLayout.maximumEpochs).contains(Int(epochs) ?? 0) {
            throw ValidationError("--epochs takes a number from 1 to \(UMAPLayout.maximumEpochs) or 'auto', not '\(epochs)'")
        }
        if UMAP.Initialisation(rawValue: initialisation) == nil { throw ValidationError("--init takes spectral or pca, not '\(initialisation)'") }
    }

    func run() throws {
        var config = UMAP.Config()
        config.neighbors = neighbors
        config.minDist = minDist
        config.epochs = Int(epochs)
        config.seed = seed
        config.metric = graph.similarityMetric
        config.initialisation = UMAP.Initialisation(rawValue: initialisation)!
        config.knnMethod = graph.knnMethod
        try NeighbourLayout.umap(config).run(map, modelOptions, data, threads: graph.threads,
                                             title: "UMAP of the item vectors (\(neighbors) neighbours, \(graph.metric), min-dist \(minDist))") { chosen, model, seconds in
            "UMAP of \(chosen.description) (\(model.factors) factors, \(neighbors) neighbours, \(graph.metric)) in \(String(format: "%.2f", seconds)) s."
        }
    }
}
