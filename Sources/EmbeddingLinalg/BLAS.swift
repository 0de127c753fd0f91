import CLapack
import EmbeddingCore

/// Shape-checked entry points into CBLAS for row-major `Matrix` and raw
/// row-major buffers. Everything dense goes through here, so the kernels are
/// OpenBLAS's and a shape mistake is a precondition failure, not memory
/// corruption.
public enum BLAS {
    /// `C ← α·op(A)·op(B) + β·C`, all row-major; `op(X)` is `Xᵀ` when the flag says so.
    /// Shapes: op(A) `m × k`, op(B) `k × n`, C `m × n`; `lda`, `ldb`, `ldc` are row strides.
    @inlinable
    public static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `y ← α·op(A)·x + β·y` with A row-major `rows × cols` (stride `lda`).
    @inlinable
    public static func gemv(trans: Bool = false, rows: Int, cols: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
                            beta: Float = 0, y: UnsafeMutablePointer<Float>) {
        guard rows > 0, cols > 0 else { return }
        cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(rows), Int32(cols),
                    alpha, a, Int32(lda), x, 1, beta, y, 1)
    }

    /// Runs `body` with OpenBLAS limited to one thread, for callers that
    /// parallelise over blocks themselves (two threads each calling a
    /// two-threaded sgemm would oversubscribe the cores).
    public static func singleThreaded<R>(_ body: () throws -> R) rethrows -> R {
        let before = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(before) }
        return try body()
    }
}

extension Matrix {
    /// `self · other` (`other` transposed when `transposeOther`): one sgemm.
    public func multiplied(by other: Matrix, transposeOther: Bool = false) -> Matrix {
        let (n, inner) = transposeOther ? (other.rows, other.cols) : (other.cols, other.rows)
        precondition(cols == inner, "Matrix: cannot multiply \(rows)x\(cols) by \(transposeOther ? "(\(other.rows)x\(other.cols))ᵀ" : "\(other.rows)x\(other.cols)")")
        var out = Matrix(rows: rows, cols: n)
        data.withUnsafeBufferPointer { a in
            other.data.withUnsafeBufferPointer { b in
                out.data.withUnsafeMutableBufferPointer { c in
                    BLAS.gemm(transB: transposeOther, m: rows, n: n, k: cols,
                              a: a.baseAddress!, lda: cols, b: b.baseAddress!, ldb: other.cols,
                              c: c.baseAddress!, ldc: n)
                }
            }
        }
        return out
    }

    /// `self · x`: one sgemv, a value per row.
    public func multiplied(by x: [Float]) -> [Float] {
        precondition(x.count == cols, "Matrix: \(rows)x\(cols) times a vector of \(x.count)")
        var y = [Float](repeating: 0, count: rows)
        data.withUnsafeBufferPointer { a in
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    BLAS.gemv(rows: rows, cols: cols, a: a.baseAddress!, lda: cols, x: xp.baseAddress!, y: yp.baseAddress!)
                }
            }
        }
        return y
    }

    /// The rows `indices`, in that order, copied row by row into one
    /// preallocated buffer (`rows(_:)` grows an array row by row).
    public func gathering(_ indices: [Int]) -> Matrix {
        var out = [Float](repeating: 0, count: indices.count * cols)
        let k = cols
        data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (i, r) in indices.enumerated() {
                    (dst.baseAddress! + i * k).update(from: src.baseAddress! + r * k, count: k)
                }
            }
        }
        return Matrix(rows: indices.count, cols: cols, data: out)
    }

    /// The transpose, `cols × rows`.
    public var transposed: Matrix {
        var out = Matrix(rows: cols, cols: rows)
        data.withUnsafeBufferPointer { src in
            out.data.withUnsafeMutableBufferPointer { dst in
                for r in 0..<rows {
                    for c in 0..<cols { dst[c * rows + r] = src[r * cols + c] }
                }
            }
        }
        return out
    }
}
