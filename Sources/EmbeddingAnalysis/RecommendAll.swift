import Foundation
import EmbeddingCore
import EmbeddingLinalg

/// Every user's best items at once, Spark's `recommendForAllUsers`.
///
/// A block of B users is scored against all m candidate items by one sgemm,
/// `S = U_B · Qᵀ` (B × m), the model's formula is applied in place and a top-k
/// pass runs per row — the blocked product `similar --all` uses. sgemm sums the
/// k products in its own order, so its scores can differ from
/// `Recommender.predictions` (a plain loop) in the last bits, enough to swap
/// two near-equal items. Each list is therefore *finished* exactly: every item
/// whose sgemm score is within the error bound `η` of the k-th best is scored
/// again by the model's own `predict`, and those are ranked as
/// `Recommender.best` ranks (prediction, then row). The result is the list
/// `recommend --user` gives, item for item and bit for bit (see `margin`).
extension Recommender {
    /// For each model user row in `users`, the `count` best-predicted rows among
    /// `rows` that are not in `excluded[u]` (the user's seen items, model rows),
    /// ranked as `best` ranks them. Blocks of users are dealt to `threads`
    /// workers, each running OpenBLAS single-threaded; the result does not
    /// depend on `threads` or `blockUsers`.
    ///
    /// - Parameters:
    ///   - users: model user rows (each `< userFactors.rows`).
    ///   - rows: candidate item rows, e.g. `Catalog.rows(minRatings:)`.
    ///   - excluded: per position in `users`, the item rows to skip (any order, repeats allowed).
    public static func bestForUsers(_ model: FactorModel, users: [Int], rows: [Int], excluded: [[Int]], count: Int,
                                    threads: Int = Parallel.cores, blockUsers: Int = 64) throws -> TopLists {
        guard let uf = model.userFactors else {
            throw EmbtoolError.data("the model has no user factors (only item vectors were loaded)")
        }
        precondition(excluded.count == users.count, "bestForUsers: one exclusion list per user")
        let n = users.count, m = rows.count, k = model.factors, top = max(0, count)
        var outRows = [Int32](repeating: -1, count: n * top)
        var outPredictions = [Float](repeating: .nan, count: n * top)
        var filled = [Int](repeating: 0, count: n)
        guard n > 0, m > 0, top > 0 else { return TopLists(queries: users, top: top) }
        let items = model.itemFactors.gathering(rows)
        let itemBias = rows.map { model.itemBias?[$0] ?? 0 }
        // position[row] = the row's column in S, or -1.
        var position = [Int32](repeating: -1, count: model.itemCount)
        for (j, r) in rows.enumerated() { position[r] = Int32(j) }
        let bound = ErrorBound(items: items, itemBias: itemBias, model: model)

        let blocks = (n + blockUsers - 1) / blockUsers
        let workers = max(1, min(threads, blocks))
        // Every block writes only its own users' slots.
        outRows.withUnsafeMutableBufferPointer { rowBuffer in
        outPredictions.withUnsafeMutableBufferPointer { predictionBuffer in
        filled.withUnsafeMutableBufferPointer { filledBuffer in
            let rowsOut = UInt(bitPattern: rowBuffer.baseAddress), predictionsOut = UInt(bitPattern: predictionBuffer.baseAddress)
            let filledOut = UInt(bitPattern: filledBuffer.baseAddress)
            BLAS.singleThreaded {
                Parallel.run(workers: workers) { w in
                    let rowsOut = UnsafeMutablePointer<Int32>(bitPattern: rowsOut)!
                    let predictionsOut = UnsafeMutablePointer<Float>(bitPattern: predictionsOut)!
                    let filledOut = UnsafeMutablePointer<Int>(bitPattern: filledOut)!
                    var block = [Float](repeating: 0, count: blockUsers * k)
                    var tile = [Float](repeating: 0, count: blockUsers * m)
                    var scores = [Float](repeating: 0, count: top)
                    var indices = [Int32](repeating: 0, count: top)
                    for b in stride(from: w, to: blocks, by: workers) {
                        let u0 = b * blockUsers, count = min(blockUsers, n - u0)
                        gatherUsers(uf, users[u0..<(u0 + count)], into: &block)
                        scoreBlock(block, users: count, items: items, into: &tile)
                        for p in 0..<count {
                            let user = users[u0 + p]
                            let list = finish(tile: &tile, offset: p * m, user: user, model: model, rows: rows, itemBias: itemBias,
                                              excluded: excluded[u0 + p], position: position, bound: bound, top: top,
                                              scores: &scores, indices: &indices)
                            let slot = (u0 + p) * top
                            for (t, r) in list.enumerated() {
                                rowsOut[slot + t] = Int32(r.row)
                                predictionsOut[slot + t] = r.predictedRating
                            }
                            filledOut[u0 + p] = list.count
                        }
                    }
                }
            }
        }}}
        return TopLists(queries: users, top: top, rows: outRows, scores: outPredictions, filled: filled)
    }

