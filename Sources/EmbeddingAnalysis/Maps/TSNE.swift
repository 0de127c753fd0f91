import EmbeddingCore
import Foundation

/// t-SNE (van der Maaten & Hinton 2008) as openTSNE 1.0 runs it by default:
///
/// 1. `KNNGraph.build`: the k = min(n − 1, ⌊3·perplexity⌋) nearest neighbours of every point;
/// 2. `conditionalProbabilities`: Gaussian p_{j|i} over them, bandwidths
///    calibrated to the perplexity; `symmetrise`: P = (C + Cᵀ)/Σ;
/// 3. `initialEmbedding`: the first two principal components, scaled to a
///    standard deviation of 10⁻⁴ along the first, plus a little jitter;
/// 4. `optimise`: gradient descent on KL(P‖Q), Q_ij ∝ (1 + ‖y_i − y_j‖²)⁻¹,
///    with early exaggeration, momentum and per-coordinate gains. The gradient,
///    without the conventional factor 4 (openTSNE leaves it out and sets the
///    learning rate for its absence), is
///
///        g_i = α·Σ_j p_ij·K_ij·(y_i − y_j) − (1/Z)·Σ_j K_ij²·(y_i − y_j),   K_ij = (1 + ‖y_i − y_j‖²)⁻¹, Z = Σ_{k≠l} K_kl
///
///    (α: the exaggeration): the attractive sum runs over the sparse P
///    (`TSNEAttraction`), the repulsive one by FFT-accelerated interpolation
///    (`FFTRepulsion`) or Barnes–Hut (`QuadTree`).
///
/// Deterministic: the same seed gives the same floats for any thread count
/// (every parallel step has a fixed partition or per-point outputs, and every
/// reduction runs in a fixed order).
public enum TSNE {
    /// How the repulsive forces are computed.
    public enum Method: String, CaseIterable, Sendable {
        /// FFT-accelerated interpolation from `fftThreshold` points up, Barnes–Hut below.
        case automatic = "auto"
        case fft
        case barnesHut = "bh"
    }

    /// Below this many points Barnes–Hut is faster than the interpolation,
    /// whose grid has at least 150 × 150 nodes whatever the number of points.
    public static let fftThreshold = 10_000

    public struct Config: Sendable {
        /// The effective number of neighbours each point's Gaussian spans.
        public var perplexity: Double = 30
        /// Iterations in all, early exaggeration included.
        public var iterations: Int = 750
        public var earlyExaggerationIterations: Int = 250
        public var earlyExaggeration: Float = 12
        /// The exaggeration after the early phase.
        public var exaggeration: Float = 1
        /// nil: openTSNE's "auto", n / exaggeration in each phase (Belkina et al. 2019).
        public var learningRate: Float?
        /// openTSNE ≥ 1.0 uses 0.8 in both phases.
        public var momentum: Float = 0.8
        public var minimumGain: Float = 0.01
        /// A point's step is cut to this length (openTSNE's `max_step_norm`).
        public var maximumStep: Float = 5
        /// Barnes–Hut's opening angle.
        public var theta: Float = 0.5
        public var metric: SimilarityMetric = .cosine
        public var method: Method = .automatic
        /// `.automatic`: exact up to `exactNeighboursLimit` points, NN-descent above.
        public var knnMethod: KNNMethod = .automatic
        /// Seeds the jitter added to the initialisation and the neighbour search.
        public var seed: UInt64 = 42

        public init() {}
    }

    /// What `fit` reports as it goes: a step starting, or an iteration done.
    public enum Progress: Sendable {
        case step(String)
        case iteration(Int, of: Int)
    }

    /// The method `config.method` resolves to for `count` points.
    public static func resolvedMethod(_ method: Method, count: Int) -> Method {
        method != .automatic ? method : (count >= fftThreshold ? .fft : .barnesHut)
    }

    /// Embeds the rows of `vectors` (`n × d`) in the plane: an `n × 2` matrix.
    ///
    /// - Throws: usage errors for a perplexity outside (1, n − 1), fewer than
    ///   3 points or no iterations; a data error for a row with NaN or infinity.
    public static func fit(_ vectors: Matrix, config: Config = Config(), threads: Int,
                           progress: ((Progress) -> Void)? = nil) throws -> Matrix {
        let say: ((String) -> Void)? = progress.map { report in { report(.step($0)) } }
        let n = vectors.rows
        try validate(count: n, perplexity: config.perplexity)
        guard config.iterations >= 1 else { throw EmbtoolError.usage("iterations must be at least 1, got \(config.iterations)") }
        let k = neighbourCount(count: n, perplexity: config.perplexity)
        let knnMethod = config.knnMethod != .automatic ? config.knnMethod : (n <= exactNeighboursLimit ? .exact : .nnDescent)
        let graph = try KNNGraph.build(vectors, k: k, metric: config.metric, method: knnMethod,
                                       seed: CounterHash.hash(config.seed, 1), threads: threads, progress: say)
        say?("affinities: perplexity \(config.perplexity) over \(k) neighbours")
        let conditional = conditionalProbabilities(squaredDistances: squaredDistances(graph, metric: config.metric),
                                                   count: n, k: k, perplexity: config.perplexity, threads: threads)
        let p = symmetrise(conditional, graph: graph, threads: threads)
        let start = try initialEmbedding(vectors, seed: config.seed)
        let method = resolvedMethod(config.method, count: n)
        say?("gradient descent: \(config.iterations) iterations, repulsion by \(method == .fft ? "FFT interpolation" : "Barnes-Hut")")
        let y = optimise(p, from: start, config: config, threads: threads) { progress?(.iteration($0, of: config.iterations)) }
        return Matrix(rows: n, cols: 2, data: y)
    }

