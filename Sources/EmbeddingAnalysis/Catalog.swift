import EmbeddingCore
/// Which embedding table of a model an analysis reads.
public enum Side: String, Sendable {
    case items, users
}

/// What analysis knows about each row of one side of a model, aligned with the
/// model's rows: display label, number of ratings, mean rating, genres.
///
/// Labels and item counts come from the model's metadata, so most commands need
/// no ratings at all; mean ratings (and user counts) only exist when ratings are
/// given. Ratings are matched to model rows by key (title or id), never by
/// position, so a dataset that was re-keyed or extended cannot silently shift them.
public struct Catalog: Sendable {
    public let side: Side
    public var labels: [String]
    /// Ratings per row; nil when neither the model nor the data says.
    public var counts: [Int]?
    /// Mean rating per row (NaN for a row without ratings); nil without data.
    public var meanRatings: [Float]?
    /// Genres per row (items only); nil when unknown.
    public var genres: [[String]]?
    /// Rows before this one are padding (fastai's `#na#`), never analysed.
    public let firstRow: Int

    public var count: Int { labels.count }
    /// The rows that are real items (or users).
    public var rows: Range<Int> { firstRow..<labels.count }

    public init(model: FactorModel, side: Side = .items, ratings: Ratings? = nil) throws {
        self.side = side
        let meta = model.meta
        switch side {
        case .items:
            let n = model.itemCount
            labels = (0..<n).map(model.itemLabel)
            firstRow = min(meta.firstItemRow, n)
            counts = meta.itemCounts.count == n ? meta.itemCounts : nil
            genres = meta.itemGenres.count == n && meta.itemGenres.contains(where: { !$0.isEmpty }) ? meta.itemGenres : nil
        case .users:
            guard let uf = model.userFactors else {
                throw EmbtoolError.data("the model has no user factors (only item vectors were loaded)")
            }
            let n = uf.rows
            labels = meta.userLabels.count == n ? meta.userLabels : (0..<n).map(String.init)
            firstRow = labels.first == Vocabulary.missing ? min(1, n) : 0
        }
        if let ratings { try attach(ratings, keys: side == .items ? meta.itemKeys : meta.userLabels) }
    }

    /// Counts and mean ratings from `ratings`, matched to rows by key.
    mutating func attach(_ ratings: Ratings, keys modelKeys: [String]) throws {
        let dataVocabulary = side == .items ? ratings.items : ratings.users
        let alignment = KeyAlignment(data: dataVocabulary.labels, model: modelKeys, modelRows: count)
        // Foreign factors without a vocabulary: rows follow the data's, as fastai's do, if the sizes agree.
        guard alignment.basis == .keys || dataVocabulary.count == count else {
            throw EmbtoolError.data("the model has \(count) \(side.rawValue) but the data \(dataVocabulary.count), and the model names none of them: pass the data it was trained on")
        }
        let rowOf = alignment.modelRow

        var sums = [Double](repeating: 0, count: count)
        var counts = [Int](repeating: 0, count: count)
        let index = side == .items ? ratings.item : ratings.user
        var matched = 0
        for (d, r) in zip(index, ratings.rating) {
            let row = rowOf[Int(d)]
            guard row >= 0 else { continue }
            sums[row] += Double(r)
            counts[row] += 1
            matched += 1
        }
        guard matched > 0 else {
            throw EmbtoolError.data("no rating in \(ratings.name) names one of the model's \(side.rawValue): pass the data it was trained on")
        }
        meanRatings = zip(sums, counts).map { $1 == 0 ? .nan : Float($0 / Double($1)) }
        self.counts = counts
        if side == .items && genres == nil && ratings.itemGenres.contains(where: { !$0.isEmpty }) {
            var g = [[String]](repeating: [], count: count)
            for (row, d) in alignment.dataRow.enumerated() where d >= 0 { g[row] = ratings.itemGenres[d] }
            genres = g
        }
    }

    /// The `n` rows with most ratings, most first; ties broken by label in
    /// code-point order (Python's), so the choice is the same on every run.
    ///
    /// Only rows with at least the n-th largest count can be among them, so
    /// only those are sorted by the full order (labels compared as strings):
    /// on 59k items that sort was a sixth of `pca`'s start.
    public func mostRated(_ n: Int) -> [Int] {
        guard let counts else { return Array(rows.prefix(n)) }
        guard n > 0 else { return [] }
        var candidates = Array(rows)
        if n < candidates.count {
            let threshold = candidates.map { counts[$0] }.sorted(by: >)[n - 1]
            candidates.removeAll { counts[$0] < threshold }
        }
        candidates.sort { a, b in
            counts[a] != counts[b] ? counts[a] > counts[b] : Vocabulary.pythonOrder(labels[a], labels[b])
        }
        return Array(candidates.prefix(n))
    }

    /// The rows with at least `minRatings` ratings (all rows when 0).
    public func rows(minRatings: Int) throws -> [Int] {
        guard minRatings > 0 else { return Array(rows) }
        guard let counts else {
            throw EmbtoolError.usage("a minimum number of ratings needs rating counts: the model has none; "
                                     + "give the ratings it was trained on", reason: .needsRatingCounts)
        }
        return rows.filter { counts[$0] >= minRatings }
    }

    public func count(_ row: Int) -> Int? { counts?[row] }
    /// The mean rating of `row`, nil when unknown or the row has no ratings.
    public func meanRating(_ row: Int) -> Float? { meanRatings.flatMap { $0[row].isNaN ? nil : $0[row] } }
}
