import EmbeddingCore
import EmbeddingLinalg
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
        try fit(x, rows: 0..<x.rows, components: c)
    }

    /// Fits `c` components to the rows `rows` of `table` — a contiguous run,
    /// such as every item after fastai's `#na#` row — without copying them.
    public static func fit(_ table: Matrix, rows: Range<Int>, components c: Int) throws -> (pca: PCA, scores: Matrix) {
        let n = rows.count, k = table.cols
        guard n >= 2 else { throw EmbtoolError.usage("PCA needs at least 2 vectors, got \(n)") }
        guard (1...k).contains(c), c <= n else {
            throw EmbtoolError.usage("cannot take \(c) principal components of \(n) vectors with \(k) factors (at most \(min(n, k)))")
        }
        let mean = columnMeans(table, rows: rows)
        let svd = try SVD(table, rows: rows, centring: mean, computeU: false)
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
        return (pca, pca.transform(table, rows: rows))
    }

    /// Projects rows of `x` (`m × k`) onto the axes, `(x − 1·μᵀ)·V_cᵀ` (`m × c`).
    public func transform(_ x: Matrix) -> Matrix { transform(x, rows: 0..<x.rows) }

    /// Projects the rows `rows` of `table` onto the axes, as
    /// `V_c·xᵀ − (V_c·μ)·1ᵀ` transposed: one sgemm over the rows as they are,
    /// no centred copy (embedding coordinates are O(1) with means near 0, so
    /// nothing cancels), with the long side as sgemm's n, where it is fastest.
    public func transform(_ table: Matrix, rows: Range<Int>) -> Matrix {
        precondition(table.cols == mean.count, "PCA: vectors have \(table.cols) factors, the fit \(mean.count)")
        let m = rows.count, k = table.cols, c = components.rows
        var t = [Float](repeating: 0, count: c * m)
        components.data.withUnsafeBufferPointer { v in
            table.data.withUnsafeBufferPointer { xp in
                t.withUnsafeMutableBufferPointer { tp in
                    BLAS.gemm(transB: true, m: c, n: m, k: k, a: v.baseAddress!, lda: k,
                              b: xp.baseAddress! + rows.lowerBound * k, ldb: k, c: tp.baseAddress!, ldc: m)
                }
            }
        }
        let shift = components.multiplied(by: mean)
        var scores = Matrix(rows: m, cols: c)
        scores.data.withUnsafeMutableBufferPointer { p in
            for r in 0..<m { for j in 0..<c { p[r * c + j] = t[j * m + r] - shift[j] } }
        }
        return scores
    }

    /// Column means of the rows `rows`, accumulated in double precision.
    static func columnMeans(_ x: Matrix, rows: Range<Int>) -> [Float] {
        let k = x.cols
        var sums = [Double](repeating: 0, count: k)
        x.data.withUnsafeBufferPointer { p in
            sums.withUnsafeMutableBufferPointer { acc in
                for r in rows {
                    for j in 0..<k { acc[j] += Double(p[r * k + j]) }
                }
            }
        }
        return sums.map { Float($0 / Double(rows.count)) }
    }

    /// The rows at the two ends of component `j` of `scores`: the `m` lowest
    /// (most negative first) and the `m` highest (most positive first).
    public static func ends(_ scores: Matrix, component j: Int, count m: Int) -> (low: [Int], high: [Int]) {
        let order = (0..<scores.rows).sorted { scores[$0, j] < scores[$1, j] || (scores[$0, j] == scores[$1, j] && $0 < $1) }
        let m = min(m, order.count)
        return (Array(order.prefix(m)), Array(order.suffix(m).reversed()))
    }
}
