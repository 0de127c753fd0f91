import EmbeddingCore
import EmbeddingLinalg
import Foundation

/// The spectral embedding of a weighted graph, umap-learn's `spectral_layout`:
/// the eigenvectors of the normalised Laplacian L = I − D^(−½)·W·D^(−½) with
/// the smallest eigenvalues after the trivial one (whose eigenvector is
/// D^(½)·1). They are the largest eigenvectors of N = D^(−½)·W·D^(−½), found
/// here by a thick-restarted Lanczos iteration with full reorthogonalisation
/// (umap-learn uses ARPACK's `eigsh`, tolerance 10⁻⁴, on L).
///
/// The default tolerance on the Ritz residual ‖N·y − θ·y‖ is 10⁻³: the SGD
/// needs the start's broad shape, not its last digits. On the 59k item
/// vectors (seeds 1, 2, 3, 7, 42) it took 0.20–0.32 s instead of 0.34–0.52 s
/// at 10⁻⁴ with the same layout quality (trustworthiness 0.9085 against
/// 0.9081 on average, kNN recall 0.2775 both); ml-100k's layouts were
/// identical. 10⁻² did cost trustworthiness.
public enum SpectralLayout {
    /// Laplacian eigenvectors 2 … dims + 1 as an `n × dims` matrix, or nil
    /// when the graph is not connected (each component would then need its own
    /// layout) or the Krylov basis cannot grow.
    public static func embed(_ graph: SparseGraph, dims: Int = 2, seed: UInt64, threads: Int,
                             tolerance: Float = 1e-3) -> Matrix? {
        let n = graph.count
        guard n > dims + 2, components(graph) == 1 else { return nil }
        // Renumbered breadth-first, N's products read the vector from nearby memory rather
        // than all over it; the eigenvectors are renumbered back.
        let order = graph.breadthFirstOrder()
        let operatorN = NormalisedAdjacency(graph.renumbered(order), threads: threads)
        // The basis products are small (40 × n); OpenBLAS's own threads, spinning between
        // calls, only took the cores from the workers of N's products.
        guard let local = BLAS.singleThreaded({ operatorN.largestNonTrivial(dims, seed: seed, tolerance: tolerance) })
        else { return nil }
        var out = Matrix(rows: n, cols: dims)
        for (p, i) in order.enumerated() { for j in 0..<dims { out[Int(i), j] = local[p, j] } }
        return out
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

    /// (y₁, y₂) ← (N·x₁, N·x₂) in one pass over N, rows split into fixed
    /// pieces: each row's entries and columns are read once for both vectors,
    /// which sit interleaved (`pair[2j] = x₁[j]`, `pair[2j + 1] = x₂[j]`) so
    /// one load fetches both values of a column, and each row's sum runs in
    /// four interleaved partial sums (one sum is a chain of dependent adds; the
    /// order is fixed, so any thread count gives the same y). Reading N is the
    /// cost: a pair costs little more than one vector.
    func applyPair(_ pair: UnsafePointer<SIMD2<Float>>, _ y1: UnsafeMutablePointer<Float>, _ y2: UnsafeMutablePointer<Float>) {
        let n = graph.count, pieceSize = 4096
        let xs = SharedBuffer(UnsafeMutablePointer(mutating: pair)), y1s = SharedBuffer(y1), y2s = SharedBuffer(y2)
        graph.rowStart.withUnsafeBufferPointer { rs in
            graph.columns.withUnsafeBufferPointer { cs in
                normalisedWeights.withUnsafeBufferPointer { ws in
                    let rs = SharedBuffer(UnsafeMutablePointer(mutating: rs.baseAddress!))
                    let cs = SharedBuffer(UnsafeMutablePointer(mutating: cs.baseAddress!))
                    let ws = SharedBuffer(UnsafeMutablePointer(mutating: ws.baseAddress!))
                    Parallel.pieces((n + pieceSize - 1) / pieceSize, workers: threads) { p in
                        for i in (p * pieceSize)..<min(n, (p + 1) * pieceSize) {
                            var s0 = SIMD2<Float>(), s1 = s0, s2 = s0, s3 = s0
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
                            let sum = (s0 + s1) + (s2 + s3)
                            y1s[i] = sum.x
                            y2s[i] = sum.y
                        }
                    }
                }
            }
        }
    }

    /// Columns per piece of the Gram–Schmidt products (fixed, so the sums do
    /// not depend on the thread count).
    static let pieceSize = 8192
    static func pieces(_ n: Int) -> Int { (n + pieceSize - 1) / pieceSize }

    /// x ← x − Qᵀ·(Q·x) for the `rows` orthonormal rows of Q (`rows × n`,
    /// row-major): one classical Gram–Schmidt pass. Both products are cut into
    /// column pieces across the threads (sgemv on one thread each: a basis of
    /// 40 × 59k is read twice per pass, which one core's memory bandwidth
    /// limits); the pieces' coefficients c = Q·x are summed in piece order.
    /// `partials` holds `pieces(n) × rows` floats.
    func orthogonalise(_ x: UnsafeMutablePointer<Float>, against q: UnsafePointer<Float>, rows: Int,
                       partials: UnsafeMutablePointer<Float>) {
        let n = graph.count, count = Self.pieces(n), size = Self.pieceSize
        let xs = SharedBuffer(x), qs = SharedBuffer(UnsafeMutablePointer(mutating: q)), ps = SharedBuffer(partials)
        Parallel.pieces(count, workers: threads) { p in
            let lo = p * size, width = min(n, lo + size) - lo
            BLAS.gemv(rows: rows, cols: width, a: qs.base + lo, lda: n, x: xs.base + lo, y: ps.base + p * rows)
        }
        for p in 1..<count {
            for r in 0..<rows { partials[r] += partials[p * rows + r] }
        }
        Parallel.pieces(count, workers: threads) { p in
            let lo = p * size, width = min(n, lo + size) - lo
            BLAS.gemv(trans: true, rows: rows, cols: width, alpha: -1, a: qs.base + lo, lda: n,
                      x: ps.base, beta: 1, y: xs.base + lo)
        }
    }

    /// The `want` largest eigenvectors of N orthogonal to u₀, as the columns
    /// of an `n × want` matrix, eigenvalues descending.
    ///
    /// Thick-restart block Lanczos, block size `want` (a single vector cannot
    /// see both copies of a repeated eigenvalue, as a ring's cos/sin pair): the
    /// basis V (m vectors) grows by v ← N·v_(size−want), orthogonalised twice
    /// against u₀ and V (classical Gram–Schmidt, `orthogonalise`); Rayleigh–Ritz on H = Vᵀ·N·V (LAPACK dsyevr) gives Ritz pairs
    /// (θ, y); the `keep` best are the next start, and the iteration ends when
    /// ‖N·y − θ·y‖ < tolerance for the wanted ones, or after `restarts`
    /// rounds with the Ritz vectors reached (a start for the SGD needs the
    /// eigenvectors' broad shape, not their last digits).
    func largestNonTrivial(_ want: Int, seed: UInt64, tolerance: Float, restarts: Int = 30) -> Matrix? {
        let n = graph.count
        let m = min(n - 1, max(4 * want + 8, 40)), keep = min(m - 2, 3 * want + 4)
        // u₀, then the basis V (one vector per row): orthogonalising against both is one product.
        var store = trivial + [Float](repeating: 0, count: m * n)
        var image = [Float](repeating: 0, count: m * n)       // N·V
        var partials = [Float](repeating: 0, count: Self.pieces(n) * (m + 1))
        var size = 0
        var rng = SplitMix64(seed: seed)

        /// Appends `v` (length n, overwritten) to the basis once orthogonalised, without its
        /// image (`computeImages`); false if it vanished.
        func append(_ v: inout [Float]) -> Bool {
            store.withUnsafeMutableBufferPointer { sb in
                v.withUnsafeMutableBufferPointer { x in
                    partials.withUnsafeMutableBufferPointer { pb in
                        for _ in 0..<2 {
                            orthogonalise(x.baseAddress!, against: sb.baseAddress!, rows: size + 1, partials: pb.baseAddress!)
                        }
                    }
                }
            }
            let norm = v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            guard norm > 1e-6 else { return false }
            let scale = Float(1 / norm)
            store.withUnsafeMutableBufferPointer { sb in
                for i in 0..<n { sb[(size + 1) * n + i] = v[i] * scale }
            }
            size += 1
            return true
        }

        /// N·v for basis vectors `from ..< size`, two at a time (an odd one out paired with zeros).
        var pair = [SIMD2<Float>](repeating: .zero, count: n)
        var unused = [Float](repeating: 0, count: n)
        func computeImages(from first: Int) {
            var j = first
            while j < size {
                let both = j + 1 < size
                store.withUnsafeBufferPointer { sb in
                    image.withUnsafeMutableBufferPointer { ib in
                        unused.withUnsafeMutableBufferPointer { spare in
                            let v = sb.baseAddress! + (j + 1) * n, out = ib.baseAddress! + j * n
                            for i in 0..<n { pair[i] = SIMD2(v[i], both ? v[n + i] : 0) }
                            pair.withUnsafeBufferPointer {
                                applyPair($0.baseAddress!, out, both ? out + n : spare.baseAddress!)
                            }
                        }
                    }
                }
                j += 2
            }
        }

        for _ in 0..<want {
            var start = (0..<n).map { _ in rng.nextGaussian() }
            guard append(&start) else { return nil }
        }
        computeImages(from: 0)
        var round = 0
        while true {
            while size < m {
                // The next block: the images of the last `want` basis vectors, appended before
                // their own images are taken.
                let blockStart = size
                for _ in 0..<min(want, m - size) {
                    let source = blockStart - want + (size - blockStart)
                    var next = Array(image[(source * n)..<((source + 1) * n)])
                    if !append(&next) {
                        var random = (0..<n).map { _ in rng.nextGaussian() }
                        guard append(&random) else { return nil }
                    }
                }
                computeImages(from: blockStart)
            }
            // H = V·(N·V)ᵀ, symmetrised, in double precision for LAPACK.
            var h = [Float](repeating: 0, count: m * m)
            store.withUnsafeBufferPointer { sb in
                image.withUnsafeBufferPointer { ib in
                    h.withUnsafeMutableBufferPointer { hb in
                        BLAS.gemm(transB: true, m: m, n: m, k: n, a: sb.baseAddress! + n, lda: n,
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
                store.withUnsafeBufferPointer { vb in
                    ritz.withUnsafeMutableBufferPointer { rb in
                        BLAS.gemm(transA: true, m: keep, n: n, k: m, a: sb.baseAddress!, lda: keep,
                                  b: vb.baseAddress! + n, ldb: n, c: rb.baseAddress!, ldc: n)
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
            store.replaceSubrange(n..<((keep + 1) * n), with: ritz)
            image.replaceSubrange(0..<(keep * n), with: ritzImage)
            size = keep
            round += 1
        }
    }
}
