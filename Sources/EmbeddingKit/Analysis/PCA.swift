/// Principal component analysis of the rows of a matrix, as fastbook does it
/// for movie vectors and as scikit-learn's `PCA(svd_solver='full')` computes it:
///
///     X̄ = X − 1·μᵀ                (μ: column means, X: n × k)
///     X̄ = U·diag(s)·Vᵀ            (thin SVD, LAPACK sgesdd)
///     scores = X̄·V_c               (n × c, the first c columns of V)
///     explained variance_j = s_j² / (n − 1),  ratio_j = s_j² / Σ_i s_i²
///
/// Why the SVD of X̄ and not an eigen-decomposition of the covariance X̄ᵀX̄/(n−1):
/// forming X̄ᵀX̄ squares the condition number, so in single precision a
/// component whose variance is 10⁻⁴ of the first loses about half its digits;
/// the SVD works on X̄ itself and keeps them. The cost is the same order
/// (one QR/LQ sweep over X̄), which for 59k × 50 is a few milliseconds.
///
/// Sign rule: each component's entry of largest magnitude is positive (what
/// scikit-learn ≥ 1.5 does with `svd_flip(u_based_decision=False)`), so the
/// output is the same run to run and matches scikit-learn's signs.
public struct PCA: Sendable {
    /// Column means μ, length k.
    public let mean: [Float]
    /// Principal axes as rows, `c × k`, unit length.
    public let components: Matrix
    /// s_j for every axis (not only the first c), descending.
    public let singularValues: [Float]
    /// s_j² / (n − 1) for the first c axes.
    public let explainedVariance: [Float]
    /// s_j² / Σ s_i² for the first c axes.
    public let explainedVarianceRatio: [Float]
    /// n, the number of rows fitted.
    public let sampleCount: Int

    public var componentCount: Int { components.rows }

    /// Fits `c` components to the rows of `x` and returns the fit and the
    /// scores of `x` (`n × c`).
    public static func fit(_ x: Matrix, components c: Int) throws -> (pca: PCA, scores: Matrix) {
        let n = x.rows, k = x.cols
        guard n >= 2 else { throw EmbtoolError.usage("PCA needs at least 2 vectors, got \(n)") }
        guard (1...k).contains(c), c <= n else {
            throw EmbtoolError.usage("cannot take \(c) principal components of \(n) vectors with \(k) factors (at most \(min(n, k)))")
        }
        let mean = columnMeans(x)
        let svd = try SVD(x, centring: mean, computeU: false)
        let s = svd.singularValues
        var axes = Matrix(rows: c, cols: k, data: Array(svd.vt.data[0..<(c * k)]))
        for j in 0..<c {
            let row = axes.row(j)
            let largest = row.indices.max { abs(row[$0]) < abs(row[$1]) || (abs(row[$0]) == abs(row[$1]) && $0 > $1) }!
            if row[largest] < 0 { for i in row.indices { axes.data[i] = -axes.data[i] } }
        }
        let total = s.reduce(0.0) { $0 + Double($1) * Double($1) }
        let variance = s.prefix(c).map { Float(Double($0) * Double($0) / Double(n - 1)) }
        let ratio = s.prefix(c).map { total > 0 ? Float(Double($0) * Double($0) / total) : 0 }
        let pca = PCA(mean: mean, components: axes, singularValues: s,
                      explainedVariance: variance, explainedVarianceRatio: ratio, sampleCount: n)
        return (pca, pca.transform(x))
    }

    /// Projects rows of `x` (`m × k`) onto the axes, `(x − 1·μᵀ)·V_cᵀ` (`m × c`),
    /// computed as `x·V_cᵀ − 1·(μᵀV_cᵀ)`: one sgemm over x as it is, no centred
    /// copy. (Embedding coordinates are O(1) with means near 0, so nothing cancels.)
    public func transform(_ x: Matrix) -> Matrix {
        precondition(x.cols == mean.count, "PCA: vectors have \(x.cols) factors, the fit \(mean.count)")
        var scores = x.multiplied(by: components, transposeOther: true)
        let shift = components.multiplied(by: mean)
        let c = components.rows
        scores.data.withUnsafeMutableBufferPointer { p in
            for r in 0..<x.rows { for j in 0..<c { p[r * c + j] -= shift[j] } }
        }
        return scores
    }

    /// Column means, accumulated in double precision.
    static func columnMeans(_ x: Matrix) -> [Float] {
        let k = x.cols
        var sums = [Double](repeating: 0, count: k)
        x.data.withUnsafeBufferPointer { p in
            sums.withUnsafeMutableBufferPointer { acc in
                for r in 0..<x.rows {
                    for j in 0..<k { acc[j] += Double(p[r * k + j]) }
                }
            }
        }
        return sums.map { Float($0 / Double(x.rows)) }
    }

    /// The rows at the two ends of component `j` of `scores`: the `m` lowest
    /// (most negative first) and the `m` highest (most positive first).
    public static func ends(_ scores: Matrix, component j: Int, count m: Int) -> (low: [Int], high: [Int]) {
        let order = (0..<scores.rows).sorted { scores[$0, j] < scores[$1, j] || (scores[$0, j] == scores[$1, j] && $0 < $1) }
        let m = min(m, order.count)
        return (Array(order.prefix(m)), Array(order.suffix(m).reversed()))
    }
}
