/// The fewest ratings an item needs to be listed as a neighbour or recommended,
/// and where that number came from.
///
/// An item vector learned from a handful of ratings points wherever those few
/// raters pushed it, so its cosine to anything is mostly chance. Measured on
/// MovieLens 100k by split-half reliability (`scripts/neighbour_evidence`: two
/// models on disjoint random halves of the ratings, the correlation of the same
/// query–neighbour cosine between them), r is 0.26 for neighbours with 1–4
/// ratings, 0.51 for 5–9, 0.55 for 10–19 and 0.58–0.64 from 20 on; below 20
/// the neighbour lists of popular queries fill with such items. Hence the
/// default floor, applied whenever the model's items have rating counts.
public struct RatingFloor: Equatable, Sendable {
    /// The floor used unless one is asked for.
    public static let standard = 20

    public enum Source: String, Sendable {
        /// Asked for (`--min-ratings N`).
        case option
        /// `standard`, the items having counts.
        case `default`
        /// Nothing asked for and the items have no counts: nothing filtered.
        case unavailable
    }

    public var minRatings: Int
    public var source: Source

    /// `asked` if given, else `standard` when `catalog` knows its items' counts,
    /// else no floor (`.unavailable`).
    public init(asked: Int?, catalog: Catalog) {
        if let asked {
            self.init(minRatings: asked, source: .option)
        } else if catalog.counts != nil {
            self.init(minRatings: Self.standard, source: .default)
        } else {
            self.init(minRatings: 0, source: .unavailable)
        }
    }

    public init(minRatings: Int, source: Source) {
        self.minRatings = minRatings
        self.source = source
    }
}
