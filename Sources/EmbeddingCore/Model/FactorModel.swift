import Foundation

/// A trained (or loaded) latent-factor model, fastai's `EmbeddingDotBias`:
///
///     prediction(u, i) = sigmoid_range(u_weight[u] · i_weight[i] + u_bias[u] + i_bias[i], low, high)
///
/// Shapes: `u_weight` [n_users, k], `i_weight` [n_items, k], biases [n], where
/// rows follow the vocabularies in `meta` (row 0 is fastai's `#na#`). Factors
/// loaded from elsewhere may lack the user side or the biases.
public struct FactorModel: Sendable {
    public var userFactors: Matrix?
    public var itemFactors: Matrix
    public var userBias: [Float]?
    public var itemBias: [Float]?
    public var meta: ModelMetadata
    /// The file and tensors the factors were read from, when `FactorLoader` read them.
    public var source: FactorSource?
    /// Posterior standard deviations (and samples) when the model was sampled (recipe `best`).
    public var posterior: Posterior?

    public init(userFactors: Matrix?, itemFactors: Matrix, userBias: [Float]?, itemBias: [Float]?, meta: ModelMetadata) {
        self.userFactors = userFactors
        self.itemFactors = itemFactors
        self.userBias = userBias
        self.itemBias = itemBias
        self.meta = meta
    }

    public var factors: Int { itemFactors.cols }
    public var itemCount: Int { itemFactors.rows }

    /// The display label of item row `i`.
    public func itemLabel(_ i: Int) -> String {
        i < meta.itemLabels.count ? meta.itemLabels[i] : String(i)
    }

    /// Predicted rating of user row `u` for item row `i` (needs user factors).
    public func predict(user u: Int, item i: Int) -> Float {
        predict(users: [Int32(u)], items: [Int32(i)])[0]
    }

    /// The dot-bias model's prediction from its parts, the one place its formula is written:
    ///
    ///     ŷ = sigmoid_range(u·i + b_u + b_i, low, high)     (the raw score without a y-range)
    ///
    /// Training loops that sum the score in their own order use `ratingAndSlope`.
    @inlinable
    public static func rating(dot: Float, userBias: Float, itemBias: Float, yRange: ModelMetadata.YRange?) -> Float {
        let x = dot + userBias + itemBias
        guard let r = yRange else { return x }
        return sigmoidRange(x, low: r.low, high: r.high)
    }

    /// ŷ for a score x̂ = u·i + b_u + b_i, with dŷ/dx̂ (1 without a y-range):
    /// `rating`'s squashing and its derivative `(high - low) σ(x̂) (1 - σ(x̂))`,
    /// sharing one exponential, for the training loops' forward and backward pass.
    @inlinable @inline(__always)
    public static func ratingAndSlope(score x: Float, yRange: ModelMetadata.YRange?) -> (rating: Float, slope: Float) {
        guard let r = yRange else { return (x, 1) }
        let (value, slope) = sigmoidRangeWithSlope(x, low: r.low, high: r.high)
        return (value, slope)
    }
}

extension FactorModel: RatingModel {
    public var userCount: Int { userFactors?.rows ?? 0 }

    /// Predicted ratings, one per (user row, item row) pair; NaN for a row of
    /// -1 (a key the model lacks) or without user factors. Large batches are
    /// cut into pieces predicted on all cores; each prediction is the same whatever the cut.
    public func predict(users: [Int32], items: [Int32]) -> [Float] {
        precondition(users.count == items.count, "predict: \(users.count) users for \(items.count) items")
        guard let uf = userFactors else { return [Float](repeating: .nan, count: users.count) }
        let n = users.count, k = factors, range = meta.yRange
        guard n > 0 else { return [] }
        let pieces = max(1, n / Self.predictionsPerPiece)
        return [Float](unsafeUninitializedCapacity: n) { buffer, count in
            let out = buffer.baseAddress!
            uf.data.withUnsafeBufferPointer { up in
            itemFactors.data.withUnsafeBufferPointer { ip in
            (userBias ?? []).withUnsafeBufferPointer { ub in
            (itemBias ?? []).withUnsafeBufferPointer { ib in
            users.withUnsafeBufferPointer { us in
            items.withUnsafeBufferPointer { its in
                let (p, q) = (up.baseAddress!, ip.baseAddress!)
                Parallel.pieces(pieces) { piece in
                    for j in (n * piece / pieces)..<(n * (piece + 1) / pieces) {
                        let u = Int(us[j]), i = Int(its[j])
                        guard u >= 0 && i >= 0 else { out[j] = .nan; continue }
                        // Row pointers once: no index arithmetic (checked for overflow here) per factor.
                        let pu = p + u * k, qi = q + i * k
                        var dot: Float = 0
                        for f in 0..<k { dot += pu[f] * qi[f] }
                        out[j] = Self.rating(dot: dot, userBias: ub.isEmpty ? 0 : ub[u], itemBias: ib.isEmpty ? 0 : ib[i], yRange: range)
                    }
                }
            }}}}}}
            count = n
        }
    }

