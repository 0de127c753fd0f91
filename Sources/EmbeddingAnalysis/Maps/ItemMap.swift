import EmbeddingCore

/// Which items a map (PCA, UMAP, t-SNE, custom axes) shows.
public enum ItemSelection: Equatable, Sendable {
    /// The `n` most-rated items, ties by label in code-point order.
    case mostRated(Int)
    case all

    /// What maps show unless told otherwise: fastbook's 1,000 most-rated movies.
    public static let standard = ItemSelection.mostRated(1000)
}

/// The model rows a map shows, most-rated first (so labelling "the first n"
/// labels the best-known items), with the sentence that says what was chosen.
public struct ChosenItems: Sendable {
    public var rows: [Int]
    /// "the 1000 most-rated of 1664 items", "all 1664 items".
    public var description: String
    /// Set when the selection asked for could not be honoured as asked.
    public var note: String?

    /// Chooses rows of `catalog`. A catalog without rating counts cannot rank
    /// items: the default selection then falls back to every item, with a note,
    /// and an explicit `.mostRated` throws `ItemMapError.noCounts`.
    public static func choose(_ selection: ItemSelection?, from catalog: Catalog) throws -> ChosenItems {
        let all = Array(catalog.rows)
        let everything = "all \(all.count) items"
        switch selection ?? .standard {
        case .all:
            return ChosenItems(rows: all, description: everything)
        case .mostRated(let n):
            guard catalog.counts != nil else {
                if selection != nil { throw ItemMapError.noCounts }
                return ChosenItems(rows: all, description: everything,
                                   note: "the model has no rating counts, so every item is shown")
            }
            let rows = catalog.mostRated(n)
            return ChosenItems(rows: rows, description: rows.count < n ? "all \(rows.count) items" : "the \(n) most-rated of \(all.count) items")
        }
    }
}

public enum ItemMapError: Error, Equatable {
    /// Ranking by popularity needs rating counts, which neither model nor data has.
    case noCounts
    /// Colouring by genre needs genres, which neither model nor data has.
    case noGenres
    /// No item has the genre asked for.
    case unknownGenre(String, known: [String])
}

/// How the points of a map are coloured: one group per point (nil: "other").
public struct ItemColouring: Sendable {
    public enum Scheme: Equatable, Sendable {
        /// Each item's first listed genre; the most frequent few get colours.
        case firstGenre
        /// One genre against every other item.
        case genre(String)

        /// Reads `genre` or `genre:NAME`; nil for anything else.
        public init?(_ text: String) {
            if text == "genre" { self = .firstGenre } else if text.hasPrefix("genre:") { self = .genre(String(text.dropFirst(6))) } else { return nil }
        }
    }

    /// Legend names, in colour order.
    public var names: [String]
    /// Per point: index into `names`, or nil for the rest.
    public var group: [Int?]
    /// Legend name of the points in no group.
    public var otherName: String

    /// Colours the chosen `rows` of `catalog` by `scheme`. `.firstGenre` gives
    /// the `maxGroups` most frequent first genres a colour each (ties by name).
    public init(_ scheme: Scheme, rows: [Int], catalog: Catalog, maxGroups: Int = 9) throws {
        guard let genres = catalog.genres else { throw ItemMapError.noGenres }
        switch scheme {
        case .genre(let wanted):
            let known = Set(genres.joined())
            guard let name = known.first(where: { $0.lowercased() == wanted.lowercased() }) else {
                throw ItemMapError.unknownGenre(wanted, known: known.sorted())
            }
            names = [name]
            group = rows.map { genres[$0].contains(name) ? 0 : nil }
            otherName = "other genres"
        case .firstGenre:
            let first = rows.map { genres[$0].first }
            var frequency: [String: Int] = [:]
            for g in first.compactMap({ $0 }) { frequency[g, default: 0] += 1 }
            let top = frequency.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(maxGroups).map(\.key)
            names = top
            group = first.map { g in g.flatMap { top.firstIndex(of: $0) } }
            otherName = "other"
        }
    }
}

/// Items placed on a plane by some layout, with what a picture, a table or a
/// script needs to show them: labels, counts, axis names, colours.
///
/// The layout (PCA, UMAP, t-SNE, custom axes) supplies only the coordinates;
/// everything else is the same for every layout, so it is decided here once.
public struct ItemMap: Sendable {
    public struct Axis: Sendable {
        /// Short name for tooltips and CSV headers' documentation: `PC1`, `UMAP 1`.
        public var name: String
        /// The axis title under the picture: `PC1 (23.1 % of variance)`.
        public var title: String
        /// The item features this axis follows, strongest first (`AxisCorrelates`).
        public var correlates: [AxisCorrelate]
        public init(name: String, title: String, correlates: [AxisCorrelate] = []) {
            self.name = name
            self.title = title
            self.correlates = correlates
        }

        /// The title with the two strongest correlates, numbers only:
        /// `PC1 (23.1 % of variance) · genre:Drama r=+0.41, year r=−0.38`.
        public var annotatedTitle: String {
            correlates.isEmpty ? title : title + " · " + AxisCorrelates.summary(correlates, count: 2)
        }
    }

    /// Model rows, in the order of `chosen` (most-rated first).
    public var rows: [Int]
    public var labels: [String]
    /// Ratings per point, nil when unknown.
    public var counts: [Int?]
    public var x: [Float]
    public var y: [Float]
    public var xAxis: Axis
    public var yAxis: Axis
    /// "PCA", "UMAP", "t-SNE", "custom axes": names the picture.
    public var layoutName: String
    /// What was chosen: `ChosenItems.description`.
    public var selection: String
    /// The dataset or file the model came from, for the picture's subtitle.
    public var dataset: String
    public var colouring: ItemColouring?
    /// How many of the first points to label (they are the most-rated).
    public var labelCount: Int
    public var hasCounts: Bool

    /// - Parameters:
    ///   - x, y: one coordinate per chosen row, in `chosen.rows` order.
    public init(layoutName: String, chosen: ChosenItems, catalog: Catalog, x: [Float], y: [Float],
                xAxis: Axis, yAxis: Axis, dataset: String, colouring: ItemColouring? = nil, labelCount: Int = 50) {
        precondition(x.count == chosen.rows.count && y.count == chosen.rows.count, "one coordinate per chosen item")
        self.layoutName = layoutName
        rows = chosen.rows
        labels = chosen.rows.map { catalog.labels[$0] }
        counts = chosen.rows.map { catalog.count($0) }
        hasCounts = catalog.counts != nil
        self.x = x
        self.y = y
        self.xAxis = xAxis
        self.yAxis = yAxis
        selection = chosen.description
        self.dataset = dataset
        self.colouring = colouring
        self.labelCount = min(labelCount, chosen.rows.count)
    }

    public var count: Int { rows.count }

    /// One point as scripts read it (`--json`'s `points`).
    public struct Point: Encodable, Sendable {
        public var label: String
        @NullWhenAbsent public var count: Int?
        public var x: Float
        public var y: Float
    }

    public var points: [Point] {
        (0..<count).map { Point(label: labels[$0], count: counts[$0], x: x[$0], y: y[$0]) }
    }
}
