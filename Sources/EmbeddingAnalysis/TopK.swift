import EmbeddingCore
/// Selection of the `k` largest scores of a row, the partial sort that both
/// `similar` paths end in. One pass, O(n + m·k) for m insertions: a row of 59k
/// scores against a top-10 inserts a few dozen times, so the pass is a scan
/// that compares sixteen lanes against the current k-th best at once and only
/// drops to scalar code for a block that holds a candidate.
///
/// The state (`scores`, `indices`, `filled`) lives with the caller, so a row
/// can be fed in column tiles: `start` then `offer` each tile.
enum TopK {
    /// Empties a top-k buffer.
    @inline(__always)
    static func start(k: Int, scores: UnsafeMutablePointer<Float>, indices: UnsafeMutablePointer<Int32>, filled: inout Int) {
        scores.update(repeating: -.infinity, count: k)
        indices.update(repeating: -1, count: k)
        filled = 0
    }

    /// Offers `tile[0..<n]`, the scores of columns `base ..< base + n`, to the
    /// buffer; column `skip` is never taken. Keeps the `k` largest, largest
    /// first; equal scores keep column order (earlier first), so the result does
    /// not depend on tiling or threads. NaN and −∞ never enter.
    @inline(__always)
    static func offer(_ tile: UnsafePointer<Float>, count n: Int, base: Int, skip: Int, k: Int,
                      scores: UnsafeMutablePointer<Float>, indices: UnsafeMutablePointer<Int32>, filled: inout Int) {
        guard k > 0 else { return }
        var threshold = filled == k ? scores[k - 1] : -Float.infinity

        @inline(__always) func insert(_ j: Int) {
            let s = tile[j]
            guard s > threshold, base + j != skip else { return }
            var pos = min(filled, k - 1)
            while pos > 0 && scores[pos - 1] < s {
                scores[pos] = scores[pos - 1]
                indices[pos] = indices[pos - 1]
                pos -= 1
            }
            scores[pos] = s
            indices[pos] = Int32(base + j)
            if filled < k { filled += 1 }
            if filled == k { threshold = scores[k - 1] }
        }

        var j = 0
        var lanes = SIMD16<Float>(repeating: threshold)
        let raw = UnsafeRawPointer(tile)
        while j + 16 <= n {
            let v = raw.loadUnaligned(fromByteOffset: j * MemoryLayout<Float>.stride, as: SIMD16<Float>.self)
            if any(v .> lanes) {
                for jj in j..<(j + 16) { insert(jj) }
                lanes = SIMD16(repeating: threshold)
            }
            j += 16
        }
        while j < n { insert(j); j += 1 }
    }
}

/// Many queries' top-k lists in flat arrays: query position q's entries are
/// `rows[q·top ..< q·top + filled[q]]`, best first, with `scores` alongside
/// (a similarity, or a predicted rating). What `SimilarityIndex.allNeighbours`
/// and `Recommender.bestForUsers` return.
public struct TopLists: Sendable {
    /// The queries' model rows (items or users), in the order asked for.
    public let queries: [Int]
    public let top: Int
    public let rows: [Int32]
    public let scores: [Float]
    public let filled: [Int]

    /// No entries yet: every slot empty.
    init(queries: [Int], top: Int) {
        self.init(queries: queries, top: top, rows: [Int32](repeating: -1, count: queries.count * top),
                  scores: [Float](repeating: .nan, count: queries.count * top), filled: [Int](repeating: 0, count: queries.count))
    }

    init(queries: [Int], top: Int, rows: [Int32], scores: [Float], filled: [Int]) {
        (self.queries, self.top, self.rows, self.scores, self.filled) = (queries, top, rows, scores, filled)
    }

    /// Query position q's neighbours (`allNeighbours`).
    public func neighbours(ofPosition q: Int) -> [Neighbour] {
        (0..<filled[q]).map { Neighbour(row: Int(rows[q * top + $0]), score: scores[q * top + $0]) }
    }

    /// Query position q's recommendations (`bestForUsers`).
    public func recommendations(ofPosition q: Int) -> [Recommendation] {
        (0..<filled[q]).map { Recommendation(row: Int(rows[q * top + $0]), predictedRating: scores[q * top + $0]) }
    }
}
