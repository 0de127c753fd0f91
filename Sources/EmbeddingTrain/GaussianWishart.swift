import CLapack
import Foundation
import EmbeddingCore
import EmbeddingLinalg

extension SplitMix64 {
    /// Gamma(shape, 1) by Marsaglia & Tsang (2000); shapes below 1 use
    /// `Gamma(a) = Gamma(a + 1) · U^(1/a)`.
    mutating func nextGamma(shape a: Double) -> Double {
        if a < 1 {
            let u = max(Double(next() >> 11) * 0x1p-53, .leastNonzeroMagnitude)
            return nextGamma(shape: a + 1) * pow(u, 1 / a)
        }
        let d = a - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double, v: Double
            repeat {
                x = nextNormal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = Double(next() >> 11) * 0x1p-53
            if u < 1 - 0.0331 * x * x * x * x { return d * v }
            if log(max(u, .leastNonzeroMagnitude)) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
        }
    }
}

/// The Gaussian–Wishart hyper-prior of Bayesian matrix factorisation
/// (Salakhutdinov & Mnih 2008, eq. 14): given the `n` current row vectors
/// `x_1...x_n` of one side (users or items), draw that side's mean `μ` and
/// precision `Λ` from their conditional posterior, with `μ0 = 0`, `β0 = 2`,
/// `W0 = I`, `ν0 = d`:
///
///     x̄ = Σ x_j / n,   S = Σ (x_j - x̄)(x_j - x̄)ᵀ
///     W*⁻¹ = W0⁻¹ + S + β0 n / (β0 + n) · x̄ x̄ᵀ,   ν* = ν0 + n,   β* = β0 + n
///     Λ ~ Wishart(W*, ν*),   μ ~ N(n x̄ / (β0 + n), (β* Λ)⁻¹)
///
/// The algebra is in Double: d is small (the factors plus a bias).
enum GaussianWishart {
    static let beta0 = 2.0

    /// `rows` is row-major `n x d`. Returns `Λ` (row-major `d x d`, Float) and
    /// `Λ μ`, or nil when the rows hold NaN or infinity (a diverged chain).
    static func sample(rows x: UnsafePointer<Float>, n: Int, d: Int, rng: inout SplitMix64) -> (precision: [Float], precisionTimesMean: [Float])? {
        var mean = [Double](repeating: 0, count: d)
        for j in 0..<n { for c in 0..<d { mean[c] += Double(x[j * d + c]) } }
        for c in 0..<d { mean[c] /= Double(n) }
        // S via one BLAS rank-n update on the centred rows.
        var centred = [Double](repeating: 0, count: n * d)
        for j in 0..<n { for c in 0..<d { centred[j * d + c] = Double(x[j * d + c]) - mean[c] } }
        var winv = [Double](repeating: 0, count: d * d)
        for c in 0..<d { winv[c * d + c] = 1 }
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, Int32(d), Int32(n), 1, centred, Int32(d), 1, &winv, Int32(d))
        let shrink = beta0 * Double(n) / (beta0 + Double(n))
        for r in 0..<d { for c in 0...r { winv[r * d + c] += shrink * mean[r] * mean[c] } }
        for r in 0..<d { for c in (r + 1)..<d { winv[r * d + c] = winv[c * d + r] } }

        // W* = (W*⁻¹)⁻¹, then Λ = (L A)(L A)ᵀ with W* = L Lᵀ and A Bartlett's
        // lower-triangular factor: A_ii = sqrt(χ²(ν* - i)), A_ij ~ N(0, 1) below.
        var w = winv
        guard Cholesky.invert(&w, n: d), Cholesky.factor(&w, n: d) else { return nil }
        let nu = Double(d + n)
        var a = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            a[i * d + i] = (2 * rng.nextGamma(shape: (nu - Double(i)) / 2)).squareRoot()
            for j in 0..<i { a[i * d + j] = rng.nextNormal() }
        }
        var la = [Double](repeating: 0, count: d * d)
        for r in 0..<d {
            for c in 0...r {
                var s = 0.0
                for m in c...r { s += w[r * d + m] * a[m * d + c] }  // both lower triangular
                la[r * d + c] = s
            }
        }
        var lambda = [Double](repeating: 0, count: d * d)
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, Int32(d), Int32(d), 1, la, Int32(d), 0, &lambda, Int32(d))
        for r in 0..<d { for c in (r + 1)..<d { lambda[r * d + c] = lambda[c * d + r] } }

        // μ = μ* + M⁻ᵀ ε with β* Λ = M Mᵀ, μ* = n x̄ / (β0 + n).
        let betaStar = beta0 + Double(n)
        var m = lambda.map { $0 * betaStar }
        guard Cholesky.factor(&m, n: d) else { return nil }
        var mu = (0..<d).map { _ in rng.nextNormal() }
        Cholesky.solveLowerTransposed(m, &mu, n: d)
        for c in 0..<d { mu[c] += Double(n) * mean[c] / betaStar }

        var lambdaMu = [Double](repeating: 0, count: d)
        cblas_dsymv(CblasRowMajor, CblasLower, Int32(d), 1, lambda, Int32(d), mu, 1, 0, &lambdaMu, 1)
        return (lambda.map(Float.init), lambdaMu.map(Float.init))
    }
}
