import EmbeddingCore
import Foundation

/// A symmetric sparse graph in compressed rows: the neighbours of `i` are
/// `columns[rowStart[i] ..< rowStart[i + 1]]`, ascending, with `weights` alongside.
/// Every edge is stored in both directions, as umap-learn's symmetric COO matrix.
public struct SparseGraph: Sendable, Equatable {
    public let count: Int
    public var rowStart: [Int]
    public var columns: [Int32]
    public var weights: [Float]

    public var edgeCount: Int { columns.count }

    /// The weight of edge i–j, 0 when absent.
    public func weight(_ i: Int, _ j: Int) -> Float {
        for e in rowStart[i]..<rowStart[i + 1] where columns[e] == Int32(j) { return weights[e] }
        return 0
    }

    /// The graph without the edges lighter than `threshold` (umap-learn drops
    /// weights below `max / n_epochs`: they would be sampled less than once).
    public func pruned(below threshold: Float) -> SparseGraph {
        var starts = [Int](repeating: 0, count: count + 1)
        var cols: [Int32] = [], w: [Float] = []
        cols.reserveCapacity(columns.count)
        w.reserveCapacity(columns.count)
        for i in 0..<count {
            for e in rowStart[i]..<rowStart[i + 1] where weights[e] >= threshold {
                cols.append(columns[e])
                w.append(weights[e])
            }
            starts[i + 1] = cols.count
        }
        return SparseGraph(count: count, rowStart: starts, columns: cols, weights: w)
    }

    /// The points in breadth-first order from point 0 (each component in turn): neighbours
    /// get nearby numbers, so a pass over the edges reads the other ends from nearby memory.
    func breadthFirstOrder() -> [Int32] {
        var order: [Int32] = []
        order.reserveCapacity(count)
        var seen = [Bool](repeating: false, count: count)
        for root in 0..<count where !seen[root] {
            seen[root] = true
            var next = order.count
            order.append(Int32(root))
            while next < order.count {
                let i = Int(order[next])
                next += 1
                for e in rowStart[i]..<rowStart[i + 1] where !seen[Int(columns[e])] {
                    seen[Int(columns[e])] = true
                    order.append(columns[e])
                }
            }
        }
        return order
    }

    /// The same graph with point `order[p]` numbered p (each row's edges in their old order).
    func renumbered(_ order: [Int32]) -> SparseGraph {
        precondition(order.count == count)
        var position = [Int32](repeating: 0, count: count)
        for (p, i) in order.enumerated() { position[Int(i)] = Int32(p) }
        var starts = [Int](repeating: 0, count: count + 1)
        var cols = [Int32](), w = [Float]()
        cols.reserveCapacity(columns.count)
        w.reserveCapacity(columns.count)
        for (p, i) in order.enumerated() {
            for e in rowStart[Int(i)]..<rowStart[Int(i) + 1] {
                cols.append(position[Int(columns[e])])
                w.append(weights[e])
            }
            starts[p + 1] = cols.count
        }
        return SparseGraph(count: count, rowStart: starts, columns: cols, weights: w)
    }
}

/// UMAP's fuzzy simplicial set of a kNN graph (McInnes, Healy & Melville
/// 2018, §3; umap-learn's `fuzzy_simplicial_set`), in three steps:
///
/// 1. `smoothDistances`: per point, ρᵢ = distance to the nearest neighbour
///    at a positive distance, and σᵢ by bisection so that
///    Σⱼ exp(−max(0, dᵢⱼ − ρᵢ)/σᵢ) = log₂(K), K = k + 1 (umap-learn's
///    `n_neighbors` counts the point itself, at distance 0).
/// 2. `memberships`: wᵢⱼ = exp(−max(0, dᵢⱼ − ρᵢ)/σᵢ), a directed graph.
/// 3. `fuzzyUnion`: the probabilistic t-conorm of the two directions,
///    w = a + b − a·b, a symmetric graph.
public enum FuzzySimplicialSet {
    /// umap-learn's `SMOOTH_K_TOLERANCE`: the bisection stops when the sum is this close to log₂K.
    static let tolerance = 1e-5
    /// umap-learn's `MIN_K_DIST_SCALE`: σᵢ is at least this times the mean neighbour distance.
    static let minimumScale: Float = 1e-3
    /// umap-learn's bisection steps (`n_iter`).
    static let bisectionSteps = 64

