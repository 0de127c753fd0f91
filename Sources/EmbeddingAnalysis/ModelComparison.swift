import Foundation
import EmbeddingCore
import EmbeddingLinalg

/// How far two models of the same items agree — two seeds, two recipes, a
/// fastai checkpoint against an embtool model — item by item, matched by key.
///
/// Steps, each a function below:
/// 1. `matchItems`: the items both models hold (`KeyAlignment`, by title or
///    id; fastai's `#na#` never), optionally those with enough ratings;
/// 2. `padded`: both factor tables gathered in that order, `n × k` with
///    k = max(k_A, k_B) — the narrower padded with zero columns, so B is
///    mapped isometrically into A's space whatever the two ranks;
/// 3. `Procrustes`: B rotated onto A, `R = U·Vᵀ` from `BᵀA = U·Σ·Vᵀ`, and the
///    relative residual ‖A − BR‖_F/‖A‖_F. Not centred and not scaled: the
///    origin is where a dot product and a cosine are measured from, so the
///    rotations about it are exactly the changes that leave every prediction
///    (users rotated alike) and every cosine neighbour unchanged — a residual
///    of 0 means the two models say the same things, which a centred or scaled
///    fit would not promise;
/// 4. `neighbourOverlap`: each model's cosine top-k in its own space (no
///    alignment needed), Jaccard |N_A ∩ N_B| / |N_A ∪ N_B| per item;
/// 5. `spearman`: rank correlation of the item biases, when both have them;
/// 6. `axisAgreement`: PCA of A and of B·R, |cos| between matching axes;
/// 7. `mostChanged`: the items with the lowest overlap.
public struct ModelComparison: Sendable {
    public struct Item: Sendable {
        /// Row in model A and in model B.
        public var rowA: Int, rowB: Int
        /// Jaccard overlap of the two top-k sets, and the size of their intersection.
        public var overlap: Double
        public var shared: Int
        /// ‖a − bR‖ / ‖a‖ for this item (∞ for a zero vector in A with bR ≠ 0).
        public var residual: Double
        /// A's neighbours that B does not list, and B's that A does not (positions in `items`).
        public var onlyInA: [Int], onlyInB: [Int]
    }

    /// One bar of the overlap histogram: items sharing `shared` of their k neighbours.
    public struct Bucket: Sendable, Equatable {
        public var shared: Int
        public var jaccard: Double
        public var items: Int
    }

    public let items: [Item]
    public let top: Int
    public let factorsA: Int, factorsB: Int
    public let procrustesResidual: Double
    public let overlapMean: Double
    public let overlapMedian: Double
    /// Spearman's ρ of the item biases; nil unless both models have biases.
    public let biasSpearman: Double?
    /// |cos| of PC i of A and PC i of B·R, for the first few components.
    public let axisAgreement: [Double]

    /// - Parameters:
    ///   - rowsA: the rows of A that may be compared (e.g. `Catalog.rows(minRatings:)`).
    ///   - top: neighbours per item for the overlap.
    ///   - components: principal axes compared.
    public init(_ a: FactorModel, _ b: FactorModel, rowsA: [Int], top: Int, components: Int = 3,
                progress: ((String) -> Void)? = nil) throws {
        let (rowsA, rowsB) = try ModelComparison.matchItems(a, b, rowsA: rowsA, top: top)
        let n = rowsA.count
        let (ma, mb) = ModelComparison.padded(a.itemFactors, rowsA, b.itemFactors, rowsB)
        progress?("aligning \(n) items by orthogonal Procrustes (\(a.factors) and \(b.factors) factors)")
        let procrustes = try Procrustes(target: ma, source: mb)
        let aligned = procrustes.apply(mb)
        progress?("cosine top-\(top) neighbours of \(n) items in each model")
        let (overlap, shared, onlyA, onlyB) = ModelComparison.neighbourOverlap(ma, mb, top: top)
        let residuals = ModelComparison.itemResiduals(ma, aligned)
        items = (0..<n).map {
            Item(rowA: rowsA[$0], rowB: rowsB[$0], overlap: overlap[$0], shared: shared[$0], residual: residuals[$0],
                 onlyInA: onlyA[$0], onlyInB: onlyB[$0])
        }
        self.top = min(top, n - 1)
        (factorsA, factorsB) = (a.factors, b.factors)
        procrustesResidual = procrustes.relativeResidual
        overlapMean = overlap.reduce(0, +) / Double(n)
        overlapMedian = ModelComparison.median(overlap)
        if let ba = a.itemBias, let bb = b.itemBias {
            biasSpearman = ModelComparison.spearman(rowsA.map { Double(ba[$0]) }, rowsB.map { Double(bb[$0]) })
        } else {
            biasSpearman = nil
        }
        axisAgreement = try ModelComparison.axisAgreement(ma, aligned, components: min(components, ma.cols, n - 1))
    }

