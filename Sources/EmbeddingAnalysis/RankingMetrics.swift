import Foundation
import EmbeddingCore

/// Top-k ranking quality on held-out ratings, the full-ranking protocol
/// (RecBole's, and what `recommend --user` shows a person):
///
/// - *candidates* for user u: every item of the model (fastai's `#na#` left
///   out) that u did not rate in the training part; they are ranked by
///   predicted rating, ties by row (`Recommender.best`), and the first k form
///   the list L_u;
/// - *relevant* R_u: the items u rated ≥ `threshold` (4) in the held-out part,
///   that the model knows and that u did not also rate in the training part
///   (those are not candidates);
/// - per user, with h = |L_u ∩ R_u|:
///
///       precision@k = h / k
///       recall@k    = h / |R_u|
///       NDCG@k      = Σ_{r ≤ k, L_u[r] ∈ R_u} 1/log₂(r + 1)  ÷  Σ_{r ≤ min(k, |R_u|)} 1/log₂(r + 1)
///
///   (binary gains; precision divides by k even when fewer than k candidates
///   exist);
/// - each averaged over the users with at least one relevant item.
///
/// Surprise's FAQ `precision_recall_at_k` ranks only the user's held-out items
/// and counts as recommended only those predicted ≥ 4; that measures ordering
/// within the test set, not what a recommender would show, so it is not used.
public enum RankingMetrics {
    public struct Score: Codable, Equatable, Sendable {
        public var k: Int
        public var precision: Double
        public var recall: Double
        public var ndcg: Double
        /// Users averaged over: those with at least one relevant held-out item.
        public var users: Int
    }

    /// "Relevant" means a held-out rating at least this high.
    public static let defaultThreshold: Float = 4

    /// One user's precision, recall and NDCG at k for the ranked list `list`
    /// (best first, at most k rows) against the relevant rows `relevant` (not empty).
    public static func user(list: [Int], relevant: Set<Int>, k: Int) -> (precision: Double, recall: Double, ndcg: Double) {
        var hits = 0, dcg = 0.0
        for (r, row) in list.prefix(k).enumerated() where relevant.contains(row) {
            hits += 1
            dcg += 1 / log2(Double(r + 2))
        }
        var ideal = 0.0
        for r in 0..<min(k, relevant.count) { ideal += 1 / log2(Double(r + 2)) }
        return (Double(hits) / Double(k), Double(hits) / Double(relevant.count), dcg / ideal)
    }

    /// The relevant rows of each user: per model user row, the model item rows
    /// rated ≥ `threshold` in `heldOut` and not rated in `train`. Users with none are left out.
    public static func relevant(_ model: some RatingModel, train: Ratings, heldOut: Ratings, threshold: Float) -> [Int: Set<Int>] {
        let itemRow = KeyAlignment(data: heldOut.items.labels, model: model.meta.itemKeys, modelRows: model.itemCount).modelRow
        let userRow = KeyAlignment(data: heldOut.users.labels, model: model.meta.userLabels, modelRows: model.userCount).modelRow
        var relevant: [Int: Set<Int>] = [:]
        for j in 0..<heldOut.count where heldOut.rating[j] >= threshold {
            let u = userRow[Int(heldOut.user[j])], i = itemRow[Int(heldOut.item[j])]
            guard u >= 0, i >= 0 else { continue }
            relevant[u, default: []].insert(i)
        }
        let users = relevant.keys.sorted()
        let seen = Recommender.seenRows(users: users, ratings: train, model: model)
        for (u, rows) in zip(users, seen) {
            relevant[u]!.subtract(rows)
            if relevant[u]!.isEmpty { relevant[u] = nil }
        }
        return relevant
    }

    /// Precision, recall and NDCG at `k` of `model` on `heldOut`, with `train`
    /// the ratings it was trained on (their items are not recommended again).
    /// Every user's list is `Recommender.bestForUsers`'s, i.e. `recommend --user`'s
    /// (for a model other than a dot product, such as fastai's `EmbeddingNN`,
    /// the ranking of its own predictions).
    public static func evaluate(_ model: some RatingModel, train: Ratings, heldOut: Ratings, k: Int,
                                threshold: Float = defaultThreshold) throws -> Score {
        let relevant = relevant(model, train: train, heldOut: heldOut, threshold: threshold)
        let users = relevant.keys.sorted()
        guard !users.isEmpty else { return Score(k: k, precision: .nan, recall: .nan, ndcg: .nan, users: 0) }
        let seen = Recommender.seenRows(users: users, ratings: train, model: model)
        let candidates = Array(model.meta.firstItemRow..<model.itemCount)
        let lists: TopLists
        if let factors = model as? FactorModel {
            lists = try Recommender.bestForUsers(factors, users: users, rows: candidates, excluded: seen, count: k)
        } else {
            lists = Recommender.bestForUsers(predicting: model, users: users, rows: candidates, excluded: seen, count: k)
        }
        var precision = 0.0, recall = 0.0, ndcg = 0.0
        for (p, u) in users.enumerated() {
            let m = user(list: lists.recommendations(ofPosition: p).map(\.row), relevant: relevant[u]!, k: k)
            precision += m.precision
            recall += m.recall
            ndcg += m.ndcg
        }
        let n = Double(users.count)
        return Score(k: k, precision: precision / n, recall: recall / n, ndcg: ndcg / n, users: users.count)
    }
}
