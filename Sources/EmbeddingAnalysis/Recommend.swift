import Foundation
import EmbeddingCore
import EmbeddingLinalg

/// An item and the rating the model predicts for it.
public struct Recommendation: Equatable, Sendable {
    public var row: Int
    public var predictedRating: Float
}

/// Ranks items for a user, known or folded in.
///
/// For user vector w and bias b_u, the model's prediction for every item is
/// one sgemv, `Q·w` (Q: items × k), then the model's formula (`FactorModel.rating`).
public enum Recommender {
    /// A user as the model sees one: factors w (length k) and bias b_u.
    public struct UserVector: Sendable {
        public var factors: [Float]
        public var bias: Float
    }

    /// The model's vector for user row `u`.
    public static func user(_ u: Int, of model: FactorModel) throws -> UserVector {
        guard let uf = model.userFactors else {
            throw EmbtoolError.data("the model has no user factors (only item vectors were loaded)")
        }
        return UserVector(factors: Array(uf.row(u)), bias: model.userBias?[u] ?? 0)
    }

    /// Predicted rating per item row for the model's user row `u`: the model's
    /// own batch predictions (`RatingModel`), as evaluation sees them.
    public static func predictions(_ model: some RatingModel, user u: Int) -> [Float] {
        model.predict(users: [Int32](repeating: Int32(u), count: model.itemCount), items: (0..<model.itemCount).map(Int32.init))
    }

    /// Predicted rating per item row for a user vector (a user folded in).
    public static func predictions(_ model: FactorModel, for user: UserVector) -> [Float] {
        let dots = model.itemFactors.multiplied(by: user.factors)
        return dots.indices.map { i in
            FactorModel.rating(dot: dots[i], userBias: user.bias, itemBias: model.itemBias?[i] ?? 0, yRange: model.meta.yRange)
        }
    }

    /// The `count` best-predicted rows among `rows`, skipping `excluded`;
    /// ties by row, so runs agree.
    public static func best(_ predictions: [Float], rows: [Int], excluded: Set<Int>, count: Int) -> [Recommendation] {
        rows.lazy.filter { !excluded.contains($0) }
            .sorted { predictions[$0] != predictions[$1] ? predictions[$0] > predictions[$1] : $0 < $1 }
            .prefix(count)
            .map { Recommendation(row: $0, predictedRating: predictions[$0]) }
    }

    /// The ratings a like and a dislike stand for: 90 % and 20 % of the way up
    /// the model's rating range (4.95 and 1.1 on fastbook's 0–5.5), or 5 and 1
    /// for a model without one.
    public static func targets(_ model: FactorModel) -> (like: Float, dislike: Float) {
        guard let r = model.meta.yRange else { return (5, 1) }
        return (r.low + 0.9 * (r.high - r.low), r.low + 0.2 * (r.high - r.low))
    }

    /// b̄, the mean learned bias of the model's real users (fastai's `#na#`
    /// row left out): a typical user's, where a new user starts. 0 without
    /// user biases.
    public static func meanUserBias(_ model: FactorModel) -> Double {
        guard let b = model.userBias else { return 0 }
        let real = model.meta.userLabels.first == Vocabulary.missing ? b.dropFirst() : b[...]
        return real.isEmpty ? 0 : real.reduce(0.0) { $0 + Double($1) } / Double(real.count)
    }

    /// Folds in a new user from a few liked and disliked items: cold start
    /// without retraining, by ridge regression on the items' factors and biases.
    ///
    /// Each title i gives a target rating t_i (see `targets`), mapped through
    /// the inverse of the output squashing to the score scale,
    /// `z_i = logit((t_i − low)/(high − low))`. With b̄ the mean user bias of the
    /// model (a typical user's), the unknowns θ = (w, δ) solve
    ///
    ///     minimise  Σ_i (q_i·w + δ − y_i)² + λ(‖w‖² + δ²),   y_i = z_i − b_i − b̄
    ///
    /// through the normal equations `(AᵀA + λI)·θ = Aᵀy` with A's rows
    /// `[q_i, 1]`: a (k+1)-square positive-definite system, LAPACK dposv.
    /// The user is then `(w, b̄ + δ)`. λ keeps w short when the titles are few,
    /// so a like pulls towards its neighbours without overriding the biases.
    public static func foldIn(_ model: FactorModel, liked: [Int], disliked: [Int], ridge lambda: Double) throws -> UserVector {
        let k = model.factors
        let (like, dislike) = targets(model)
        let meanUserBias = meanUserBias(model)
        func score(_ rating: Float) -> Double {
            guard let r = model.meta.yRange else { return Double(rating) }
            let p = Double((rating - r.low) / (r.high - r.low))
            return log(p / (1 - p))
        }
        let n = k + 1
        var ata = [Double](repeating: 0, count: n * n)
        var aty = [Double](repeating: 0, count: n)
        for (rows, target) in [(liked, score(like)), (disliked, score(dislike))] {
            for i in rows {
                var a = model.itemFactors.row(i).map(Double.init)
                a.append(1)
                let y = target - Double(model.itemBias?[i] ?? 0) - meanUserBias
                for r in 0..<n {
                    aty[r] += a[r] * y
                    for c in 0...r { ata[r * n + c] += a[r] * a[c] }
                }
            }
        }
        for d in 0..<n { ata[d * n + d] += lambda }
        let theta = try Solve.positiveDefinite(ata, aty, n: n)
        return UserVector(factors: theta.prefix(k).map(Float.init), bias: Float(meanUserBias + theta[k]))
    }
}
