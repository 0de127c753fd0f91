import CLapack
import EmbeddingCore

/// Cholesky factorisation `A = L Lᵀ` of small symmetric positive-definite
/// matrices stored row-major, and the triangular solves that use it (LAPACK
/// `?potrf`, BLAS `?trsv`). A row-major lower triangle is, read column-major,
/// an upper triangle, so LAPACK is called column-major with `uplo = 'U'` and
/// nothing is transposed or copied.
public enum Cholesky {
    /// Overwrites the lower triangle of the `n x n` row-major `a` with `L`.
    /// Returns false when `a` is not positive definite.
    @discardableResult
    public static func factor(_ a: UnsafeMutablePointer<Float>, n: Int) -> Bool {
        LAPACKE_spotrf_work(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "U")), Int32(n), a, Int32(n)) == 0
    }

    @discardableResult
    public static func factor(_ a: UnsafeMutablePointer<Double>, n: Int) -> Bool {
        LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "U")), Int32(n), a, Int32(n)) == 0
    }

    /// `x ← L⁻¹ x` (forward substitution), `L` from `factor`.
    public static func solveLower(_ l: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>, n: Int) {
        cblas_strsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, Int32(n), l, Int32(n), x, 1)
    }

    /// `x ← L⁻ᵀ x` (back substitution), `L` from `factor`.
    public static func solveLowerTransposed(_ l: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>, n: Int) {
        cblas_strsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, Int32(n), l, Int32(n), x, 1)
    }

    public static func solveLower(_ l: UnsafePointer<Double>, _ x: UnsafeMutablePointer<Double>, n: Int) {
        cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, Int32(n), l, Int32(n), x, 1)
    }

    public static func solveLowerTransposed(_ l: UnsafePointer<Double>, _ x: UnsafeMutablePointer<Double>, n: Int) {
        cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, Int32(n), l, Int32(n), x, 1)
    }

    /// Overwrites the SPD `n x n` matrix `a` (both triangles) with its inverse.
    /// Returns false when `a` is not positive definite.
    @discardableResult
    public static func invert(_ a: UnsafeMutablePointer<Double>, n: Int) -> Bool {
        guard factor(a, n: n),
              LAPACKE_dpotri_work(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "U")), Int32(n), a, Int32(n)) == 0
        else { return false }
        // potri fills one triangle (the row-major lower); mirror it.
        for r in 0..<n { for c in (r + 1)..<n { a[r * n + c] = a[c * n + r] } }
        return true
    }
}
