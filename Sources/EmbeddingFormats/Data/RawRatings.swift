import EmbeddingCore

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

extension Ratings {
    /// Keys the raw table: builds Categorify vocabularies for users and items
    /// and maps every rating onto them (in place when `raw` is not used after).
    public init(_ raw: consuming RawRatings, itemKey: ItemKey) throws {
        let (users, userRow) = Ratings.vocabulary(raw.userIds)
        var user = raw.user
        raw.user = []
        RatingsParser.remap(&user, through: userRow)

        // The key of each raw item: its id, or its title from the catalog.
        let rawKeys: [String]
        switch itemKey {
        case .id:
            rawKeys = raw.itemIds
        case .title:
            rawKeys = try raw.itemIds.map { id in
                guard let meta = raw.catalog[id] else {
                    throw EmbtoolError.data("item \(id) is rated but has no title in the item file; key items by id", reason: .itemKey(.id))
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
        var item = raw.item
        raw.item = []
        RatingsParser.remap(&item, through: itemRow)

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
        self.init(user: user, item: item, rating: raw.rating, timestamp: raw.timestamp, users: users, items: items,
                  itemKey: itemKey, itemLabels: labels, itemGenres: genres, genreNames: raw.genreNames,
                  name: raw.name, sources: raw.sources)
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

}
