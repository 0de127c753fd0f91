import Foundation
import EmbeddingCore

/// Error of a model's predictions on a set of ratings.
public enum Evaluation {
    public struct Score: Codable, Equatable, Sendable {
        public var mse: Double
        public var rmse: Double
        public var mae: Double
        /// Ratings scored.
        public var n: Int
        /// Ratings skipped because the model has no row for their user or item.
        public var unknown: Int
    }

    /// Scores `model` on `ratings`, matching users and items by their labels
    /// (so the data may be keyed differently from the training run, as long as
    /// the item key is the same; see `KeyAlignment`). Models without labels are matched by row.
    public static func score(_ model: some RatingModel, on ratings: Ratings) -> Score {
        score(predictions: predict(model, on: ratings), ratings: ratings.rating)
    }

    /// The model's prediction for each rating, NaN where the model has no row
    /// for its user or item.
    public static func predict(_ model: some RatingModel, on ratings: Ratings) -> [Float] {
        let userRow = KeyAlignment(data: ratings.users.labels, model: model.meta.userLabels, modelRows: model.userCount).modelRow
        let itemRow = KeyAlignment(data: ratings.items.labels, model: model.meta.itemKeys, modelRows: model.itemCount).modelRow
        return model.predict(users: ratings.user.map { Int32(userRow[Int($0)]) }, items: ratings.item.map { Int32(itemRow[Int($0)]) })
    }

    /// Errors of `predictions` against `ratings`; NaN predictions count as unknown.
    public static func score(predictions: [Float], ratings: [Float]) -> Score {
        var squared = 0.0, absolute = 0.0, n = 0, unknown = 0
        for (p, r) in zip(predictions, ratings) {
            guard !p.isNaN else { unknown += 1; continue }
            let d = Double(p - r)
            squared += d * d
            absolute += abs(d)
            n += 1
        }
        let mse = n == 0 ? .nan : squared / Double(n)
        return Score(mse: mse, rmse: mse.squareRoot(), mae: n == 0 ? .nan : absolute / Double(n), n: n, unknown: unknown)
    }
}
