import CLapack
import EmbeddingCore

/// Orthogonal Procrustes (Schönemann 1966): the rotation (or reflection) R
/// that best maps the rows of B onto the rows of A,
///
///     R = argmin ‖A − B·R‖_F over RᵀR = I,   R = U·Vᵀ  where  BᵀA = U·Σ·Vᵀ,
///
/// A and B both `n × k` with row i of each describing the same item. BᵀA is
/// accumulated in double precision (one dgemm) and decomposed by LAPACK's
/// `dgesdd`; the residual is reported relative to A:
/// `‖A − B·R‖_F / ‖A‖_F` (0 when B is a rotated copy of A).
public struct Procrustes: Sendable {
    /// k, the side of R.
    public let dimension: Int
    /// R, `k × k` row-major, orthogonal.
    public let rotation: [Double]
    /// ‖A − B·R‖_F / ‖A‖_F.
    public let relativeResidual: Double

    /// - Parameters:
    ///   - target: A, `n × k`.
    ///   - source: B, `n × k`, rotated onto A.
    public init(target a: Matrix, source b: Matrix) throws {
        precondition(a.rows == b.rows && a.cols == b.cols, "Procrustes: A is \(a.rows)x\(a.cols), B \(b.rows)x\(b.cols)")
        let n = a.rows, k = a.cols
        guard n > 0, k > 0 else { throw EmbtoolError.usage("Procrustes needs at least one row and one column") }
        guard !a.data.contains(where: { !$0.isFinite }), !b.data.contains(where: { !$0.isFinite }) else {
            throw EmbtoolError.data("cannot align factors holding NaN or infinity")
        }
        let ad = a.data.map(Double.init), bd = b.data.map(Double.init)
        let m = Procrustes.crossProduct(bd, ad, rows: n, cols: k)
        rotation = try Procrustes.nearestOrthogonal(m, k: k)
        dimension = k
        relativeResidual = Procrustes.relativeResidual(ad, bd, rotation: rotation, rows: n, cols: k)
    }

    /// `BᵀA` (`k × k`), one dgemm over row-major `n × k` buffers.
    static func crossProduct(_ b: [Double], _ a: [Double], rows n: Int, cols k: Int) -> [Double] {
        var m = [Double](repeating: 0, count: k * k)
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(k), Int32(k), Int32(n), 1, b, Int32(k), a, Int32(k), 0, &m, Int32(k))
        return m
    }

    /// The orthogonal matrix nearest to M in Frobenius norm, `U·Vᵀ` from
    /// M = U·Σ·Vᵀ (`dgesdd`); M is `k × k` row-major.
    static func nearestOrthogonal(_ m: [Double], k: Int) throws -> [Double] {
        var work = m
        var s = [Double](repeating: 0, count: k)
        var u = [Double](repeating: 0, count: k * k), vt = [Double](repeating: 0, count: k * k)
        let info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "A")), Int32(k), Int32(k), &work, Int32(k),
                                  &s, &u, Int32(k), &vt, Int32(k))
        try SVD.check(info, "dgesdd")
        var r = [Double](repeating: 0, count: k * k)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(k), Int32(k), Int32(k), 1, u, Int32(k), vt, Int32(k), 0, &r, Int32(k))
        return r
    }

    /// `‖A − B·R‖_F / ‖A‖_F` (0 when A is zero and B·R is too).
    static func relativeResidual(_ a: [Double], _ b: [Double], rotation r: [Double], rows n: Int, cols k: Int) -> Double {
        var br = [Double](repeating: 0, count: n * k)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(k), Int32(k), 1, b, Int32(k), r, Int32(k), 0, &br, Int32(k))
        var difference = 0.0, norm = 0.0
        for i in 0..<(n * k) {
            difference += (a[i] - br[i]) * (a[i] - br[i])
            norm += a[i] * a[i]
        }
        return norm > 0 ? (difference / norm).squareRoot() : (difference > 0 ? .infinity : 0)
    }

    /// `B·R` as float, `n × k`: B in A's coordinates.
    public func apply(_ b: Matrix) -> Matrix {
        precondition(b.cols == dimension, "Procrustes.apply: B has \(b.cols) columns, R is \(dimension)x\(dimension)")
        let bd = b.data.map(Double.init)
        var out = [Double](repeating: 0, count: b.rows * dimension)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(b.rows), Int32(dimension), Int32(dimension), 1,
                    bd, Int32(dimension), rotation, Int32(dimension), 0, &out, Int32(dimension))
        return Matrix(rows: b.rows, cols: dimension, data: out.map(Float.init))
    }
}
