import EmbeddingCore
/// One row of a bias ranking: the learned bias beside what the raw ratings say.
public struct BiasEntry: Equatable, Sendable {
    public var row: Int
    public var label: String
    public var bias: Float
    /// The bias's posterior standard deviation; nil for a model without a posterior.
    public var sd: Float?
    /// Mean of the row's ratings; nil when no ratings were given (or it has none).
    public var meanRating: Float?
    public var count: Int?
}

/// Items (or users) ranked by their learned bias, fastbook's "Interpreting
/// Embeddings and Biases": the bias is what is left of a rating after the
/// user's taste is accounted for, so a movie with a low bias is one people
/// rate low even when its factors match their taste — which is not the same
/// as a low mean rating, and showing both side by side is the point.
public enum BiasRanking {
    /// The `bottom` lowest-bias rows (lowest first) and the `top` highest
    /// (highest first) among `rows`; ties broken by label, so runs agree.
    /// `sds`, when given, are the biases' posterior standard deviations.
    public static func rank(biases: [Float], sds: [Float]? = nil, catalog: Catalog, rows: [Int], bottom: Int, top: Int)
        -> (lowest: [BiasEntry], highest: [BiasEntry]) {
        func order(ascending: Bool) -> [Int] {
            rows.sorted { a, b in
                biases[a] != biases[b] ? (biases[a] < biases[b]) == ascending
                                       : Vocabulary.pythonOrder(catalog.labels[a], catalog.labels[b])
            }
        }
        func entry(_ row: Int) -> BiasEntry {
            BiasEntry(row: row, label: catalog.labels[row], bias: biases[row], sd: sds?[row],
                      meanRating: catalog.meanRating(row), count: catalog.count(row))
        }
        let lowest = order(ascending: true).prefix(bottom).map(entry)
        let highest = order(ascending: false).prefix(top).map(entry)
        return (lowest, highest)
    }
}
