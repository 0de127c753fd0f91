import EmbeddingCore
import EmbeddingLinalg

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

/// Every candidate's nearest neighbours among a set of candidate rows of a
/// factor table. (One query needs no index: `SimilarityScan`.)
///
/// Building the index reads the table once, for the length of every
/// candidate; the vectors themselves are not copied when the candidates are
/// a contiguous run of rows (all items, the usual case). All queries are then
/// sgemm tiles `S = V̂·V̂ᵀ` of the normalised vectors, each followed by a
/// top-k selection per row.
/// Euclidean distance rides on the same products:
/// `‖x − v‖² = ‖x‖² − (2·x·v − ‖v‖²)`, and the bracket is what is ranked (for
/// a fixed x the order is the distance order).
public struct SimilarityIndex: Sendable {
    public let metric: SimilarityMetric
    /// The model rows that may be returned, ascending.
    public let candidates: [Int]
    /// Holds the candidates' vectors from row `offset` on: the table itself
    /// when they are contiguous, else a gathered copy.
    let vectors: Matrix
    let offset: Int
    /// `‖v‖²` per candidate (euclidean ranks with it).
    let squaredNorms: [Float]
    /// `1/‖v‖` per candidate, 0 for a zero vector (cosine scales by it).
    let inverseLengths: [Double]
    let table: Matrix

    /// - Parameters:
    ///   - table: the factor table (`rows × k`), e.g. a model's item factors.
    ///   - candidates: the rows that may be returned as neighbours, ascending.
    public init(table: Matrix, candidates: [Int], metric: SimilarityMetric) {
        self.metric = metric
        self.candidates = candidates
        self.table = table
        let (v, start): (Matrix, Int)
        if let first = candidates.first, candidates.last! - first + 1 == candidates.count {
            (v, start) = (table, first)
        } else {
            (v, start) = (table.gathering(candidates), 0)
        }
        vectors = v
        offset = start
        let norms = v.data.withUnsafeBufferPointer { p in
            SimilarityIndex.rowSquaredNorms(p.baseAddress! + start * table.cols, rows: candidates.count, cols: table.cols)
        }
        squaredNorms = norms.map { Float($0) }
        inverseLengths = norms.map(SimilarityIndex.inverseLength)
    }

    /// `‖row‖²` for each row of a row-major buffer, summed in double
    /// precision: in float32 the squares of a vector shorter than ~1e-19 (a row
    /// a short run never trained) underflow, and its cosines would come out
    /// wrong. Four running sums: one would be a single dependency chain.
    static func rowSquaredNorms(_ p: UnsafePointer<Float>, rows: Int, cols k: Int) -> [Double] {
        var out = [Double](repeating: 0, count: rows)
        out.withUnsafeMutableBufferPointer { o in
            for r in 0..<rows { o[r] = squaredLength(p + r * k, count: k) }
        }
        return out
    }

    /// `Σ xⱼ²` of `count` floats, in double precision.
    @inline(__always)
    static func squaredLength(_ x: UnsafePointer<Float>, count k: Int) -> Double {
        var a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
        var j = 0
        while j + 4 <= k {
            let x0 = Double(x[j]), x1 = Double(x[j + 1]), x2 = Double(x[j + 2]), x3 = Double(x[j + 3])
            a0 += x0 * x0; a1 += x1 * x1; a2 += x2 * x2; a3 += x3 * x3
            j += 4
        }
        var ss = (a0 + a1) + (a2 + a3)
        while j < k { ss += Double(x[j]) * Double(x[j]); j += 1 }
        return ss
    }

    /// 1/‖v‖ (0 for a zero vector, which then has cosine 0 with everything).
    /// Double: for the shortest float32 vectors 1/‖v‖ exceeds Float's range.
    @inline(__always)
    static func inverseLength(_ squared: Double) -> Double { squared > 0 ? 1 / squared.squareRoot() : 0 }

    /// The public score from the ranked quantity: −distance for euclidean.
    @inline(__always)
    func finish(_ ranked: Float, queryNorm2: Float) -> Float {
        metric == .euclidean ? -max(0, queryNorm2 - ranked).squareRoot() : ranked
    }

    /// The candidates' vectors as the all-pairs products need them: a
    /// normalised copy for cosine, the vectors as they are otherwise.
    func productVectors() -> (matrix: Matrix, offset: Int) {
        guard metric == .cosine else { return (vectors, offset) }
        let m = candidates.count, k = table.cols
        var out = [Float](repeating: 0, count: m * k)
        vectors.data.withUnsafeBufferPointer { v in
            out.withUnsafeMutableBufferPointer { o in
                for r in 0..<m {
                    let scale = inverseLengths[r]
                    for j in 0..<k { o[r * k + j] = Float(Double(v[(offset + r) * k + j]) * scale) }
                }
            }
        }
        return (Matrix(rows: m, cols: k, data: out), 0)
    }

    /// Every candidate's `top` neighbours among the other candidates.
    ///
    /// `S = V·Vᵀ` is never held: rows go in blocks of `blockRows`, columns in
    /// tiles of `tileColumns`, so one sgemm tile (512 × 256 floats, 512 kB)
    /// is still in L2 when the selection reads it, and each packed panel of V
    /// serves 512 rows. Blocks are dealt to `threads` workers round-robin, each
    /// running OpenBLAS single-threaded. (59k × 59k × 50 is 3.5·10¹¹ flops:
    /// the sgemm is the cost; the selection scan is a small fraction.)
    /// For euclidean, each tile starts at `−‖v‖²` and the sgemm adds `2·x·v`.
    public func allNeighbours(top: Int, threads: Int = 2, blockRows: Int = 512, tileColumns: Int = 256) -> TopLists {
        let m = candidates.count, k = table.cols
        let top = max(0, min(top, m - 1))
        var scores = [Float](repeating: 0, count: m * top)
        var indices = [Int32](repeating: -1, count: m * top)
        var filledCounts = [Int](repeating: 0, count: m)
        guard top > 0 else { return TopLists(queries: candidates, top: 0) }
        let blocks = (m + blockRows - 1) / blockRows
        let workers = max(1, min(threads, blocks))
        let alpha: Float = metric == .euclidean ? 2 : 1
        let beta: Float = metric == .euclidean ? 1 : 0
        let (product, productOffset) = productVectors()

        product.data.withUnsafeBufferPointer { vbuf in
            squaredNorms.withUnsafeBufferPointer { norms in
                scores.withUnsafeMutableBufferPointer { sbuf in
                    indices.withUnsafeMutableBufferPointer { ibuf in
                        filledCounts.withUnsafeMutableBufferPointer { fbuf in
                            // Raw addresses cross into the workers; each writes only its own rows.
                            let vIn = UInt(bitPattern: vbuf.baseAddress! + productOffset * k)
                            let n2In = UInt(bitPattern: norms.baseAddress)
                            let sOut = UInt(bitPattern: sbuf.baseAddress), iOut = UInt(bitPattern: ibuf.baseAddress)
                            let fOut = UInt(bitPattern: fbuf.baseAddress)
                            BLAS.singleThreaded {
                                Parallel.run(workers: workers) { w in
                                    let v = UnsafePointer<Float>(bitPattern: vIn)!
                                    let n2 = UnsafePointer<Float>(bitPattern: n2In)!
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
                                            if beta != 0 {
                                                for r in 0..<rows {
                                                    for c in 0..<cols { tile[r * cols + c] = -n2[c0 + c] }
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
        return TopLists(queries: candidates, top: top, rows: rows, scores: scores, filled: filledCounts)
    }
}
