import Foundation
import EmbeddingCore

/// What `embtool data` reports about a ratings table.
public struct DatasetSummary: Encodable, Sendable {
    public struct Bin: Encodable, Equatable, Sendable {
        /// The rating, or the bin's lower edge when ratings are binned.
        public var rating: Float
        public var count: Int
    }

    public struct TopItem: Encodable, Equatable, Sendable {
        public var item: String
        public var ratings: Int
        public var mean: Float
    }

    public struct Spread: Encodable, Equatable, Sendable {
        public var min: Int
        public var median: Int
        public var max: Int
    }

    public var name: String
    public var format: String
    public var sources: [String]
    public var ratings: Int
    /// Distinct users and item ids that have ratings.
    public var users: Int
    public var items: Int
    /// Distinct titles among rated items; nil when the dataset has no titles.
    @NullWhenAbsent public var titles: Int?
    public var itemKey: ItemKey
    /// Vocabulary sizes, fastai style (with `#na#`).
    public var vocabUsers: Int
    public var vocabItems: Int
    public var ratingMin: Float
    public var ratingMax: Float
    public var ratingMean: Double
    /// Counts per rating value, or per tenth of the range when ratings are not in half steps.
    public var histogram: [Bin]
    /// Share of user x item cells (keyed items) that hold no rating.
    public var sparsity: Double
    public var ratingsPerUser: Spread
    public var ratingsPerItem: Spread
    @NullWhenAbsent public var firstTimestamp: Int64?
    @NullWhenAbsent public var lastTimestamp: Int64?
    /// The most rated items (keys), most first.
    public var mostRated: [TopItem]

    /// Spelled out, so that any encoder (not only `JSONPolicy`'s) writes the documented snake_case keys.
    enum CodingKeys: String, CodingKey {
        case name, format, sources, ratings, users, items, titles, sparsity, histogram
        case itemKey = "item_key", vocabUsers = "vocab_users", vocabItems = "vocab_items"
        case ratingMin = "rating_min", ratingMax = "rating_max", ratingMean = "rating_mean"
        case ratingsPerUser = "ratings_per_user", ratingsPerItem = "ratings_per_item"
        case firstTimestamp = "first_timestamp", lastTimestamp = "last_timestamp", mostRated = "most_rated"
    }

    /// What the summary needs from the ratings as written (ids, titles), taken
    /// before keying so that keying can reuse the raw columns in place.
    public struct RawFacts: Sendable {
        public var name: String
        public var format: DatasetFormat
        public var sources: [String]
        public var users: Int
        public var items: Int
        public var titles: Int?

        public init(_ raw: RawRatings) {
            name = raw.name
            format = raw.format
            sources = raw.sources
            users = raw.userIds.count
            items = raw.itemIds.count
            titles = raw.catalog.isEmpty ? nil : Set(raw.itemIds.compactMap { raw.catalog[$0]?.title }).count
        }
    }

    /// Summarises `ratings`, the keyed table built from the raw ratings `facts` describe.
    public init(_ facts: RawFacts, ratings: Ratings, top: Int = 10) {
        name = facts.name
        format = facts.format.rawValue
        sources = facts.sources
        users = facts.users
        items = facts.items
        titles = facts.titles
        self.ratings = ratings.count
        itemKey = ratings.itemKey
        vocabUsers = ratings.users.count
        vocabItems = ratings.items.count

        // One pass: range, mean, half-step histogram, ratings and rating sums per user and item.
        var low = Float.infinity, high = -Float.infinity, sum = 0.0
        var halves = [Int](repeating: 0, count: 41)  // ratings -10 ... 10 in half steps
        var offGrid = 0
        var perUser = [Int](repeating: 0, count: ratings.users.count)
        var perItem = [Int](repeating: 0, count: ratings.items.count)
        var itemSum = [Double](repeating: 0, count: ratings.items.count)
        ratings.rating.withUnsafeBufferPointer { r in
            ratings.user.withUnsafeBufferPointer { u in
                ratings.item.withUnsafeBufferPointer { i in
                    perUser.withUnsafeMutableBufferPointer { pu in
                        perItem.withUnsafeMutableBufferPointer { pi in
                            itemSum.withUnsafeMutableBufferPointer { si in
                                halves.withUnsafeMutableBufferPointer { h in
                                    for k in 0..<r.count {
                                        let v = r[k]
                                        low = Swift.min(low, v)
                                        high = Swift.max(high, v)
                                        sum += Double(v)
                                        let twice = v * 2
                                        if abs(twice) <= 20, case let bin = Int(twice), Float(bin) == twice { h[bin + 20] += 1 } else { offGrid += 1 }
                                        pu[Int(u[k])] += 1
                                        pi[Int(i[k])] += 1
                                        si[Int(i[k])] += Double(v)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var first = Int64.max, last = Int64.min
        for t in ratings.timestamp where t != 0 { first = Swift.min(first, t); last = Swift.max(last, t) }
        ratingMin = low
        ratingMax = high
        ratingMean = ratings.count > 0 ? sum / Double(ratings.count) : .nan
        firstTimestamp = first == .max ? nil : first
        lastTimestamp = last == .min ? nil : last
        if offGrid == 0 {
            histogram = halves.enumerated().filter { $0.element > 0 }.map { Bin(rating: Float($0.offset - 20) / 2, count: $0.element) }
        } else {
            var bins = [Int](repeating: 0, count: 10)
            let width = (high - low) / 10
            for v in ratings.rating { bins[Swift.min(9, width > 0 ? Int((v - low) / width) : 0)] += 1 }
            histogram = bins.enumerated().map { Bin(rating: low + Float($0.offset) * width, count: $0.element) }
        }

        func spread(_ counts: [Int]) -> Spread {
            let sorted = counts.filter { $0 > 0 }.sorted()
            guard !sorted.isEmpty else { return Spread(min: 0, median: 0, max: 0) }
            return Spread(min: sorted.first!, median: sorted[sorted.count / 2], max: sorted.last!)
        }
        ratingsPerUser = spread(perUser)
        ratingsPerItem = spread(perItem)
        let ratedUsers = perUser.filter { $0 > 0 }.count, ratedItems = perItem.filter { $0 > 0 }.count
        sparsity = ratedUsers * ratedItems > 0 ? 1 - Double(ratings.count) / (Double(ratedUsers) * Double(ratedItems)) : 1
        mostRated = DatasetSummary.mostRated(counts: perItem, limit: top).map {
            TopItem(item: ratings.itemLabels[$0], ratings: perItem[$0], mean: Float(itemSum[$0] / Double(perItem[$0])))
        }
    }

    /// Rows with the most ratings, most first; ties in row order (so deterministic).
    public static func mostRated(counts: [Int], limit: Int) -> [Int] {
        counts.indices.filter { counts[$0] > 0 }
            .sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
            .prefix(limit).map { $0 }
    }
}
