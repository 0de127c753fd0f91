import EmbeddingCore

/// One query's nearest neighbours without an index: a single pass over the
/// candidates that reads each vector once, for its product with the query and
/// its own squared length together.
///
/// `SimilarityIndex` pays a pass for the candidates' lengths and then one
/// sgemv per query, which serves many queries; a lone query (`embtool similar
/// TITLE`) would read the table twice and, for NumPy's recipe, write a
/// normalised copy of it. The table is memory-bound at k ≈ 50 (59k × 50
/// floats is 11.8 MB), so reading it once is the whole gain.
public enum SimilarityScan {
    /// The `top` candidates closest to table row `row` (never `row` itself),
    /// closest first; equal scores keep candidate order. Scores as
    /// `SimilarityIndex` gives them: cosine, dot, or −distance.
    ///
    /// - Parameters:
    ///   - table: the factor table, `rows × k`.
    ///   - candidates: the rows that may be returned, ascending.
    ///   - threads: workers for the scan, each over its own run of candidates.
    public static func neighbours(of row: Int, in table: Matrix, candidates: [Int], metric: SimilarityMetric,
                                  top: Int, threads: Int = Parallel.cores) -> [Neighbour] {
        let m = candidates.count, k = table.cols
        let skip = position(of: row, in: candidates) ?? -1
        let top = min(top, m - (skip >= 0 ? 1 : 0))
        guard top > 0 else { return [] }
        let x = query(Array(table.row(row)), metric: metric)
        var s = [Float](repeating: 0, count: m)
        table.data.withUnsafeBufferPointer { v in
            x.withUnsafeBufferPointer { xp in
                candidates.withUnsafeBufferPointer { rows in
                    s.withUnsafeMutableBufferPointer { sp in
                        // Raw addresses cross into the workers; each writes only its own run of scores.
                        let vIn = UInt(bitPattern: v.baseAddress), xIn = UInt(bitPattern: xp.baseAddress)
                        let rowsIn = UInt(bitPattern: rows.baseAddress), sOut = UInt(bitPattern: sp.baseAddress)
                        let workers = max(1, min(threads, m / minimumRunPerWorker))
                        Parallel.run(workers: workers) { w in
                            let lo = m * w / workers, hi = m * (w + 1) / workers
                            scores(query: UnsafePointer(bitPattern: xIn)!, table: UnsafePointer(bitPattern: vIn)!, cols: k,
                                   rows: UnsafePointer<Int>(bitPattern: rowsIn)! + lo, count: hi - lo, metric: metric,
                                   into: UnsafeMutablePointer<Float>(bitPattern: sOut)! + lo)
                        }
                    }
                }
            }
        }
        var best = [Float](repeating: 0, count: top), at = [Int32](repeating: 0, count: top)
        var filled = 0
        s.withUnsafeBufferPointer { sp in
            TopK.start(k: top, scores: &best, indices: &at, filled: &filled)
            TopK.offer(sp.baseAddress!, count: m, base: 0, skip: skip, k: top, scores: &best, indices: &at, filled: &filled)
        }
        let x2 = x.reduce(0) { $0 + $1 * $1 }
        return (0..<filled).map { t in
            let ranked = best[t]
            return Neighbour(row: candidates[Int(at[t])],
                             score: metric == .euclidean ? -max(0, x2 - ranked).squareRoot() : ranked)
        }
    }

    /// Below this many candidates a second worker costs more than it saves.
    static let minimumRunPerWorker = 8192

    /// The query as the scan multiplies it: unit length for cosine (its length
    /// summed in double, so that a tiny vector still normalises).
    static func query(_ x: [Float], metric: SimilarityMetric) -> [Float] {
        guard metric == .cosine else { return x }
        let scale = x.withUnsafeBufferPointer {
            SimilarityIndex.inverseLength(SimilarityIndex.squaredLength($0.baseAddress!, count: $0.count))
        }
        return x.map { Float(Double($0) * scale) }
    }

    /// `s[i]` for candidate `rows[i]`, reading its vector `v` once:
    /// cosine `x̂·v / ‖v‖` (0 for a zero vector), dot `x·v`, euclidean the
    /// ranked `2·x·v − ‖v‖²` (`SimilarityIndex`'s identity).
    ///
    /// Products and squared lengths are summed in float32, four lanes at a
    /// time. A vector whose float32 squared length leaves the normal range
    /// (components below ~1e-19 square to subnormals, above ~1e19 to ∞) is
    /// summed again in double, so its cosines keep their digits.
    static func scores(query x: UnsafePointer<Float>, table: UnsafePointer<Float>, cols k: Int,
                       rows: UnsafePointer<Int>, count n: Int, metric: SimilarityMetric, into s: UnsafeMutablePointer<Float>) {
        let xRaw = UnsafeRawPointer(x)
        let lanes = k & ~3
        for i in 0..<n {
            let v = table + rows[i] * k
            let vRaw = UnsafeRawPointer(v)
            var dot4 = SIMD4<Float>(), norm4 = SIMD4<Float>()
            var j = 0
            while j < lanes {
                let a = vRaw.loadUnaligned(fromByteOffset: j &* 4, as: SIMD4<Float>.self)
                let b = xRaw.loadUnaligned(fromByteOffset: j &* 4, as: SIMD4<Float>.self)
                dot4 = dot4 + a * b
                norm4 = norm4 + a * a
                j &+= 4
            }
            var dot = (dot4[0] + dot4[1]) + (dot4[2] + dot4[3])
            var norm2 = (norm4[0] + norm4[1]) + (norm4[2] + norm4[3])
            while j < k { dot += v[j] * x[j]; norm2 += v[j] * v[j]; j &+= 1 }
            switch metric {
            case .dot:
                s[i] = dot
            case .euclidean:
                s[i] = 2 * dot - norm2
            case .cosine:
                // Zero vectors take the double path too: a float32 sum of
                // 0 may be a short vector's underflow, not a zero vector.
                s[i] = norm2 >= normalFloor && norm2 < .infinity ? dot / norm2.squareRoot() : cosineInDouble(x, v, count: k)
            }
        }
    }

    /// Smallest float32 squared length trusted as summed: below it some squares were subnormal.
    static let normalFloor = Float(0x1p-100)

    /// `x̂·v / ‖v‖` summed in double, for vectors at the edges of float32's
    /// range; 0 for a zero vector.
    static func cosineInDouble(_ x: UnsafePointer<Float>, _ v: UnsafePointer<Float>, count k: Int) -> Float {
        var dot = 0.0
        for j in 0..<k { dot += Double(x[j]) * Double(v[j]) }
        return Float(dot * SimilarityIndex.inverseLength(SimilarityIndex.squaredLength(v, count: k)))
    }

    /// Where `row` sits in the ascending `candidates`, if it is one.
    static func position(of row: Int, in candidates: [Int]) -> Int? {
        var lo = 0, hi = candidates.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if candidates[mid] < row { lo = mid + 1 } else { hi = mid }
        }
        return lo < candidates.count && candidates[lo] == row ? lo : nil
    }
}
