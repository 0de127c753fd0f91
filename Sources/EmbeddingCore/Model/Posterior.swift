/// The posterior spread of a model trained by sampling (recipe `best`), kept
/// beside fastai's four tensors as optional extra tensors (fastai loads such a
/// file with `strict=False`; readers that do not know them skip them):
///
/// | tensor             | shape               | what |
/// |--------------------|---------------------|------|
/// | `i_bias_sd`        | [n_items]           | posterior sd of `i_bias.weight` |
/// | `u_bias_sd`        | [n_users]           | posterior sd of `u_bias.weight` |
/// | `i_norm_sd`        | [n_items]           | posterior sd of ‖`i_weight.weight[i]`‖ |
/// | `u_norm_sd`        | [n_users]           | posterior sd of ‖`u_weight.weight[u]`‖ |
/// | `i_weight_samples` | [S, n_items, k]     | S thinned posterior samples of `i_weight.weight` (optional) |
///
/// Each sd is over the samples the model averages, of the quantity as the
/// model file stores it (`BayesianMF` says how a sample is mapped to it).
public struct Posterior: Equatable, Sendable {
    public var itemBiasSD: [Float]
    public var userBiasSD: [Float]
    public var itemNormSD: [Float]
    public var userNormSD: [Float]
    /// `sampleCount` × [items, k] row-major; empty when no samples were kept.
    public var itemSamples: [Float]
    public var sampleCount: Int

    public init(itemBiasSD: [Float], userBiasSD: [Float], itemNormSD: [Float], userNormSD: [Float],
                itemSamples: [Float] = [], sampleCount: Int = 0) {
        self.itemBiasSD = itemBiasSD
        self.userBiasSD = userBiasSD
        self.itemNormSD = itemNormSD
        self.userNormSD = userNormSD
        self.itemSamples = itemSamples
        self.sampleCount = sampleCount
    }

    /// Sample `s` of the item factors, `items × k`.
    public func itemSample(_ s: Int, items: Int, factors k: Int) -> Matrix {
        let size = items * k
        return Matrix(rows: items, cols: k, data: Array(itemSamples[(s * size)..<((s + 1) * size)]))
    }

    public static let itemBiasSDName = "i_bias_sd"
    public static let userBiasSDName = "u_bias_sd"
    public static let itemNormSDName = "i_norm_sd"
    public static let userNormSDName = "u_norm_sd"
    public static let itemSamplesName = "i_weight_samples"
    /// The vectors, in file order.
    public static let sdNames = [itemBiasSDName, userBiasSDName, itemNormSDName, userNormSDName]

    /// The extra tensors for a model of `items` item rows and `k` factors.
    public func tensors(items: Int, factors k: Int) -> [Tensor] {
        var out = zip(Self.sdNames, [itemBiasSD, userBiasSD, itemNormSD, userNormSD]).map {
            Tensor(name: $0.0, shape: [$0.1.count], values: $0.1)
        }
        if sampleCount > 0 {
            out.append(Tensor(name: Self.itemSamplesName, shape: [sampleCount, items, k], values: itemSamples))
        }
        return out
    }
}
