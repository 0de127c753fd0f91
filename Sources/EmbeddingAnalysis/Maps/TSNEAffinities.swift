import EmbeddingCore
import Foundation

extension TSNE {
    /// The squared input-space distances the Gaussian kernels use, `count × k`
    /// like the graph. Euclidean: ‖a − b‖². Cosine: openTSNE's convention,
    /// Annoy's angular distance √(2(1 − cos)) — the euclidean distance between
    /// the unit vectors — so the square is 2·(1 − cos) (the graph holds 1 − cos).
    static func squaredDistances(_ graph: KNNGraph, metric: SimilarityMetric) -> [Float] {
        metric == .cosine ? graph.distances.map { 2 * $0 } : graph.distances.map { $0 * $0 }
    }

    /// The conditional distributions `p_{j|i} = exp(−β_i·d²_ij) / Σ_l exp(−β_i·d²_il)`
    /// over each point's k neighbours (`count × k`, rows summing to 1), with
    /// β_i such that the entropy `H_i = −Σ_j p_{j|i} ln p_{j|i}` equals
    /// ln(perplexity) within `tolerance` nats — openTSNE's
    /// `compute_gaussian_perplexity`: from β = 1/2 (precision 1), at most 200
    /// steps. openTSNE doubles or halves β until the target is bracketed, then
    /// bisects; here each step is Newton's, `β ← β + (H − ln perplexity) / (β·Var_p(d²))`
    /// (since dH/dβ = −β·Var_p(d²)), whenever it lands inside the bracket,
    /// else that same doubling, halving or bisection — the same answer in a
    /// fifth of the steps. Distances enter shifted by the row's smallest, which
    /// changes no p but keeps exp from underflowing for tight rows.
    static func conditionalProbabilities(squaredDistances d2: [Float], count n: Int, k: Int, perplexity: Double,
                                         threads: Int, tolerance: Double = 1e-8) -> [Float] {
        var p = [Float](repeating: 0, count: n * k)
        let target = log(perplexity)
        p.withUnsafeMutableBufferPointer { pb in
            d2.withUnsafeBufferPointer { db in
                let out = SharedBuffer(pb.baseAddress!), d = db.baseAddress!
                let chunk = 512
                Parallel.pieces((n + chunk - 1) / chunk, workers: threads) { job in
                    var e = [Double](repeating: 0, count: k)
                    for i in (job * chunk)..<min(n, (job + 1) * chunk) {
                        let row = d + i * k
                        var shift = Double.infinity, spread = 0.0
                        for j in 0..<k { shift = min(shift, Double(row[j])) }
                        for j in 0..<k { spread = max(spread, Double(row[j]) - shift) }
                        // Equal distances (duplicate or zero vectors): every β gives the
                        // uniform distribution, whose perplexity k no β can change.
                        if spread == 0 {
                            for j in 0..<k { out[i * k + j] = 1 / Float(k) }
                            continue
                        }
                        var beta = 0.5, low = 0.0, high = Double.infinity
                        var sum = 0.0
                        for _ in 0..<200 {
                            sum = 0
                            var first = 0.0, second = 0.0
                            for j in 0..<k {
                                let dj = Double(row[j]) - shift
                                e[j] = exp(-beta * dj)
                                sum += e[j]
                                first += e[j] * dj
                                second += e[j] * dj * dj
                            }
                            let mean = first / sum
                            let gap = log(sum) + beta * mean - target
                            if abs(gap) <= tolerance { break }
                            if gap > 0 { low = beta } else { high = beta }
                            let variance = second / sum - mean * mean
                            let newton = beta + gap / (beta * variance)
                            if variance > 0, newton > low, newton < high {
                                beta = newton
                            } else if high.isInfinite {
                                beta *= 2
                            } else if low == 0 {
                                beta /= 2
                            } else {
                                beta = (low + high) / 2
                            }
                        }
                        for j in 0..<k { out[i * k + j] = Float(e[j] / sum) }
                    }
                }
            }
        }
        return p
    }

    /// The joint probabilities `P = (C + Cᵀ) / Σ(C + Cᵀ)` from the conditional
    /// distributions C (row i over the graph's neighbours of i): openTSNE's
    /// symmetrisation, with the sum taken as it comes rather than assumed to
    /// be 2N. A sparse symmetric `n × n` matrix: each row holds its neighbours
    /// and the points that have it as a neighbour, columns ascending; Σ P = 1,
    /// no diagonal.
    static func symmetrise(_ conditional: [Float], graph: KNNGraph, threads: Int) -> SparseGraph {
        let directed = KNNGraph(count: graph.count, k: graph.k, indices: graph.indices, distances: conditional)
        var p = SparseGraph.symmetric(directed, threads: threads, combine: +)
        var total = 0.0
        for w in p.weights { total += Double(w) }
        let scale = Float(1 / total)
        for t in p.weights.indices { p.weights[t] *= scale }
        return p
    }
}
