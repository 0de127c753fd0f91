import EmbeddingCore
import Foundation

/// The low-dimensional similarity curve q(d) = 1 / (1 + a·d^(2b)) and its
/// fit to UMAP's target, umap-learn's `find_ab_params`:
///
///     target(d) = 1                               for d < min_dist
///               = exp(−(d − min_dist) / spread)   otherwise
///
/// sampled at 300 points evenly over [0, 3·spread], and (a, b) fitted by
/// least squares with Levenberg–Marquardt from (1, 1), as SciPy's
/// `curve_fit` does by default.
public enum UMAPCurve {
    /// (a, b) for `minDist` and `spread`; min_dist 0.1, spread 1 give
    /// a ≈ 1.577, b ≈ 0.895 (umap-learn's documented values).
    public static func fit(minDist: Double, spread: Double) throws -> (a: Double, b: Double) {
        guard spread > 0, minDist >= 0, minDist <= spread else {
            throw EmbtoolError.usage("min-dist must be between 0 and spread (\(spread)), got \(minDist)")
        }
        let xs = (0..<300).map { Double($0) * 3 * spread / 299 }
        let ys = xs.map { $0 < minDist ? 1 : exp(-($0 - minDist) / spread) }
        return levenbergMarquardt(xs, ys)
    }

    /// Least squares of Σ (1/(1 + a·x^(2b)) − y)² over (a, b), from (1, 1):
    /// Gauss–Newton steps on the normal equations damped by λ·diag(JᵀJ)
    /// (Marquardt's scaling), λ shrunk after a step that lowers the sum and
    /// grown after one that does not.
    static func levenbergMarquardt(_ xs: [Double], _ ys: [Double]) -> (a: Double, b: Double) {
        var a = 1.0, b = 1.0, lambda = 1e-3
        func cost(_ a: Double, _ b: Double) -> Double {
            zip(xs, ys).reduce(0) { s, p in
                let r = 1 / (1 + a * pow(p.0, 2 * b)) - p.1
                return s + r * r
            }
        }
        var current = cost(a, b)
        for _ in 0..<200 {
            // J rows: ∂q/∂a = −x^(2b)/(1 + a·x^(2b))², ∂q/∂b = −2a·ln(x)·x^(2b)/(1 + a·x^(2b))²
            var jaa = 0.0, jab = 0.0, jbb = 0.0, ga = 0.0, gb = 0.0
            for (x, y) in zip(xs, ys) where x > 0 {
                let p = pow(x, 2 * b), q = 1 / (1 + a * p)
                let da = -p * q * q, db = -2 * a * log(x) * p * q * q
                let r = q - y
                jaa += da * da; jab += da * db; jbb += db * db
                ga += da * r; gb += db * r
            }
            var improved = false
            for _ in 0..<30 {
                let m11 = jaa * (1 + lambda), m22 = jbb * (1 + lambda), det = m11 * m22 - jab * jab
                let stepA = -(m22 * ga - jab * gb) / det, stepB = -(m11 * gb - jab * ga) / det
                let trial = cost(a + stepA, b + stepB)
                if trial < current {
                    let relative = (current - trial) / max(current, .leastNormalMagnitude)
                    a += stepA; b += stepB; current = trial
                    lambda = max(lambda / 10, 1e-12)
                    improved = relative > 1e-12
                    break
                }
                lambda *= 10
            }
            if !improved { break }
        }
        return (a, b)
    }
}
