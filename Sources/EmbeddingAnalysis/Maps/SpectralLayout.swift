import EmbeddingCore
import EmbeddingLinalg
import Foundation

/// The spectral embedding of a weighted graph, umap-learn's `spectral_layout`:
/// the eigenvectors of the normalised Laplacian L = I − D^(−½)·W·D^(−½) with
/// the smallest eigenvalues after the trivial one (whose eigenvector is
/// D^(½)·1). They are the largest eigenvectors of N = D^(−½)·W·D^(−½), found
/// here by a thick-restarted Lanczos iteration with full reorthogonalisation
/// (umap-learn uses ARPACK's `eigsh`, tolerance 10⁻⁴, on L).
public enum SpectralLayout {
    /// Laplacian eigenvectors 2 … dims + 1 as an `n × dims` matrix, or nil
    /// when the graph is not connected (each component would then need its own
    /// layout) or the Krylov basis cannot grow.
    public static func embed(_ graph: SparseGraph, dims: Int = 2, seed: UInt64, threads: Int,
                             tolerance: Float = 1e-4) -> Matrix? {
        let n = graph.count
        guard n > dims + 2, components(graph) == 1 else { return nil }
        let operatorN = NormalisedAdjacency(graph, threads: threads)
        // The basis products are small (40 × n); OpenBLAS's own threads, spinning between
        // calls, only took the cores from the workers of N's products.
        return BLAS.singleThreaded { operatorN.largestNonTrivial(dims, seed: seed, tolerance: tolerance) }
    }

    /// The number of connected components (union–find with path halving).
    public static func components(_ graph: SparseGraph) -> Int {
        var parent = (0..<graph.count).map { $0 }
        func root(_ x: Int) -> Int {
            var x = x
            while parent[x] != x { parent[x] = parent[parent[x]]; x = parent[x] }
            return x
        }
        var count = graph.count
        for i in 0..<graph.count {
            for e in graph.rowStart[i]..<graph.rowStart[i + 1] {
                let a = root(i), b = root(Int(graph.columns[e]))
                if a != b { parent[max(a, b)] = min(a, b); count -= 1 }
            }
        }
        return count
    }
}

/// N = D^(−½)·W·D^(−½) of a symmetric graph, and its largest eigenvectors
/// orthogonal to the known top one, u₀ = D^(½)·1 / ‖D^(½)·1‖ (eigenvalue 1).
struct NormalisedAdjacency {
    let graph: SparseGraph
    let threads: Int
    /// N's entries beside `graph.columns`: wᵢⱼ·dᵢ^(−½)·dⱼ^(−½), dᵢ = Σⱼ wᵢⱼ.
    let normalisedWeights: [Float]
    /// u₀, unit length.
    let trivial: [Float]

    init(_ graph: SparseGraph, threads: Int) {
        self.graph = graph
        self.threads = threads
        var inv = [Float](repeating: 0, count: graph.count), root = [Float](repeating: 0, count: graph.count)
        for i in 0..<graph.count {
            var d = 0.0
            for e in graph.rowStart[i]..<graph.rowStart[i + 1] { d += Double(graph.weights[e]) }
            inv[i] = d > 0 ? Float(1 / d.squareRoot()) : 0
            root[i] = Float(d.squareRoot())
        }
        let norm = Float(root.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot())
        var weights = graph.weights
        for i in 0..<graph.count {
            for e in graph.rowStart[i]..<graph.rowStart[i + 1] { weights[e] *= inv[i] * inv[Int(graph.columns[e])] }
        }
        normalisedWeights = weights
        trivial = root.map { $0 / norm }
    }

    /// y ← N·x, rows split into fixed pieces, each row's sum over its CSR
    /// entries in four interleaved partial sums (one sum is a chain of
    /// dependent adds; the order is fixed, so any thread count gives the same y).
    func apply(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        let n = graph.count, pieceSize = 4096
        let xs = SharedBuffer(UnsafeMutablePointer(mutating: x)), ys = SharedBuffer(y)
        graph.rowStart.withUnsafeBufferPointer { rs in
            graph.columns.withUnsafeBufferPointer { cs in
                normalisedWeights.withUnsafeBufferPointer { ws in
                    let rs = SharedBuffer(UnsafeMutablePointer(mutating: rs.baseAddress!))
                    let cs = SharedBuffer(UnsafeMutablePointer(mutating: cs.baseAddress!))
                    let ws = SharedBuffer(UnsafeMutablePointer(mutating: ws.baseAddress!))
                    Parallel.pieces((n + pieceSize - 1) / pieceSize, workers: threads) { p in
                        for i in (p * pieceSize)..<min(n, (p + 1) * pieceSize) {
                            var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
                            var e = rs[i]
                            let end = rs[i + 1]
                            while e &+ 4 <= end {
                                s0 += ws[e] * xs[Int(cs[e])]
                                s1 += ws[e &+ 1] * xs[Int(cs[e &+ 1])]
                                s2 += ws[e &+ 2] * xs[Int(cs[e &+ 2])]
                                s3 += ws[e &+ 3] * xs[Int(cs[e &+ 3])]
                                e &+= 4
                            }
                            while e < end { s0 += ws[e] * xs[Int(cs[e])]; e &+= 1 }
                            ys[i] = (s0 + s1) + (s2 + s3)
                        }
                    }
                }
            }
        }
    }

