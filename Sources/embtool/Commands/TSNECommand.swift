import ArgumentParser
import EmbeddingKit
import Foundation

struct TSNECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tsne",
        abstract: "Map items by t-SNE: each item's nearest neighbours in factor space stay around it.",
        discussion: """
        t-SNE as openTSNE 1.0 runs it by default: each item's 3 × perplexity nearest \
        neighbours (exact up to 200,000 items), Gaussian affinities calibrated to the \
        perplexity, a PCA start, then 250 iterations of early exaggeration (12) and the \
        rest without, learning rate items / exaggeration, momentum 0.8. The repulsion \
        between all pairs is computed by FFT-accelerated interpolation (FIt-SNE) or \
        Barnes-Hut (θ = 0.5); auto takes Barnes-Hut below 10,000 items, where it is the \
        faster. The layout is the same for a seed whatever the number of cores. Distances \
        between clusters mean little: who sits next to whom is the message.

        Each axis is shown with its Pearson correlation (r, over the items shown) with \
        what is known of the items: each genre (0/1), the year in the title, \
        ln(1 + ratings), the mean rating and the learned bias; the strongest three in the \
        terminal, two on the SVG's axis titles, all in --json (components[].correlates).

        Examples:
          embtool tsne --svg tsne.svg --color genre
          embtool tsne --all --csv tsne.csv --json
          embtool tsne --model vectors.npy --all --perplexity 50 --metric euclidean
        """)

    @Option(help: ArgumentHelp("The effective number of neighbours each item's Gaussian spans.", valueName: "p"))
    var perplexity = 30.0

    @Option(help: ArgumentHelp("Iterations in all, the 250 of early exaggeration included.", valueName: "n"))
    var iterations = 750

    @Option(help: ArgumentHelp("Seed of the start's jitter (and of the neighbour search above 200,000 items).", valueName: "n"))
    var seed: UInt64 = 42

    @Option(help: ArgumentHelp("Distance between factor vectors: cosine or euclidean.", valueName: "metric"))
    var metric = "cosine"

    @Option(help: ArgumentHelp("Repulsion: fft (interpolation), bh (Barnes-Hut) or auto.", valueName: "method"))
    var method = "auto"

    @Option(help: ArgumentHelp("Neighbour search: auto (exact up to 200,000 items), exact or nn-descent.", valueName: "method"))
    var knn = "auto"

    @Option(help: ArgumentHelp("Threads (default: every core). Results do not depend on it.", valueName: "n"))
    var threads: Int?

    @OptionGroup var map: MapOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var data: DataOptions

    /// `30`, not `30.0`.
    var shownPerplexity: String { perplexity == perplexity.rounded() && abs(perplexity) < 1e9 ? String(Int(perplexity)) : String(perplexity) }

    func validate() throws {
        if !(perplexity > 1) { throw ValidationError("--perplexity must be greater than 1") }
        if iterations < 1 { throw ValidationError("--iterations needs at least 1") }
        if !["cosine", "euclidean"].contains(metric) { throw ValidationError("--metric takes cosine or euclidean, not '\(metric)'") }
        if TSNE.Method(rawValue: method) == nil { throw ValidationError("--method takes auto, fft or bh, not '\(method)'") }
        if KNNMethod(rawValue: knn == "auto" ? "automatic" : knn) == nil {
            throw ValidationError("--knn takes auto, exact or nn-descent, not '\(knn)'")
        }
        if let threads, threads < 1 { throw ValidationError("--threads needs at least 1") }
    }

    func run() throws {
        var config = TSNE.Config()
        config.perplexity = perplexity
        config.iterations = iterations
        config.seed = seed
        config.metric = SimilarityMetric(rawValue: metric)!
        config.method = TSNE.Method(rawValue: method)!
        config.knnMethod = KNNMethod(rawValue: knn == "auto" ? "automatic" : knn)!
        try NeighbourLayout.tsne(config).run(map, modelOptions, data, threads: threads,
                                             title: "t-SNE of the item vectors (perplexity \(shownPerplexity), \(metric))") { chosen, model, seconds in
            let repulsion = TSNE.resolvedMethod(config.method, count: chosen.rows.count) == .fft ? "FFT interpolation" : "Barnes-Hut"
            return "t-SNE of \(chosen.description) (\(model.factors) factors, perplexity \(shownPerplexity), \(metric), \(repulsion)) in \(String(format: "%.2f", seconds)) s."
        }
    }
}
