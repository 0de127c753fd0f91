import CLapack

/// Thin singular value decomposition of a row-major `m × n` matrix,
///
///     A = U · diag(s) · Vᵀ,   U: m × r,  s: r (descending),  Vᵀ: r × n,  r = min(m, n),
///
/// through LAPACK's divide-and-conquer driver `sgesdd`.
///
/// Row-major `A` is, byte for byte, column-major `Aᵀ`; LAPACK is handed that
/// and the roles of `U` and `V` swap (`Aᵀ = V·diag(s)·Uᵀ`), so nothing is
/// transposed or copied on the way in or out.
public struct SVD: Sendable {
    public let singularValues: [Float]
    /// Right singular vectors as rows, `r × n`.
    public let vt: Matrix
    /// Left singular vectors as columns, `m × r`; nil unless asked for.
    public let u: Matrix?

    /// - Parameter computeU: when false and `A` is tall (`m ≥ n`, PCA's case), the
    ///   decomposition goes through an LQ factorisation of `Aᵀ` (`sgelqf`) and an
    ///   SVD of the small `n × n` triangle: the same first step `sgesdd` takes for
    ///   a tall matrix, minus forming the `m × n` orthogonal factor nobody asked for.
    public init(_ a: Matrix, computeU: Bool = true) throws {
        let m = a.rows, n = a.cols, r = min(m, n)
        guard r > 0 else { throw EmbtoolError.usage("SVD of an empty \(m)x\(n) matrix") }
        guard !a.data.contains(where: { !$0.isFinite }) else {
            throw EmbtoolError.data("cannot decompose a matrix holding NaN or infinity")
        }
        var work = a.data
        var s = [Float](repeating: 0, count: r)
        if !computeU && m >= n {
            // Aᵀ (n × m, column-major) = L·Q, so A = Qᵀ·Lᵀ and A's right singular
            // vectors are L's left ones: L = U_L·S·V_Lᵀ  ⇒  A = (Qᵀ·V_L)·S·U_Lᵀ.
            var tau = [Float](repeating: 0, count: n)
            try SVD.check(LAPACKE_sgelqf(LAPACK_COL_MAJOR, Int32(n), Int32(m), &work, Int32(n), &tau), "sgelqf")
            var l = [Float](repeating: 0, count: n * n)
            for j in 0..<n { for i in j..<n { l[j * n + i] = work[j * n + i] } }
            var ul = [Float](repeating: 0, count: n * n)
            var vlt = [Float](repeating: 0, count: n * n)
            try SVD.check(LAPACKE_sgesdd(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "A")), Int32(n), Int32(n), &l, Int32(n),
                                         &s, &ul, Int32(n), &vlt, Int32(n)), "sgesdd")
            // Column j of U_L (contiguous in column-major) is row j of Vᵀ.
            singularValues = s
            vt = Matrix(rows: n, cols: n, data: ul)
            u = nil
            return
        }
        // Aᵀ (n × m, column-major) = U'·S·V'ᵀ with U' n × r and V'ᵀ r × m.
        // U' in column-major is A's Vᵀ in row-major; V'ᵀ in column-major is A's U in row-major.
        var up = [Float](repeating: 0, count: n * r)
        var vpt = [Float](repeating: 0, count: r * m)
        try SVD.check(LAPACKE_sgesdd(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "S")), Int32(n), Int32(m), &work, Int32(n),
                                     &s, &up, Int32(n), &vpt, Int32(r)), "sgesdd")
        singularValues = s
        vt = Matrix(rows: r, cols: n, data: up)
        u = computeU ? Matrix(rows: m, cols: r, data: vpt) : nil
    }

    static func check(_ info: Int32, _ routine: String) throws {
        if info > 0 { throw EmbtoolError(.software, "LAPACK \(routine) did not converge (info \(info))") }
        if info < 0 { throw EmbtoolError(.software, "LAPACK \(routine) rejected argument \(-info)") }
    }
}