    /// The `want` largest eigenvectors of N orthogonal to u₀, as the columns
    /// of an `n × want` matrix, eigenvalues descending.
    ///
    /// Thick-restart block Lanczos, block size `want` (a single vector cannot
    /// see both copies of a repeated eigenvalue, as a ring's cos/sin pair): the
    /// basis V (m vectors) grows by v ← N·v_(size−want), orthogonalised twice
    /// against u₀ and V (classical Gram–Schmidt through sgemv); Rayleigh–Ritz on H = Vᵀ·N·V (LAPACK dsyevr) gives Ritz pairs
    /// (θ, y); the `keep` best are the next start, and the iteration ends when
    /// ‖N·y − θ·y‖ < tolerance for the wanted ones, or after `restarts`
    /// rounds with the Ritz vectors reached (a start for the SGD needs the
    /// eigenvectors' broad shape, not their last digits).
    func largestNonTrivial(_ want: Int, seed: UInt64, tolerance: Float, restarts: Int = 30) -> Matrix? {
        let n = graph.count
        let m = min(n - 1, max(4 * want + 8, 40)), keep = min(m - 2, 3 * want + 4)
        var basis = [Float](repeating: 0, count: m * n)       // V, one vector per row
        var image = [Float](repeating: 0, count: m * n)       // N·V
        var coefficients = [Float](repeating: 0, count: m)
        var size = 0
        var rng = SplitMix64(seed: seed)

        /// Appends `v` (length n, overwritten) to the basis once orthogonalised; false if it vanished.
        func append(_ v: inout [Float]) -> Bool {
            basis.withUnsafeMutableBufferPointer { vb in
                v.withUnsafeMutableBufferPointer { x in
                    for _ in 0..<2 {
                        var t: Float = 0
                        for i in 0..<n { t += trivial[i] * x[i] }
                        for i in 0..<n { x[i] -= t * trivial[i] }
                        if size > 0 {
                            coefficients.withUnsafeMutableBufferPointer { c in
                                BLAS.gemv(rows: size, cols: n, a: vb.baseAddress!, lda: n, x: x.baseAddress!, y: c.baseAddress!)
                                BLAS.gemv(trans: true, rows: size, cols: n, alpha: -1, a: vb.baseAddress!, lda: n,
                                          x: c.baseAddress!, beta: 1, y: x.baseAddress!)
                            }
                        }
                    }
                }
            }
            let norm = v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            guard norm > 1e-6 else { return false }
            let scale = Float(1 / norm)
            basis.withUnsafeMutableBufferPointer { vb in
                for i in 0..<n { vb[size * n + i] = v[i] * scale }
            }
            basis.withUnsafeBufferPointer { vb in
                image.withUnsafeMutableBufferPointer { ib in apply(vb.baseAddress! + size * n, ib.baseAddress! + size * n) }
            }
            size += 1
            return true
        }

        for _ in 0..<want {
            var start = (0..<n).map { _ in rng.nextGaussian() }
            guard append(&start) else { return nil }
        }
        var round = 0
        while true {
            while size < m {
                var next = Array(image[((size - want) * n)..<((size - want + 1) * n)])
                if !append(&next) {
                    var random = (0..<n).map { _ in rng.nextGaussian() }
                    guard append(&random) else { return nil }
                }
            }
            // H = V·(N·V)ᵀ, symmetrised, in double precision for LAPACK.
            var h = [Float](repeating: 0, count: m * m)
            basis.withUnsafeBufferPointer { vb in
                image.withUnsafeBufferPointer { ib in
                    h.withUnsafeMutableBufferPointer { hb in
                        BLAS.gemm(transB: true, m: m, n: m, k: n, a: vb.baseAddress!, lda: n,
                                  b: ib.baseAddress!, ldb: n, c: hb.baseAddress!, ldc: m)
                    }
                }
            }
            var hd = [Double](repeating: 0, count: m * m)
            for r in 0..<m { for c in 0..<m { hd[r * m + c] = (Double(h[r * m + c]) + Double(h[c * m + r])) / 2 } }
            guard let (theta, s) = SymmetricEigen.largest(&hd, n: m, count: keep) else { return nil }
            // Ritz vectors Y = Sᵀ·V and N·Y = Sᵀ·(N·V), keep × n each.
            let sf = s.map { Float($0) }   // m × keep, row-major
            var ritz = [Float](repeating: 0, count: keep * n), ritzImage = [Float](repeating: 0, count: keep * n)
            sf.withUnsafeBufferPointer { sb in
                basis.withUnsafeBufferPointer { vb in
                    ritz.withUnsafeMutableBufferPointer { rb in
                        BLAS.gemm(transA: true, m: keep, n: n, k: m, a: sb.baseAddress!, lda: keep,
                                  b: vb.baseAddress!, ldb: n, c: rb.baseAddress!, ldc: n)
                    }
                }
                image.withUnsafeBufferPointer { ib in
                    ritzImage.withUnsafeMutableBufferPointer { rb in
                        BLAS.gemm(transA: true, m: keep, n: n, k: m, a: sb.baseAddress!, lda: keep,
                                  b: ib.baseAddress!, ldb: n, c: rb.baseAddress!, ldc: n)
                    }
                }
            }
            var converged = true
            for j in 0..<want {
                var r2: Float = 0
                for i in 0..<n {
                    let r = ritzImage[j * n + i] - Float(theta[j]) * ritz[j * n + i]
                    r2 += r * r
                }
                if r2.squareRoot() >= tolerance { converged = false }
            }
            if converged || round == restarts - 1 {
                var out = Matrix(rows: n, cols: want)
                for j in 0..<want { for i in 0..<n { out[i, j] = ritz[j * n + i] } }
                return out
            }
            // Restart from the kept Ritz vectors; the next Krylov steps continue from the last block.
            basis.replaceSubrange(0..<(keep * n), with: ritz)
            image.replaceSubrange(0..<(keep * n), with: ritzImage)
            size = keep
            round += 1
        }
    }
}