    /// The whole set from a kNN graph: memberships, then the fuzzy union.
    public static func build(_ graph: KNNGraph, threads: Int) -> SparseGraph {
        let (sigma, rho) = smoothDistances(graph, threads: threads)
        return fuzzyUnion(memberships(graph, sigma: sigma, rho: rho), threads: threads)
    }

    /// ρ and σ for every point (umap-learn's `smooth_knn_dist` with
    /// `local_connectivity` 1 and `bandwidth` 1). The graph excludes the
    /// point itself; umap-learn's rows include it at distance 0, so the target
    /// is log₂(k + 1) and the means below count that zero.
    ///
    /// Bisection: lo = 0, hi = ∞, σ = 1; a sum above the target lowers hi,
    /// below it raises lo (doubling σ while hi is ∞); 64 steps at most.
    /// Then σᵢ ≥ 10⁻³·mean(dᵢ) (or 10⁻³·mean of all distances when ρᵢ = 0).
    public static func smoothDistances(_ graph: KNNGraph, threads: Int) -> (sigma: [Float], rho: [Float]) {
        let n = graph.count, k = graph.k
        let target = log2(Double(k + 1))
        var sigma = [Float](repeating: 0, count: n), rho = [Float](repeating: 0, count: n)
        let allMean = graph.distances.reduce(0.0) { $0 + Double($1) } / Double(n * (k + 1))
        let pieceSize = 2048
        graph.distances.withUnsafeBufferPointer { dist in
            sigma.withUnsafeMutableBufferPointer { sb in
                rho.withUnsafeMutableBufferPointer { rb in
                    let dist = SharedBuffer(UnsafeMutablePointer(mutating: dist.baseAddress!))
                    let sb = SharedBuffer(sb), rb = SharedBuffer(rb)
                    Parallel.pieces((n + pieceSize - 1) / pieceSize, workers: threads) { p in
                        for i in (p * pieceSize)..<min(n, (p + 1) * pieceSize) {
                            let row = UnsafePointer(dist.base + i * k)
                            let r = nearestPositive(row, k)
                            rb[i] = r
                            var s = Float(bisect(row, k, rho: Double(r), target: target))
                            var rowSum = 0.0
                            for j in 0..<k { rowSum += Double(row[j]) }
                            let mean = Float(r > 0 ? rowSum / Double(k + 1) : allMean)
                            if s < minimumScale * mean { s = minimumScale * mean }
                            sb[i] = s
                        }
                    }
                }
            }
        }
        return (sigma, rho)
    }

    /// The first positive distance of a sorted row (0 if there is none).
    @inline(__always)
    static func nearestPositive(_ row: UnsafePointer<Float>, _ k: Int) -> Float {
        for j in 0..<k where row[j] > 0 { return row[j] }
        return 0
    }

    /// σ such that Σⱼ exp(−max(0, dⱼ − ρ)/σ) is within `tolerance` of `target`.
    static func bisect(_ row: UnsafePointer<Float>, _ k: Int, rho: Double, target: Double) -> Double {
        var lo = 0.0, hi = Double.greatestFiniteMagnitude, mid = 1.0
        for _ in 0..<bisectionSteps {
            var sum = 0.0
            for j in 0..<k {
                let d = Double(row[j]) - rho
                sum += d > 0 ? exp(-(d / mid)) : 1
            }
            if abs(sum - target) < tolerance { break }
            if sum > target {
                hi = mid
                mid = (lo + hi) / 2
            } else {
                lo = mid
                mid = hi == .greatestFiniteMagnitude ? mid * 2 : (lo + hi) / 2
            }
        }
        return mid
    }

    /// The directed membership strengths wᵢⱼ = exp(−max(0, dᵢⱼ − ρᵢ)/σᵢ)
    /// (1 when dᵢⱼ ≤ ρᵢ or σᵢ = 0), `count × k` beside the graph's indices.
    public static func memberships(_ graph: KNNGraph, sigma: [Float], rho: [Float]) -> KNNGraph {
        var w = graph.distances
        for i in 0..<graph.count {
            for j in 0..<graph.k {
                let d = graph.distances[i * graph.k + j] - rho[i]
                w[i * graph.k + j] = d <= 0 || sigma[i] == 0 ? 1 : exp(-(d / sigma[i]))
            }
        }
        return KNNGraph(count: graph.count, k: graph.k, indices: graph.indices, distances: w)
    }

