/// What a ratings file says, before items are keyed: one row per rating, in file
/// order, with users and items as indices into the raw id tables.
public struct RawRatings: Sendable {
    public var user: [Int32] = []
    public var item: [Int32] = []
    public var rating: [Float] = []
    /// Seconds since 1970; 0 when the file has none.
    public var timestamp: [Int64] = []
    /// Raw ids as written in the file, indexed by `user` / `item`.
    public var userIds: [String] = []
    public var itemIds: [String] = []
    /// Item metadata by raw item id, when the dataset has an item file.
    public var catalog: [String: ItemMeta] = [:]
    /// Genre names in flag order, when known (ml-100k's `u.genre`).
    public var genreNames: [String] = []
    /// Short name used for cache paths and model names (`ml-100k`).
    public var name: String = "ratings"
    /// The files that were read, for error messages and provenance.
    public var sources: [String] = []
    /// The layout the files were read as (`.auto` for a table built in code).
    public var format: DatasetFormat = .auto

    public init() {}
    public var count: Int { rating.count }
}

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

    /// Keys the raw table: builds Categorify vocabularies for users and items
    /// and maps every rating onto them (in place when `raw` is not used after).
    public init(_ raw: consuming RawRatings, itemKey: ItemKey) throws {
        self.itemKey = itemKey
        self.name = raw.name
        self.sources = raw.sources
        self.genreNames = raw.genreNames
        self.rating = raw.rating
        self.timestamp = raw.timestamp

        let (users, userRow) = Ratings.vocabulary(raw.userIds)
        self.users = users
        var user = raw.user
        raw.user = []
        RatingsParser.remap(&user, through: userRow)
        self.user = user

        // The key of each raw item: its id, or its title from the catalog.
        let rawKeys: [String]
        switch itemKey {
        case .id:
            rawKeys = raw.itemIds
        case .title:
            rawKeys = try raw.itemIds.map { id in
                guard let meta = raw.catalog[id] else {
                    throw EmbtoolError.data("item \(id) is rated but has no title in the item file; use --item-key id")
                }
                return meta.title
            }
        }
        let items: Vocabulary, itemRow: [Int32]
        if itemKey == .id {
            (items, itemRow) = Ratings.vocabulary(rawKeys)
        } else {
            items = Vocabulary.categorify(rawKeys)
            itemRow = rawKeys.map { Int32(items.index(of: $0)!) }
        }
        self.items = items
        var item = raw.item
        raw.item = []
        RatingsParser.remap(&item, through: itemRow)
        self.item = item

        // Labels and genres per item row.
        var labels = items.labels
        var genres = [[String]](repeating: [], count: items.count)
        var titleRows: [String: [Int]] = [:]
        for (rawIndex, id) in raw.itemIds.enumerated() {
            let row = Int(itemRow[rawIndex])
            if let meta = raw.catalog[id] {
                labels[row] = meta.title
                if genres[row].isEmpty { genres[row] = meta.genres }
                if itemKey == .id { titleRows[meta.title, default: []].append(row) }
            }
        }
        for (_, rows) in titleRows where rows.count > 1 {
            for row in rows { labels[row] = "\(labels[row]) [id \(items.labels[row])]" }
        }
        itemLabels = labels
        itemGenres = genres
    }

    /// The vocabulary of raw ids, and the row of each raw id in it. Numeric ids
    /// sort numerically (as pandas' integer column does in fastai), others by code
    /// point. Only canonical integers count as numeric (`7`, not `007`), so that
    /// every id keeps its label. Ids already ascending (the fast parser's) map to
    /// rows 1, 2, ... without lookups.
    static func vocabulary(_ ids: [String]) -> (Vocabulary, [Int32]) {
        var ascending = true, previous = Int64.min
        var numbers: [Int64] = []
        numbers.reserveCapacity(ids.count)
        for id in ids {
            guard let v = Int64(id), id.utf8.first != UInt8(ascii: "+"),
                  id == "0" || id.utf8.first != UInt8(ascii: "0"), !id.hasPrefix("-0") else {
                let vocabulary = Vocabulary.categorify(ids)
                return (vocabulary, ids.map { Int32(vocabulary.index(of: $0)!) })
            }
            if v <= previous { ascending = false }
            previous = v
            numbers.append(v)
        }
        if ascending { return (Vocabulary(labels: [Vocabulary.missing] + ids), (0..<ids.count).map { Int32($0 + 1) }) }
        let vocabulary = Vocabulary.categorify(integers: numbers)
        return (vocabulary, ids.map { Int32(vocabulary.index(of: $0)!) })
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