    /// Predictions per piece of a parallel batch: enough to outweigh handing a piece to a thread.
    static let predictionsPerPiece = 1 << 16

    /// fastai's `EmbeddingDotBias` state dict: `u_weight.weight` [users, k],
    /// `i_weight.weight` [items, k], `u_bias.weight` and `i_bias.weight` [n, 1],
    /// whichever the model has, then the posterior's tensors when it has one.
    public var stateDict: [Tensor] {
        var tensors: [Tensor] = []
        if let uf = userFactors { tensors.append(Tensor(name: Self.userWeight, shape: [uf.rows, uf.cols], values: uf.data)) }
        tensors.append(Tensor(name: Self.itemWeight, shape: [itemFactors.rows, itemFactors.cols], values: itemFactors.data))
        if let ub = userBias { tensors.append(Tensor(name: Self.userBiasWeight, shape: [ub.count, 1], values: ub)) }
        if let ib = itemBias { tensors.append(Tensor(name: Self.itemBiasWeight, shape: [ib.count, 1], values: ib)) }
        if let posterior { tensors += posterior.tensors(items: itemCount, factors: factors) }
        return tensors
    }

    public static let userWeight = "u_weight.weight"
    public static let itemWeight = "i_weight.weight"
    public static let userBiasWeight = "u_bias.weight"
    public static let itemBiasWeight = "i_bias.weight"
}

/// `low + (high - low) * sigmoid(x)`: squashes a score into the rating range.
@inlinable public func sigmoidRange(_ x: Float, low: Float, high: Float) -> Float {
    low + (high - low) / (1 + expf(-x))
}

/// `sigmoid_range(x, low, high) = low + (high - low) σ(x)` and its derivative
/// `(high - low) σ(x) (1 - σ(x))`, sharing one exponential.
@inlinable @inline(__always)
public func sigmoidRangeWithSlope(_ x: Float, low: Float, high: Float) -> (value: Float, slope: Float) {
    let s = 1 / (1 + expf(-x))
    let width = high - low
    return (low + width * s, width * s * (1 - s))
}

/// What analysis needs besides the tensors; stored in safetensors' `__metadata__`.
public struct ModelMetadata: Codable, Equatable, Sendable {
    public struct YRange: Codable, Equatable, Sendable {
        public var low: Float
        public var high: Float
        public init(low: Float, high: Float) { self.low = low; self.high = high }
    }

    /// Dataset name (`ml-100k`) or the source file for foreign factors.
    public var dataset: String = ""
    public var itemKey: ItemKey = .title
    public var yRange: YRange? = YRange(low: 0, high: 5.5)
    /// Vocabulary labels per row (row 0 is `#na#` for fastai-style models).
    public var userLabels: [String] = []
    /// Item keys per row: ids or titles, as `itemKey` says.
    public var itemKeys: [String] = []
    /// Unique display labels per item row.
    public var itemLabels: [String] = []
    /// Ratings per item row in the training data (empty when unknown).
    public var itemCounts: [Int] = []
    /// Genres per item row (empty when unknown).
    public var itemGenres: [[String]] = []
    /// How the model was trained: recipe, split, sampling, seed and settings.
    public var recipe = RecipeRecord()
    /// SHA-256 of the training ratings (user, item, rating rows), hex.
    public var dataChecksum: String = ""

    public init() {}

    /// Metadata for a model trained on `ratings`' vocabularies.
    public init(ratings: Ratings) {
        dataset = ratings.name
        itemKey = ratings.itemKey
        userLabels = ratings.users.labels
        itemKeys = ratings.items.labels
        itemLabels = ratings.itemLabels
        itemCounts = ratings.itemCounts()
        itemGenres = ratings.itemGenres
    }

    /// The first item row that is a real item (row 0 is `#na#` when present).
    public var firstItemRow: Int { itemKeys.first == Vocabulary.missing ? 1 : 0 }
}