    /// The fuzzy union of a directed membership graph (weights in `distances`)
    /// and its transpose: wᵢⱼ = a + b − a·b with a = w(i→j), b = w(j→i)
    /// (0 when absent), both directions stored, zero weights dropped.
    public static func fuzzyUnion(_ directed: KNNGraph, threads: Int) -> SparseGraph {
        SparseGraph.symmetric(directed, threads: threads) { a, b in a + b - a * b }
    }
}

extension SparseGraph {
    /// The symmetric graph of a directed one (weights in `distances`) and its
    /// transpose: wᵢⱼ = combine(a, b) with a = w(i→j), b = w(j→i) when both
    /// edges exist, else the one that does; both directions stored, columns
    /// ascending, zero weights dropped. `combine` must be commutative (the
    /// two weights of a pair meet in either order).
    public static func symmetric(_ directed: KNNGraph, threads: Int, combine: (Float, Float) -> Float) -> SparseGraph {
        let n = directed.count, k = directed.k
        // Each row gathers its own k out-edges and the in-edges pointing at it.
        var inDegree = [Int](repeating: 0, count: n)
        for e in 0..<(n * k) where directed.indices[e] >= 0 { inDegree[Int(directed.indices[e])] += 1 }
        var slotStart = [Int](repeating: 0, count: n + 1)
        for i in 0..<n { slotStart[i + 1] = slotStart[i] + k + inDegree[i] }
        var slotColumn = [Int32](repeating: -1, count: slotStart[n])
        var slotWeight = [Float](repeating: 0, count: slotStart[n])
        var fill = [Int](repeating: 0, count: n)
        for i in 0..<n {
            for j in 0..<k {
                let c = directed.indices[i * k + j]
                guard c >= 0 else { continue }
                let w = directed.distances[i * k + j]
                let out = slotStart[i] + fill[i]
                slotColumn[out] = c; slotWeight[out] = w; fill[i] += 1
                let back = slotStart[Int(c)] + fill[Int(c)]
                slotColumn[back] = Int32(i); slotWeight[back] = w; fill[Int(c)] += 1
            }
        }
        // Sort each row by column and merge an out-edge with the matching in-edge.
        var merged = [Int](repeating: 0, count: n)
        let pieceSize = 2048
        slotColumn.withUnsafeMutableBufferPointer { cb in
            slotWeight.withUnsafeMutableBufferPointer { wb in
                merged.withUnsafeMutableBufferPointer { mb in
                    let cb = SharedBuffer(cb), wb = SharedBuffer(wb), mb = SharedBuffer(mb)
                    Parallel.pieces((n + pieceSize - 1) / pieceSize, workers: threads) { p in
                        var row: [(Int32, Float)] = []
                        for i in (p * pieceSize)..<min(n, (p + 1) * pieceSize) {
                            let s = slotStart[i], count = fill[i]
                            row.removeAll(keepingCapacity: true)
                            for t in s..<(s + count) { row.append((cb[t], wb[t])) }
                            row.sort { $0.0 < $1.0 }
                            var out = 0, t = 0
                            while t < row.count {
                                var (c, w) = row[t]
                                if t + 1 < row.count && row[t + 1].0 == c {
                                    let b = row[t + 1].1
                                    w = combine(w, b)
                                    t += 1
                                }
                                t += 1
                                if w > 0 { cb[s + out] = c; wb[s + out] = w; out += 1 }
                            }
                            mb[i] = out
                        }
                    }
                }
            }
        }
        var rowStart = [Int](repeating: 0, count: n + 1)
        for i in 0..<n { rowStart[i + 1] = rowStart[i] + merged[i] }
        var columns = [Int32](repeating: 0, count: rowStart[n])
        var weights = [Float](repeating: 0, count: rowStart[n])
        for i in 0..<n {
            for t in 0..<merged[i] {
                columns[rowStart[i] + t] = slotColumn[slotStart[i] + t]
                weights[rowStart[i] + t] = slotWeight[slotStart[i] + t]
            }
        }
        return SparseGraph(count: n, rowStart: rowStart, columns: columns, weights: weights)
    }
}
