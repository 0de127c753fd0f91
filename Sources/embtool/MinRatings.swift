import EmbeddingKit

/// `--min-ratings` of `similar`, `recommend` and `explore`: nil unless given,
/// so the library's default (`RatingFloor.standard`) applies.
extension RatingFloor {
    /// The floor for `catalog`, refusing an explicit floor the catalog cannot apply.
    static func resolve(_ asked: Int?, _ catalog: Catalog) throws -> RatingFloor {
        if let asked, asked > 0, catalog.counts == nil {
            throw EmbtoolError.usage("--min-ratings needs rating counts: the model has none; pass --data")
        }
        return RatingFloor(asked: asked, catalog: catalog)
    }

    /// One sentence saying which items are listed, for a person.
    var sentence: String {
        switch source {
        case .default:
            return "Only items with at least \(minRatings) ratings are listed (the default; --min-ratings 0 lists every item)."
        case .option:
            return minRatings > 0 ? "Only items with at least \(minRatings) ratings are listed (--min-ratings \(minRatings))."
                : "Every item is listed, however few its ratings (--min-ratings 0)."
        case .unavailable:
            return "Every item is listed: the default floor of \(RatingFloor.standard) ratings could not be applied, as the model has no rating counts (pass --data)."
        }
    }
}
