import CLapack
import EmbeddingCore

/// The largest eigenvalues of a real symmetric matrix and their eigenvectors
/// (LAPACK `dsyevr`, Relatively Robust Representations).
public enum SymmetricEigen {
    /// The `count` largest eigenpairs of the row-major `n x n` symmetric `a`
    /// (only its lower triangle is read; `a` is destroyed). Returns the
    /// eigenvalues in descending order and the eigenvectors as the columns of a
    /// row-major `n x count` matrix, in the same order; nil if LAPACK fails.
    public static func largest(_ a: inout [Double], n: Int, count: Int) -> (values: [Double], vectors: [Double])? {
        precondition(a.count == n * n && count >= 1 && count <= n)
        var found: Int32 = 0
        var w = [Double](repeating: 0, count: n)
        var z = [Double](repeating: 0, count: n * count)
        var support = [Int32](repeating: 0, count: 2 * count)
        // Row-major lower = column-major upper; ask for eigenvalues n-count+1 ... n (ascending).
        let info = LAPACKE_dsyevr(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "V")), Int8(UInt8(ascii: "I")),
                                  Int8(UInt8(ascii: "U")), Int32(n), &a, Int32(n), 0, 0,
                                  Int32(n - count + 1), Int32(n), 0, &found, &w, &z, Int32(n), &support)
        guard info == 0, Int(found) == count else { return nil }
        // z is column-major n x count (eigenvector j in column j), ascending; reverse to descending.
        var values = [Double](repeating: 0, count: count)
        var vectors = [Double](repeating: 0, count: n * count)
        for j in 0..<count {
            let src = count - 1 - j
            values[j] = w[src]
            for r in 0..<n { vectors[r * count + j] = z[src * n + r] }
        }
        return (values, vectors)
    }
}
