/// One item as the dataset's item file describes it.
public struct ItemMeta: Codable, Equatable, Sendable {
    public var title: String
    public var genres: [String]
    /// Release year, from the release date or the title's `(1995)`, when known.
    public var year: Int?
    public init(title: String, genres: [String] = [], year: Int? = nil) {
        self.title = title
        self.genres = genres
        self.year = year
    }
}

/// How items are told apart. fastbook keys movies by title, which merges the
/// 18 ml-100k movies that GroupLens lists twice under two ids.
public enum ItemKey: String, CaseIterable, Codable, Sendable {
    case id, title
}

/// The compact table that training and analysis read: users and items as rows
/// of fastai-style vocabularies (row 0 is `#na#`, never used by a rating).
public struct Ratings: Sendable {
    public var user: [Int32]
    public var item: [Int32]
    public var rating: [Float]
    public var timestamp: [Int64]
    public var users: Vocabulary
    /// Item keys: raw ids or titles, per `itemKey`.
    public var items: Vocabulary
    public var itemKey: ItemKey
    /// Human-readable and unique label per item row: the title when known;
    /// duplicate titles (keyed by id) get their id appended, `Chairs (1997) [id 42]`.
    public var itemLabels: [String]
    /// Genres per item row (empty when unknown).
    public var itemGenres: [[String]]
    public var genreNames: [String]
    public var name: String
    public var sources: [String]

    public var count: Int { rating.count }

    public init(user: [Int32], item: [Int32], rating: [Float], timestamp: [Int64], users: Vocabulary, items: Vocabulary,
                itemKey: ItemKey, itemLabels: [String], itemGenres: [[String]], genreNames: [String], name: String, sources: [String]) {
        self.user = user
        self.item = item
        self.rating = rating
        self.timestamp = timestamp
        self.users = users
        self.items = items
        self.itemKey = itemKey
        self.itemLabels = itemLabels
        self.itemGenres = itemGenres
        self.genreNames = genreNames
        self.name = name
        self.sources = sources
    }

    /// Ratings per item row.
    public func itemCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: items.count)
        for i in item { counts[Int(i)] += 1 }
        return counts
    }

    /// Mean rating per item row (NaN where an item has none).
    public func itemMeans() -> [Float] {
        var sums = [Double](repeating: 0, count: items.count)
        var counts = [Int](repeating: 0, count: items.count)
        for (i, r) in zip(item, rating) {
            sums[Int(i)] += Double(r)
            counts[Int(i)] += 1
        }
        return zip(sums, counts).map { $1 == 0 ? .nan : Float($0 / Double($1)) }
    }

    /// The rows `indices`, sharing vocabularies and labels.
    public func subset(_ indices: [Int]) -> Ratings {
        var copy = self
        copy.user = indices.map { user[$0] }
        copy.item = indices.map { item[$0] }
        copy.rating = indices.map { rating[$0] }
        copy.timestamp = indices.map { timestamp[$0] }
        return copy
    }
}