    /// `bestForUsers` for a model scored only through its own predictions
    /// (`RatingModel.predict`; fastai's `EmbeddingNN` has no dot product to
    /// block): every candidate of a block of users in one batch, each user's
    /// list then ranked by `best`.
    public static func bestForUsers(predicting model: some RatingModel, users: [Int], rows: [Int], excluded: [[Int]], count: Int,
                                    blockUsers: Int = 64) -> TopLists {
        precondition(excluded.count == users.count, "bestForUsers: one exclusion list per user")
        let top = max(0, count), m = rows.count
        var outRows = [Int32](repeating: -1, count: users.count * top)
        var outPredictions = [Float](repeating: .nan, count: users.count * top)
        var filled = [Int](repeating: 0, count: users.count)
        let candidates = rows.map(Int32.init)
        var scores = [Float](repeating: -.infinity, count: model.itemCount)
        for start in stride(from: 0, to: users.count, by: max(1, blockUsers)) {
            let block = start..<min(users.count, start + max(1, blockUsers))
            let predicted = model.predict(users: block.flatMap { [Int32](repeating: Int32(users[$0]), count: m) },
                                          items: Array([[Int32]](repeating: candidates, count: block.count).joined()))
            for (b, p) in block.enumerated() {
                for (j, r) in rows.enumerated() { scores[r] = predicted[b * m + j] }
                let list = best(scores, rows: rows, excluded: Set(excluded[p]), count: top)
                for (q, rec) in list.enumerated() {
                    outRows[p * top + q] = Int32(rec.row)
                    outPredictions[p * top + q] = rec.predictedRating
                }
                filled[p] = list.count
            }
        }
        return TopLists(queries: users, top: top, rows: outRows, scores: outPredictions, filled: filled)
    }

    /// Copies the factor rows of `users` into the row-major `block`.
    static func gatherUsers(_ factors: Matrix, _ users: ArraySlice<Int>, into block: inout [Float]) {
        let k = factors.cols
        for (p, u) in users.enumerated() {
            for f in 0..<k { block[p * k + f] = factors.data[u * k + f] }
        }
    }

    /// `tile[0 ..< users·m] = U_B · Qᵀ`: one sgemm, U_B `users × k`, Q `m × k`.
    static func scoreBlock(_ block: [Float], users: Int, items: Matrix, into tile: inout [Float]) {
        let k = items.cols, m = items.rows
        block.withUnsafeBufferPointer { a in
            items.data.withUnsafeBufferPointer { q in
                tile.withUnsafeMutableBufferPointer { c in
                    BLAS.gemm(transB: true, m: users, n: m, k: k, a: a.baseAddress!, lda: k, b: q.baseAddress!, ldb: k,
                              c: c.baseAddress!, ldc: m)
                }
            }
        }
    }

    /// One user's list from their row of dot products `tile[offset ..< offset + m]`:
    /// the formula applied in place, seen items set to −∞, a top-k pass for the
    /// k-th best approximate prediction t, then every item at or above `t − η`
    /// scored exactly by `model.predict` and ranked by `best`'s order.
    static func finish(tile: inout [Float], offset: Int, user: Int, model: FactorModel, rows: [Int], itemBias: [Float],
                       excluded: [Int], position: [Int32], bound: ErrorBound, top: Int,
                       scores: inout [Float], indices: inout [Int32]) -> [Recommendation] {
        let m = rows.count
        let userBias = model.userBias?[user] ?? 0
        let yRange = model.meta.yRange
        let eta = bound.margin(user: model.userFactors!.row(user), userBias: userBias)
        var candidates: [Int] = []
        tile.withUnsafeMutableBufferPointer { t in
            let row = t.baseAddress! + offset
            for j in 0..<m {
                row[j] = FactorModel.rating(dot: row[j], userBias: userBias, itemBias: itemBias[j], yRange: yRange)
            }
            for r in excluded where position[r] >= 0 { row[Int(position[r])] = -.infinity }
            var filled = 0
            scores.withUnsafeMutableBufferPointer { s in
                indices.withUnsafeMutableBufferPointer { ix in
                    TopK.start(k: top, scores: s.baseAddress!, indices: ix.baseAddress!, filled: &filled)
                    TopK.offer(row, count: m, base: 0, skip: -1, k: top, scores: s.baseAddress!, indices: ix.baseAddress!, filled: &filled)
                }
            }
            guard filled > 0 else { return }
            // Fewer than `top` seen-free items: all of them are the list.
            let threshold = filled == top ? scores[top - 1] - eta : -.infinity
            for j in 0..<m where row[j] >= threshold && row[j] > -.infinity { candidates.append(rows[j]) }
        }
        let exact = model.predict(users: [Int32](repeating: Int32(user), count: candidates.count), items: candidates.map(Int32.init))
        var order = Array(candidates.indices)
        order.sort { exact[$0] != exact[$1] ? exact[$0] > exact[$1] : candidates[$0] < candidates[$1] }
        return order.prefix(top).map { Recommendation(row: candidates[$0], predictedRating: exact[$0]) }
    }

