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
        guard let uf = userFactors else { return .nan }
        let k = factors
        var dot: Float = 0
        uf.data.withUnsafeBufferPointer { up in
            itemFactors.data.withUnsafeBufferPointer { ip in
                for f in 0..<k { dot += up[u * k + f] * ip[i * k + f] }
            }
        }
        let raw = dot + (userBias?[u] ?? 0) + (itemBias?[i] ?? 0)
        return meta.yRange.map { sigmoidRange(raw, low: $0.low, high: $0.high) } ?? raw
    }
}

/// `low + (high - low) * sigmoid(x)`: squashes a score into the rating range.
@inlinable public func sigmoidRange(_ x: Float, low: Float, high: Float) -> Float {
    low + (high - low) / (1 + expf(-x))
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
    /// Recipe and hyper-parameters that produced the model, free-form.
    public var recipe: [String: String] = [:]
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
