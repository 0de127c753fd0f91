import Dispatch

/// How closeness between two vectors is measured.
public enum SimilarityMetric: String, CaseIterable, Sendable {
    /// `a·b / (‖a‖‖b‖)`: direction only, fastbook's choice for movie vectors.
    case cosine
    /// `‖a − b‖`, reported negated so that larger is always closer.
    case euclidean
    /// `a·b`: direction and length (popular items have longer vectors).
    case dot
}

/// One neighbour: a model row and its score (cosine, dot, or −distance).
public struct Neighbour: Equatable, Sendable {
    public var row: Int
    public var score: Float
    public init(row: Int, score: Float) {
        self.row = row
        self.score = score
    }
}

/// Nearest neighbours among a set of candidate rows of a factor table.
///
/// The candidates are copied once into a contiguous `m × k` matrix V —
/// normalised to unit length for cosine — so that one query is one sgemv,
/// `s = V·x`, and all queries are sgemm tiles `S = V_block·Vᵀ`, each followed
/// by a top-k selection per row. Euclidean distance rides on the same
/// products: `‖x − v‖² = ‖x‖² − (2·x·v − ‖v‖²)`, and the bracket is what is
/// ranked (for a fixed x the order is the distance order), computed inside
/// the sgemm by starting C at `−‖v‖²` with `α = 2, β = 1`.
public struct SimilarityIndex: Sendable {
    public let metric: SimilarityMetric
    /// The model rows that may be returned, ascending.
    public let candidates: [Int]
    let vectors: Matrix
    /// `‖v‖²` per candidate, for euclidean.
    let squaredNorms: [Float]
    let table: Matrix

    /// - Parameters:
    ///   - table: the factor table (`rows × k`), e.g. a model's item factors.
    ///   - candidates: the rows that may be returned as neighbours, ascending.
    public init(table: Matrix, candidates: [Int], metric: SimilarityMetric) {
        self.metric = metric
        self.candidates = candidates
        self.table = table
        var v = table.gathering(candidates)
        let k = table.cols
        var norms2 = [Float](repeating: 0, count: metric == .euclidean ? candidates.count : 0)
        v.data.withUnsafeMutableBufferPointer { p in
            for r in 0..<candidates.count {
                var ss: Float = 0
                for j in 0..<k { ss += p[r * k + j] * p[r * k + j] }
                switch metric {
                case .cosine:
                    // A zero vector stays zero: cosine 0 with everything.
                    let scale: Float = ss > 0 ? 1 / ss.squareRoot() : 0
                    for j in 0..<k { p[r * k + j] *= scale }
                case .euclidean:
                    norms2[r] = ss
                case .dot:
                    break
                }
            }
        }
        vectors = v
        squaredNorms = norms2
    }

    /// The query vector for table row `row`: unit length for cosine.
    func query(_ row: Int) -> [Float] {
        var x = Array(table.row(row))
        if metric == .cosine {
            let n = x.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if n > 0 { x = x.map { $0 / n } }
        }
        return x
    }

    /// The public score from the ranked quantity: −distance for euclidean.
    @inline(__always)
    func finish(_ ranked: Float, queryNorm2: Float) -> Float {
        metric == .euclidean ? -max(0, queryNorm2 - ranked).squareRoot() : ranked
    }

    /// The `top` candidates closest to table row `row`, closest first, never
    /// `row` itself. One sgemv over the candidates and one selection pass.
    public func neighbours(of row: Int, top: Int) -> [Neighbour] {
        let m = candidates.count, k = table.cols
        let x = query(row)
        let skip = candidatePosition(row) ?? -1
        var s = metric == .euclidean ? squaredNorms.map { -$0 } : [Float](repeating: 0, count: m)
        let top = min(top, m - (skip >= 0 ? 1 : 0))
        guard top > 0 else { return [] }
        var scores = [Float](repeating: 0, count: top)
        var indices = [Int32](repeating: 0, count: top)
        var filled = 0
        vectors.data.withUnsafeBufferPointer { v in
            x.withUnsafeBufferPointer { xp in
                s.withUnsafeMutableBufferPointer { sp in
                    BLAS.gemv(rows: m, cols: k, alpha: metric == .euclidean ? 2 : 1, a: v.baseAddress!, lda: k,
                              x: xp.baseAddress!, beta: metric == .euclidean ? 1 : 0, y: sp.baseAddress!)
                    scores.withUnsafeMutableBufferPointer { sc in
                        indices.withUnsafeMutableBufferPointer { ix in
                            TopK.start(k: top, scores: sc.baseAddress!, indices: ix.baseAddress!, filled: &filled)
                            TopK.offer(sp.baseAddress!, count: m, base: 0, skip: skip, k: top,
                                       scores: sc.baseAddress!, indices: ix.baseAddress!, filled: &filled)
                        }
                    }
                }
            }
        }
        let x2 = x.reduce(0) { $0 + $1 * $1 }
        return (0..<filled).map { Neighbour(row: candidates[Int(indices[$0])], score: finish(scores[$0], queryNorm2: x2)) }
    }