    /// Up to this many points `KNNMethod.automatic` means exact neighbours
    /// here: with t-SNE's k = 90 NN-descent's local joins grow with k², and on
    /// the 2-core bench machine, 59,047 × 50 cosine, exact took 6.7 s of CPU
    /// and NN-descent 24.8 s; exact grows as n², NN-descent about as n.
    public static let exactNeighboursLimit = 200_000

    /// The neighbours each point's Gaussian is computed over: openTSNE's
    /// `min(n − 1, ⌊3·perplexity⌋)`.
    static func neighbourCount(count n: Int, perplexity: Double) -> Int {
        min(n - 1, Int(3 * perplexity))
    }

    /// A perplexity is an effective neighbour count: it must exceed 1 (the
    /// entropy of any distribution is ≥ 0 = ln 1) and stay below n − 1 (the
    /// entropy of n − 1 neighbours is at most ln(n − 1)).
    static func validate(count n: Int, perplexity: Double) throws {
        guard n >= 3 else { throw EmbtoolError.usage("t-SNE needs at least 3 points, got \(n)") }
        guard perplexity.isFinite, perplexity > 1, perplexity < Double(n - 1) else {
            throw EmbtoolError.usage("perplexity must be greater than 1 and less than \(n - 1) (the number of points − 1), got \(perplexity)")
        }
    }

    /// openTSNE's PCA initialisation: the scores on the first two principal
    /// components, both divided by the standard deviation of the first and
    /// multiplied by 10⁻⁴, plus Gaussian jitter of 1% of that (10⁻⁶) from `seed`.
    /// Interleaved `n × 2`.
    static func initialEmbedding(_ vectors: Matrix, seed: UInt64) throws -> [Float] {
        let n = vectors.rows, c = min(2, vectors.cols)
        let scores = try PCA.fit(vectors, components: c).scores
        var mean = 0.0, square = 0.0
        for i in 0..<n { mean += Double(scores[i, 0]) }
        mean /= Double(n)
        for i in 0..<n { square += (Double(scores[i, 0]) - mean) * (Double(scores[i, 0]) - mean) }
        let sd = (square / Double(n)).squareRoot()
        let scale = sd > 0 ? 1e-4 / sd : 0
        var rng = SplitMix64(seed: seed)
        var y = [Float](repeating: 0, count: 2 * n)
        for i in 0..<n {
            for d in 0..<2 {
                let score = d < c ? Double(scores[i, d]) : 0
                y[2 * i + d] = Float(score * scale) + 1e-6 * rng.nextGaussian()
            }
        }
        return y
    }