    /// A bound on |p̃ − p|, the gap between a prediction from sgemm's dot
    /// product and `predict`'s, so that no item of the exact top k is missed.
    ///
    /// Any order of summing k products errs by at most γ·Σ|u_f q_f| ≤ γ‖u‖‖q‖
    /// with γ = (k+2)ε/(1 − (k+2)ε) (ε = 2⁻²⁴; the two bias additions counted
    /// in), so two orders differ by twice that, over every item at most
    /// `δ = 2γ(‖u‖·max‖q‖ + |b_u| + max|b_i|)`. `sigmoid_range` is
    /// (high − low)/4-Lipschitz and both sides round its value, so
    /// |p̃ − p| ≤ L·δ + 8 ulp(max |p|). `margin` returns twice that, doubled
    /// again for safety: a wider margin only rescores a few more items.
    struct ErrorBound: Sendable {
        let gamma: Float
        let maxItemNorm: Float
        let maxItemBias: Float
        let lipschitz: Float
        let yRange: ModelMetadata.YRange?

        init(items: Matrix, itemBias: [Float], model: FactorModel) {
            let k = Float(items.cols + 2), eps = Float.ulpOfOne / 2
            gamma = k * eps / (1 - k * eps)
            var largest: Float = 0
            for r in 0..<items.rows {
                var s: Float = 0
                for f in 0..<items.cols { s += items.data[r * items.cols + f] * items.data[r * items.cols + f] }
                largest = max(largest, s)
            }
            maxItemNorm = largest.squareRoot() * (1 + 4 * eps)
            maxItemBias = itemBias.reduce(0) { max($0, abs($1)) }
            yRange = model.meta.yRange
            lipschitz = yRange.map { ($0.high - $0.low) / 4 } ?? 1
        }

        func margin(user: ArraySlice<Float>, userBias: Float) -> Float {
            let userNorm = user.reduce(0) { $0 + $1 * $1 }.squareRoot() * (1 + Float.ulpOfOne)
            let magnitude = userNorm * maxItemNorm + abs(userBias) + maxItemBias
            let delta = 2 * gamma * magnitude
            let largest = yRange.map { max(abs($0.low), abs($0.high)) } ?? magnitude
            return 4 * (lipschitz * delta + 8 * largest.ulp)
        }
    }

    /// The items each user rated in `ratings`, as model rows: entry p lists
    /// the model item rows that `users[p]` (a model user row) rated, matched
    /// by key as `recommend --user` matches them.
    public static func seenRows(users: [Int], ratings: Ratings, model: some RatingModel) -> [[Int]] {
        let itemRow = KeyAlignment(data: ratings.items.labels, model: model.meta.itemKeys, modelRows: model.itemCount).modelRow
        let userRow = KeyAlignment(data: ratings.users.labels, model: model.meta.userLabels, modelRows: model.userCount).modelRow
        var slot = [Int](repeating: -1, count: model.userCount)
        for (p, u) in users.enumerated() where u < slot.count { slot[u] = p }
        var seen = [[Int]](repeating: [], count: users.count)
        for j in 0..<ratings.count {
            let u = userRow[Int(ratings.user[j])], i = itemRow[Int(ratings.item[j])]
            guard u >= 0, i >= 0, slot[u] >= 0 else { continue }
            seen[slot[u]].append(i)
        }
        return seen
    }

    /// The model's user rows a caller can ask for by id: every labelled row but
    /// `#na#`, each label once (its first row, as `recommend --user` finds it).
    public static func knownUsers(_ model: some RatingModel) -> [Int] {
        let labels = model.meta.userLabels
        guard labels.count == model.userCount else { return Array(0..<model.userCount) }
        var seen = Set<String>()
        return labels.indices.filter { labels[$0] != Vocabulary.missing && seen.insert(labels[$0]).inserted }
    }
}
