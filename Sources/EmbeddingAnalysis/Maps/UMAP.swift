import EmbeddingCore
import Foundation

/// Uniform Manifold Approximation and Projection (McInnes, Healy & Melville
/// 2018) to two dimensions, step for step as umap-learn 0.5 computes it:
///
/// 1. `KNNGraph.build`: each point's `neighbors − 1` nearest others (umap-learn's
///    `n_neighbors` counts the point itself);
/// 2. `FuzzySimplicialSet.build`: ρ, σ, memberships and their fuzzy union;
/// 3. edges sampled less than once in the run are dropped (w < w_max / epochs);
/// 4. `initialLayout`: spectral (Laplacian eigenvectors) or PCA, scaled so the
///    largest coordinate is 10, jittered by N(0, 10⁻⁴), then each axis mapped to [0, 10];
/// 5. `UMAPCurve.fit` for a, b from `minDist` and `spread`;
/// 6. `UMAPLayout.optimise`: the SGD with negative sampling.
public enum UMAP {
    public enum Initialisation: String, CaseIterable, Sendable {
        /// umap-learn's default: the normalised Laplacian's eigenvectors 2 and 3.
        case spectral
        /// The first two principal components of the vectors.
        case pca
    }

    /// What `fit` reports as it goes: a step starting, or an epoch done.
    public enum Progress: Sendable {
        case step(String)
        case epoch(Int, of: Int)
    }

    public struct Config: Sendable {
        public var neighbors = 15
        public var minDist = 0.1
        public var spread = 1.0
        /// nil: 500 epochs up to 10,000 points, else 200 (umap-learn's rule).
        public var epochs: Int? = nil
        public var seed: UInt64 = 42
        public var metric = SimilarityMetric.cosine
        public var initialisation = Initialisation.spectral
        public var knnMethod = KNNMethod.automatic
        public init() {}
    }

    /// The n × 2 layout of the rows of `vectors`.
    ///
    /// - Throws: usage errors for fewer than `neighbors + 1` points, fewer than
    ///   2 neighbours, a bad `minDist`/`spread` or epochs < 1; a data error for
    ///   a row with NaN or infinity.
    public static func fit(_ vectors: Matrix, config: Config, threads: Int,
                           progress: ((Progress) -> Void)?) throws -> Matrix {
        let say: ((String) -> Void)? = progress.map { report in { report(.step($0)) } }
        let n = vectors.rows
        guard config.neighbors >= 2 else { throw EmbtoolError.usage("UMAP needs at least 2 neighbours, got \(config.neighbors)") }
        guard n > config.neighbors else {
            throw EmbtoolError.usage("UMAP with \(config.neighbors) neighbours needs more than \(config.neighbors) points, got \(n)")
        }
        if let e = config.epochs, e < 1 { throw EmbtoolError.usage("epochs must be at least 1, got \(e)") }
        let (a, b) = try UMAPCurve.fit(minDist: config.minDist, spread: config.spread)
        let knn = try KNNGraph.build(vectors, k: config.neighbors - 1, metric: config.metric, method: config.knnMethod,
                                     seed: CounterHash.hash(config.seed, 1), threads: threads, progress: say)
        say?("fuzzy simplicial set")
        let epochs = config.epochs ?? UMAPLayout.defaultEpochs(points: n)
        let graph = prune(FuzzySimplicialSet.build(knn, threads: threads), epochs: epochs, points: n)
        var positions = initialLayout(vectors, graph: graph, initialisation: config.initialisation,
                                      seed: config.seed, threads: threads, progress: say)
        let layout = UMAPLayout(a: Float(a), b: Float(b), epochs: epochs, seed: CounterHash.hash(config.seed, 3))
        say?("layout: \(epochs) epochs over \(graph.edgeCount / 2) edges")
        layout.optimise(&positions, graph: graph, threads: threads) { progress?(.epoch($0, of: $1)) }
        return Matrix(rows: n, cols: 2, data: positions)
    }

    /// umap-learn's pruning in `simplicial_set_embedding`: edges lighter than
    /// w_max / epochs (w_max / 200 … for 10 epochs or fewer) are dropped.
    public static func prune(_ graph: SparseGraph, epochs: Int, points: Int) -> SparseGraph {
        let top = graph.weights.max() ?? 0
        let divisor = epochs > 10 ? epochs : UMAPLayout.defaultEpochs(points: points)
        return graph.pruned(below: top / Float(divisor))
    }

    /// The starting layout, n × 2 row-major, in [0, 10]² (umap-learn's
    /// `noisy_scale_coords` then its per-axis min–max scaling). Spectral falls
    /// back to PCA, said through `progress`, when the graph is not connected
    /// or the eigen-iteration fails.
    public static func initialLayout(_ vectors: Matrix, graph: SparseGraph, initialisation: Initialisation,
                                     seed: UInt64, threads: Int, progress: ((String) -> Void)?) -> [Float] {
        var coordinates: Matrix?
        if initialisation == .spectral {
            progress?("initialisation: spectral")
            coordinates = SpectralLayout.embed(graph, dims: 2, seed: CounterHash.hash(seed, 2), threads: threads)
            if coordinates == nil {
                let parts = SpectralLayout.components(graph)
                progress?(parts > 1 ? "initialisation: the graph has \(parts) components; using PCA instead of spectral"
                                    : "initialisation: the spectral iteration failed; using PCA instead")
            }
        }
        if coordinates == nil {
            if initialisation == .pca { progress?("initialisation: PCA") }
            coordinates = pcaCoordinates(vectors)
        }
        return scaledToBox(noisyScale(coordinates!, seed: CounterHash.hash(seed, 4)))
    }

    /// The first two principal components' scores (zero if PCA is impossible,
    /// e.g. one factor; the jitter then separates the points).
    static func pcaCoordinates(_ vectors: Matrix) -> Matrix {
        if vectors.cols >= 2, let fit = try? PCA.fit(vectors, components: 2) { return fit.scores }
        return Matrix(rows: vectors.rows, cols: 2)
    }

    /// umap-learn's `noisy_scale_coords`: ×(10 / max|c|), plus N(0, 10⁻⁴) per coordinate.
    static func noisyScale(_ c: Matrix, seed: UInt64) -> Matrix {
        let largest = c.data.reduce(Float(0)) { max($0, abs($1)) }
        let scale: Float = largest > 0 ? 10 / largest : 1
        var rng = SplitMix64(seed: seed)
        return Matrix(rows: c.rows, cols: c.cols, data: c.data.map { $0 * scale + 1e-4 * rng.nextGaussian() })
    }

    /// Each axis mapped linearly onto [0, 10], row-major n × 2 out.
    static func scaledToBox(_ c: Matrix) -> [Float] {
        var out = c.data
        for j in 0..<c.cols {
            var lo = Float.infinity, hi = -Float.infinity
            for i in 0..<c.rows { lo = min(lo, c[i, j]); hi = max(hi, c[i, j]) }
            let scale: Float = hi > lo ? 10 / (hi - lo) : 0
            for i in 0..<c.rows { out[i * c.cols + j] = (c[i, j] - lo) * scale }
        }
        return out
    }
}
