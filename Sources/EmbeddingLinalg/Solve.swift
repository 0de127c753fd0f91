import CLapack
import EmbeddingCore

/// Small dense linear solves through LAPACK, in double precision: the systems
/// analysis solves are tiny (factors + 1 unknowns), so accuracy costs nothing.
public enum Solve {
    /// Solves `A·x = b` for a symmetric positive-definite `n × n` matrix `A`
    /// (row-major, only its lower triangle read) by Cholesky, LAPACK `dposv`.
    /// Throws when `A` is not positive definite.
    public static func positiveDefinite(_ a: [Double], _ b: [Double], n: Int) throws -> [Double] {
        precondition(a.count == n * n && b.count == n, "Solve: A must be \(n)x\(n) and b \(n) long")
        var a = a, x = b
        let info = LAPACKE_dposv(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), 1, &a, Int32(n), &x, 1)
        if info > 0 {
            throw EmbtoolError(.software, "the \(n)x\(n) system is not positive definite (leading minor \(info))")
        }
        if info < 0 { throw EmbtoolError(.software, "LAPACK dposv rejected argument \(-info)") }
        return x
    }
}