    /// Rows of A among `rowsA` whose key B also holds, and B's row for each, in
    /// A's order. Throws when fewer than `top + 1` items match (no neighbour
    /// list of length `top` could be formed).
    public static func matchItems(_ a: FactorModel, _ b: FactorModel, rowsA: [Int], top: Int) throws -> (a: [Int], b: [Int]) {
        let alignment = KeyAlignment(data: a.meta.itemKeys, model: b.meta.itemKeys, modelRows: b.itemCount)
        var ra: [Int] = [], rb: [Int] = []
        for r in rowsA where r < alignment.modelRow.count && alignment.modelRow[r] >= 0 {
            ra.append(r)
            rb.append(alignment.modelRow[r])
        }
        guard ra.count > top else {
            let keys = a.meta.itemKey == b.meta.itemKey ? "" : " (the first keys items by \(a.meta.itemKey.rawValue), the second by \(b.meta.itemKey.rawValue))"
            throw EmbtoolError.data("the two models have \(ra.count) items in common\(keys); comparing top-\(top) neighbours needs at least \(top + 1)")
        }
        return (ra, rb)
    }

    /// The rows `ra` of A and `rb` of B as two `n × k` tables, k the larger rank,
    /// the narrower zero-padded on the right.
    static func padded(_ a: Matrix, _ ra: [Int], _ b: Matrix, _ rb: [Int]) -> (Matrix, Matrix) {
        let k = max(a.cols, b.cols)
        func gather(_ m: Matrix, _ rows: [Int]) -> Matrix {
            var out = [Float](repeating: 0, count: rows.count * k)
            for (i, r) in rows.enumerated() {
                for f in 0..<m.cols { out[i * k + f] = m.data[r * m.cols + f] }
            }
            return Matrix(rows: rows.count, cols: k, data: out)
        }
        return (gather(a, ra), gather(b, rb))
    }

    /// Per item i: the Jaccard overlap of A's and B's cosine top-`top` sets
    /// (each among the n items, in its own space), the intersection size, and
    /// the positions in A's set only and in B's set only (in A's, B's rank order).
    static func neighbourOverlap(_ a: Matrix, _ b: Matrix, top: Int)
        -> (overlap: [Double], shared: [Int], onlyA: [[Int]], onlyB: [[Int]]) {
        let n = a.rows
        let na = SimilarityIndex(table: a, candidates: Array(0..<n), metric: .cosine).allNeighbours(top: top, threads: Parallel.cores)
        let nb = SimilarityIndex(table: b, candidates: Array(0..<n), metric: .cosine).allNeighbours(top: top, threads: Parallel.cores)
        var overlap = [Double](repeating: 0, count: n), shared = [Int](repeating: 0, count: n)
        var onlyA = [[Int]](repeating: [], count: n), onlyB = [[Int]](repeating: [], count: n)
        for q in 0..<n {
            let la = na.neighbours(ofPosition: q).map(\.row), lb = nb.neighbours(ofPosition: q).map(\.row)
            let (sa, sb) = (Set(la), Set(lb))
            let common = sa.intersection(sb).count
            shared[q] = common
            let union = sa.count + sb.count - common
            overlap[q] = union == 0 ? 1 : Double(common) / Double(union)
            onlyA[q] = la.filter { !sb.contains($0) }
            onlyB[q] = lb.filter { !sa.contains($0) }
        }
        return (overlap, shared, onlyA, onlyB)
    }

