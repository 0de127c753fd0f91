import EmbeddingCore

/// How far a neighbour list holds across a posterior: each listed neighbour's
/// share of the posterior samples of the item factors (`Posterior`) in which
/// it is still among the query's `top` closest candidates. A share near 1 is a
/// neighbour the data pins down; a low one, a neighbour of the posterior mean
/// only.
public enum NeighbourStability {
    /// For each row in `neighbours`: the fraction of `samples` (item tables
    /// `items × k`, rows as in the model) in which it is among the `top`
    /// closest `candidates` to `row` by `metric`, found as `SimilarityScan`
    /// finds the model's own list.
    public static func shares(of neighbours: [Int], query row: Int, samples: [Matrix], candidates: [Int],
                              metric: SimilarityMetric, top: Int) -> [Double] {
        var hits = [Int](repeating: 0, count: neighbours.count)
        for sample in samples {
            let listed = Set(SimilarityScan.neighbours(of: row, in: sample, candidates: candidates, metric: metric, top: top).map(\.row))
            for (j, n) in neighbours.enumerated() where listed.contains(n) { hits[j] += 1 }
        }
        return hits.map { samples.isEmpty ? 0 : Double($0) / Double(samples.count) }
    }
}