    /// Position of table row `row` among the candidates, if it is one.
    func candidatePosition(_ row: Int) -> Int? {
        var lo = 0, hi = candidates.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if candidates[mid] < row { lo = mid + 1 } else { hi = mid }
        }
        return lo < candidates.count && candidates[lo] == row ? lo : nil
    }

    /// Every candidate's `top` neighbours among the other candidates.
    ///
    /// `S = V·Vᵀ` is never held: rows go in blocks of `blockRows`, columns in
    /// tiles of `tileColumns`, so one sgemm tile (512 × 256 floats, 512 kB)
    /// is still in L2 when the selection reads it, and each packed panel of V
    /// serves 512 rows. Blocks are dealt to `threads` workers round-robin, each
    /// running OpenBLAS single-threaded. (59k × 59k × 50 is 3.5·10¹¹ flops:
    /// the sgemm is the cost; the selection scan is a small fraction.)
    public func allNeighbours(top: Int, threads: Int = 2, blockRows: Int = 512, tileColumns: Int = 256) -> AllNeighbours {
        let m = candidates.count, k = table.cols
        let top = max(0, min(top, m - 1))
        var scores = [Float](repeating: 0, count: m * top)
        var indices = [Int32](repeating: -1, count: m * top)
        var filledCounts = [Int](repeating: 0, count: m)
        guard top > 0 else { return AllNeighbours(rows: candidates, top: top, neighbourRows: [], scores: [], filled: filledCounts) }
        let blocks = (m + blockRows - 1) / blockRows
        let workers = max(1, min(threads, blocks))
        let alpha: Float = metric == .euclidean ? 2 : 1
        let beta: Float = metric == .euclidean ? 1 : 0

        vectors.data.withUnsafeBufferPointer { vbuf in
            squaredNorms.withUnsafeBufferPointer { norms in
                scores.withUnsafeMutableBufferPointer { sbuf in
                    indices.withUnsafeMutableBufferPointer { ibuf in
                        filledCounts.withUnsafeMutableBufferPointer { fbuf in
                            let v = vbuf.baseAddress!
                            // Raw addresses cross into the workers; each writes only its own rows.
                            let sOut = UInt(bitPattern: sbuf.baseAddress), iOut = UInt(bitPattern: ibuf.baseAddress)
                            let fOut = UInt(bitPattern: fbuf.baseAddress)
                            let n2 = UInt(bitPattern: norms.baseAddress)
                            BLAS.singleThreaded {
                                DispatchQueue.concurrentPerform(iterations: workers) { w in
                                    let sc = UnsafeMutablePointer<Float>(bitPattern: sOut)!
                                    let ix = UnsafeMutablePointer<Int32>(bitPattern: iOut)!
                                    let fl = UnsafeMutablePointer<Int>(bitPattern: fOut)!
                                    let tile = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * tileColumns)
                                    defer { tile.deallocate() }
                                    for block in stride(from: w, to: blocks, by: workers) {
                                        let r0 = block * blockRows, rows = min(blockRows, m - r0)
                                        for r in r0..<(r0 + rows) {
                                            TopK.start(k: top, scores: sc + r * top, indices: ix + r * top, filled: &fl[r])
                                        }
                                        for c0 in stride(from: 0, to: m, by: tileColumns) {
                                            let cols = min(tileColumns, m - c0)
                                            if beta != 0, let n2p = UnsafePointer<Float>(bitPattern: n2) {
                                                for r in 0..<rows {
                                                    for c in 0..<cols { tile[r * cols + c] = -n2p[c0 + c] }
                                                }
                                            }
                                            BLAS.gemm(transB: true, m: rows, n: cols, k: k, alpha: alpha,
                                                      a: v + r0 * k, lda: k, b: v + c0 * k, ldb: k,
                                                      beta: beta, c: tile, ldc: cols)
                                            for r in 0..<rows {
                                                let q = r0 + r
                                                TopK.offer(tile + r * cols, count: cols, base: c0, skip: q, k: top,
                                                           scores: sc + q * top, indices: ix + q * top, filled: &fl[q])
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        // Positions to table rows, ranked quantities to public scores.
        var rows = [Int32](repeating: -1, count: m * top)
        for q in 0..<m {
            let x2 = metric == .euclidean ? squaredNorms[q] : 0
            for t in 0..<filledCounts[q] {
                rows[q * top + t] = Int32(candidates[Int(indices[q * top + t])])
                scores[q * top + t] = finish(scores[q * top + t], queryNorm2: x2)
            }
        }
        return AllNeighbours(rows: candidates, top: top, neighbourRows: rows, scores: scores, filled: filledCounts)
    }
}

/// Each candidate's nearest neighbours, flat: the neighbours of `rows[q]` are
/// `neighbourRows[q·top ..< q·top + filled[q]]` with `scores` alongside.
public struct AllNeighbours: Sendable {
    public let rows: [Int]
    public let top: Int
    public let neighbourRows: [Int32]
    public let scores: [Float]
    public let filled: [Int]

    public func neighbours(ofPosition q: Int) -> [Neighbour] {
        (0..<filled[q]).map { Neighbour(row: Int(neighbourRows[q * top + $0]), score: scores[q * top + $0]) }
    }
}
