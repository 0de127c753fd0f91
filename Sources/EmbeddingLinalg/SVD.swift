import CLapack
import EmbeddingCore

/// Thin singular value decomposition of a row-major `m × n` matrix,
///
///     A = U · diag(s) · Vᵀ,   U: m × r,  s: r (descending),  Vᵀ: r × n,  r = min(m, n),
///
/// through LAPACK's divide-and-conquer driver `sgesdd`, optionally of the
/// centred matrix `A − 1·μᵀ` (PCA's case) without forming it.
public struct SVD: Sendable {
    public let singularValues: [Float]
    /// Right singular vectors as rows, `r × n`.
    public let vt: Matrix
    /// Left singular vectors as columns, `m × r`; nil unless asked for.
    public let u: Matrix?

    /// - Parameters:
    ///   - rows: decompose only these rows of `a` (default: all).
    ///   - centring: μ (length n): decompose `A − 1·μᵀ` instead of `A`.
    ///   - computeU: when false and `A` is tall (`m ≥ n`), only `s` and `Vᵀ` are
    ///     computed, by `tallRightFactors`: the QR-first route `sgesdd` itself
    ///     takes for a tall matrix, minus forming the `m × n` orthogonal factor.
    public init(_ a: Matrix, rows: Range<Int>? = nil, centring mean: [Float]? = nil, computeU: Bool = true) throws {
        let range = rows ?? 0..<a.rows
        let m = range.count, n = a.cols, r = min(m, n)
        guard r > 0 else { throw EmbtoolError.usage("SVD of an empty \(m)x\(n) matrix") }
        precondition(mean.map { $0.count == n } ?? true, "SVD: centring vector must have \(n) entries")
        if !computeU && m >= n {
            (singularValues, vt) = try SVD.tallRightFactors(a, rows: range, centring: mean)
            u = nil
            return
        }
        let a = range == 0..<a.rows ? a : a.gathering(Array(range))
        guard !a.data.contains(where: { !$0.isFinite }) else { throw SVD.notFinite }
        // Row-major A is, byte for byte, column-major Aᵀ (n × m); LAPACK gets
        // that and the roles swap: Aᵀ = U'·S·V'ᵀ with U' n × r and V'ᵀ r × m, so
        // U' (column-major) is A's Vᵀ (row-major) and V'ᵀ is A's U.
        var work = a.data
        if let mean {
            for row in 0..<m { for j in 0..<n { work[row * n + j] -= mean[j] } }
        }
        var s = [Float](repeating: 0, count: r)
        var up = [Float](repeating: 0, count: n * r)
        var vpt = [Float](repeating: 0, count: r * m)
        try SVD.check(LAPACKE_sgesdd(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "S")), Int32(n), Int32(m), &work, Int32(n),
                                     &s, &up, Int32(n), &vpt, Int32(r)), "sgesdd")
        singularValues = s
        vt = Matrix(rows: r, cols: n, data: up)
        u = computeU ? Matrix(rows: m, cols: r, data: vpt) : nil
    }

    /// Rows per block of the tall-skinny QR: 512 × 50 floats (100 kB) stay in L2.
    static let blockRows = 512

    /// `s` and `Vᵀ` of a tall `A − 1·μᵀ` by a tall-skinny QR (TSQR): the rows
    /// go in blocks, each block is centred into a column-major buffer and
    /// reduced to its n × n triangle by `sgeqrf` (in cache, blocks shared by
    /// both cores); the stacked triangles are reduced once more to R, and
    /// `A − 1·μᵀ = Q·R` has R's singular values and right singular vectors,
    /// which `sgesdd` takes from the small R. Householder QR all the way, so
    /// nothing is squared: the accuracy of an SVD of A itself.
    static func tallRightFactors(_ a: Matrix, rows range: Range<Int>, centring mean: [Float]?) throws -> (s: [Float], vt: Matrix) {
        let m = range.count, n = a.cols
        let blocks = max(1, (m + blockRows - 1) / blockRows)
        // Block b's n × n triangle goes to rows b·n ..< (b+1)·n of a column-major stack.
        let stackRows = blocks * n
        var stack = [Float](repeating: 0, count: stackRows * n)
        var failure: Int32 = 0
        var finite = true
        let workers = min(blocks, 2)
        a.data.withUnsafeBufferPointer { src in
            stack.withUnsafeMutableBufferPointer { dst in
                let srcAddress = UInt(bitPattern: src.baseAddress! + range.lowerBound * n), dstAddress = UInt(bitPattern: dst.baseAddress)
                let zero = [Float](repeating: 0, count: n)
                let mu = mean ?? zero
                BLAS.singleThreaded {
                    Parallel.run(workers: workers) { w in
                        let x = UnsafePointer<Float>(bitPattern: srcAddress)!
                        let out = UnsafeMutablePointer<Float>(bitPattern: dstAddress)!
                        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * n)
                        let tau = UnsafeMutablePointer<Float>.allocate(capacity: n)
                        defer { buffer.deallocate(); tau.deallocate() }
                        for b in stride(from: w, to: blocks, by: workers) {
                            let r0 = b * blockRows, rows = min(blockRows, m - r0)
                            // Centre and transpose: column j of the block is contiguous.
                            // (NaN and ±∞ are caught here, on the one pass over the data.)
                            var blockFinite = true
                            for i in 0..<rows {
                                let row = x + (r0 + i) * n
                                for j in 0..<n {
                                    blockFinite = blockFinite && row[j].isFinite
                                    buffer[j * rows + i] = row[j] - mu[j]
                                }
                            }
                            if !blockFinite { finite = false; continue }
                            let info = LAPACKE_sgeqrf(LAPACK_COL_MAJOR, Int32(rows), Int32(n), buffer, Int32(rows), tau)
                            if info != 0 { failure = info }
                            // The upper triangle (a short last block gives fewer rows; the rest stays zero).
                            for j in 0..<n {
                                for i in 0...min(j, rows - 1) { out[j * stackRows + b * n + i] = buffer[j * rows + i] }
                            }
                        }
                    }
                }
            }
        }
        guard finite else { throw notFinite }
        try check(failure, "sgeqrf")
        var r = stack
        if blocks > 1 {
            var tau = [Float](repeating: 0, count: n)
            try check(LAPACKE_sgeqrf(LAPACK_COL_MAJOR, Int32(stackRows), Int32(n), &stack, Int32(stackRows), &tau), "sgeqrf")
            r = [Float](repeating: 0, count: n * n)
            for j in 0..<n { for i in 0...j { r[j * n + i] = stack[j * stackRows + i] } }
        } else {
            r = [Float](repeating: 0, count: n * n)
            for j in 0..<n { for i in 0...min(j, stackRows - 1) { r[j * n + i] = stack[j * stackRows + i] } }
        }
        // R = U_R·S·V_Rᵀ (column-major n × n); A − 1μᵀ = (Q·U_R)·S·V_Rᵀ.
        var s = [Float](repeating: 0, count: n)
        var ur = [Float](repeating: 0, count: n * n), vrt = [Float](repeating: 0, count: n * n)
        try check(LAPACKE_sgesdd(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "A")), Int32(n), Int32(n), &r, Int32(n),
                                 &s, &ur, Int32(n), &vrt, Int32(n)), "sgesdd")
        // Column-major Vᵀ to row-major.
        var vt = Matrix(rows: n, cols: n)
        for j in 0..<n { for c in 0..<n { vt[j, c] = vrt[c * n + j] } }
        return (s, vt)
    }

    static let notFinite = EmbtoolError.data("cannot decompose a matrix holding NaN or infinity")

    static func check(_ info: Int32, _ routine: String) throws {
        if info > 0 { throw EmbtoolError(.software, "LAPACK \(routine) did not converge (info \(info))") }
        if info < 0 { throw EmbtoolError(.software, "LAPACK \(routine) rejected argument \(-info)") }
    }
}