    /// ‖a_i − b_i‖ / ‖a_i‖ per row (0 when both are zero, ∞ when only a_i is).
    static func itemResiduals(_ a: Matrix, _ b: Matrix) -> [Double] {
        (0..<a.rows).map { i in
            var d = 0.0, s = 0.0
            for f in 0..<a.cols {
                let x = Double(a.data[i * a.cols + f]), y = Double(b.data[i * a.cols + f])
                d += (x - y) * (x - y)
                s += x * x
            }
            return s > 0 ? (d / s).squareRoot() : (d > 0 ? .infinity : 0)
        }
    }

    /// Spearman's ρ: Pearson's r of the ranks, ties given their average rank.
    /// NaN when either side is constant or fewer than two values are given.
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count, "spearman: \(x.count) against \(y.count) values")
        guard x.count >= 2 else { return .nan }
        return pearson(averageRanks(x), averageRanks(y))
    }

    /// Ranks 1…n in ascending order; a run of equal values gets the mean of its ranks.
    static func averageRanks(_ v: [Double]) -> [Double] {
        let order = v.indices.sorted { v[$0] < v[$1] }
        var ranks = [Double](repeating: 0, count: v.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for t in i...j { ranks[order[t]] = rank }
            i = j + 1
        }
        return ranks
    }

    static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        let n = Double(x.count)
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(x, y) {
            sxy += (a - mx) * (b - my)
            sxx += (a - mx) * (a - mx)
            syy += (b - my) * (b - my)
        }
        return sxx > 0 && syy > 0 ? sxy / (sxx * syy).squareRoot() : .nan
    }

    /// |cos| between the i-th principal axis of A and of B·R, i < `components`
    /// (axes are unit vectors, so |cos| = |a_i · b_i|; the sign of an axis is a
    /// convention, hence the absolute value).
    static func axisAgreement(_ a: Matrix, _ aligned: Matrix, components: Int) throws -> [Double] {
        guard components >= 1 else { return [] }
        let pa = try PCA.fit(a, components: components).pca.components
        let pb = try PCA.fit(aligned, components: components).pca.components
        return (0..<components).map { i in
            var dot = 0.0
            for f in 0..<a.cols { dot += Double(pa[i, f]) * Double(pb[i, f]) }
            return abs(dot)
        }
    }

    static func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// Items per intersection size 0…top: the overlap's distribution. Jaccard
    /// takes only these values, s / (2·top − s).
    public var histogram: [Bucket] {
        var counts = [Int](repeating: 0, count: top + 1)
        for item in items where item.shared <= top { counts[item.shared] += 1 }
        return counts.indices.map { s in
            Bucket(shared: s, jaccard: top == 0 ? 1 : Double(s) / Double(2 * top - s), items: counts[s])
        }
    }

    /// Positions in `items` of the `count` items whose neighbourhoods changed
    /// most: lowest overlap first, then more ratings first (`counts` by A's
    /// row, when known), then A's row.
    public func mostChanged(_ count: Int, counts: [Int]?) -> [Int] {
        let c = { (i: Int) in counts.map { $0[items[i].rowA] } ?? 0 }
        return items.indices.sorted { x, y in
            if items[x].overlap != items[y].overlap { return items[x].overlap < items[y].overlap }
            if c(x) != c(y) { return c(x) > c(y) }
            return items[x].rowA < items[y].rowA
        }.prefix(count).map { $0 }
    }
}