    /// Gradient descent from `start` (interleaved `n × 2`), as openTSNE's
    /// `gradient_descent`: for each coordinate, the gain grows by 0.2 when the
    /// gradient's sign differs from the last update's and shrinks to
    /// 0.8·gain + min_gain otherwise; `update ← momentum·update − η·gain·g`,
    /// cut to `maximumStep` per point; then the embedding is re-centred.
    /// `tick(i)` after iteration i (1-based).
    static func optimise(_ p: SparseGraph, from start: [Float], config: Config, threads: Int,
                         tick: (Int) -> Void = { _ in }) -> [Float] {
        let n = p.count
        var y = start
        var attraction: TSNEAttraction?
        var update = [Float](repeating: 0, count: 2 * n), gains = [Float](repeating: 1, count: 2 * n)
        // Position → original point, while the points are kept in spatial order.
        var order = (0..<n).map { Int32($0) }
        var attractive = [Float](repeating: 0, count: 2 * n), repulsive = [Float](repeating: 0, count: 2 * n)
        let fft = FFTRepulsion()
        let method = resolvedMethod(config.method, count: n)
        for iteration in 0..<config.iterations {
            if iteration % reorderInterval == 0 {
                let moves = y.withUnsafeBufferPointer { QuadTree.mortonKeys($0.baseAddress!, count: n).keys.map { Int32(truncatingIfNeeded: $0) } }
                (y, update, gains) = (permutedPairs(y, moves), permutedPairs(update, moves), permutedPairs(gains, moves))
                order = moves.map { order[Int($0)] }
                attraction = TSNEAttraction(p, order: order)
            }
            let early = iteration < config.earlyExaggerationIterations
            let exaggeration = early ? config.earlyExaggeration : config.exaggeration
            let rate = config.learningRate ?? Float(n) / exaggeration
            let z: Double = y.withUnsafeBufferPointer { yb in
                repulsive.withUnsafeMutableBufferPointer { rb in
                    method == .fft
                        ? fft.compute(yb.baseAddress!, count: n, forces: rb.baseAddress!, threads: threads)
                        : QuadTree(yb.baseAddress!, count: n).repulsion(theta: config.theta, forces: rb.baseAddress!, threads: threads)
                }
            }
            y.withUnsafeBufferPointer { yb in
                attractive.withUnsafeMutableBufferPointer { ab in
                    attraction!.forces(yb.baseAddress!, into: ab.baseAddress!, threads: threads)
                }
            }
            step(&y, update: &update, gains: &gains, attractive: attractive, repulsive: repulsive,
                 exaggeration: exaggeration, inverseZ: Float(1 / max(z, .leastNormalMagnitude)), rate: rate, config: config,
                 threads: threads)
            tick(iteration + 1)
        }
        var original = [Float](repeating: 0, count: 2 * n)
        for (position, point) in order.enumerated() {
            original[2 * Int(point)] = y[2 * position]
            original[2 * Int(point) + 1] = y[2 * position + 1]
        }
        return original
    }

    /// How often the points are renumbered in the Z-order of their positions,
    /// so that a point's neighbours in P sit near it in memory (the attractive
    /// sum's gathers then hit L1 rather than L2) and the grid and tree steps
    /// walk memory in order. Renumbering changes no value, only the order of
    /// the floats in each row's sum. Every 250 iterations — at the start, when
    /// the early exaggeration ends, and once more — costs 0.3 s of CPU at 59k
    /// points, and renumbering every 100 or 37 iterations made the attractive
    /// step no faster.
    static let reorderInterval = 250

    /// Pairs (2-D vectors) in the order `moves` gives: pair i ← pair moves[i].
    static func permutedPairs(_ v: [Float], _ moves: [Int32]) -> [Float] {
        var out = [Float](repeating: 0, count: v.count)
        for (i, m) in moves.enumerated() {
            out[2 * i] = v[2 * Int(m)]
            out[2 * i + 1] = v[2 * Int(m) + 1]
        }
        return out
    }

    /// One descent step on every point (in parallel, each point on its own),
    /// then the mean subtracted (summed in a fixed order).
    static func step(_ y: inout [Float], update: inout [Float], gains: inout [Float], attractive: [Float], repulsive: [Float],
                     exaggeration: Float, inverseZ: Float, rate: Float, config: Config, threads: Int) {
        let n = y.count / 2, chunk = 4096
        @inline(__always) func sign(_ v: Float) -> Float { v > 0 ? 1 : (v < 0 ? -1 : 0) }
        let momentum = config.momentum, minimumGain = config.minimumGain, maximumStep = config.maximumStep
        y.withUnsafeMutableBufferPointer { yb in
            update.withUnsafeMutableBufferPointer { ub in
                gains.withUnsafeMutableBufferPointer { gb in
                    let y = SharedBuffer(yb.baseAddress!), u = SharedBuffer(ub.baseAddress!), g = SharedBuffer(gb.baseAddress!)
                    Parallel.pieces((n + chunk - 1) / chunk, workers: threads) { job in
                        for i in (job * chunk)..<min(n, (job + 1) * chunk) {
                            for t in (2 * i)..<(2 * i + 2) {
                                let gradient = exaggeration * attractive[t] - inverseZ * repulsive[t]
                                g.base[t] = sign(gradient) != sign(u.base[t]) ? g.base[t] + 0.2 : g.base[t] * 0.8 + minimumGain
                                u.base[t] = momentum * u.base[t] - rate * g.base[t] * gradient
                            }
                            let length = (u.base[2 * i] * u.base[2 * i] + u.base[2 * i + 1] * u.base[2 * i + 1]).squareRoot()
                            if length > maximumStep {
                                u.base[2 * i] *= maximumStep / length
                                u.base[2 * i + 1] *= maximumStep / length
                            }
                            y.base[2 * i] += u.base[2 * i]
                            y.base[2 * i + 1] += u.base[2 * i + 1]
                        }
                    }
                }
            }
        }
        var sx = 0.0, sy = 0.0
        for i in 0..<n {
            sx += Double(y[2 * i])
            sy += Double(y[2 * i + 1])
        }
        let mx = Float(sx / Double(n)), my = Float(sy / Double(n))
        for i in 0..<n {
            y[2 * i] -= mx
            y[2 * i + 1] -= my
        }
    }
}
