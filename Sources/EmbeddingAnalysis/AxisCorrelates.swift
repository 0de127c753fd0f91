import EmbeddingCore
import Foundation

/// What is known about each item on a map, as numbers an axis can be
/// correlated with. Feature names are those of `--json`: `genre:NAME` (1 when
/// the item lists the genre, else 0), `year` (the release year in the label's
/// last "(YYYY)"), `log_count` (ln(1 + ratings)), `mean_rating`, `bias` (the
/// learned item bias). A feature the model and data do not supply is absent;
/// a value unknown for one item is NaN there.
public struct ItemFeatures: Sendable {
    public var names: [String]
    /// `values[f][p]`: feature `f` of the `p`-th chosen row.
    public var values: [[Double]]

    /// The features of `rows` (model rows) from `catalog` and the model's item
    /// biases. Genres are those listed by at least one of the rows.
    public init(rows: [Int], catalog: Catalog, itemBias: [Float]?) {
        names = []
        values = []
        if let genres = catalog.genres {
            for genre in Set(rows.flatMap { genres[$0] }).sorted() {
                add("genre:" + genre, rows.map { genres[$0].contains(genre) ? 1 : 0 })
            }
        }
        let years = rows.map { ItemFeatures.year(in: catalog.labels[$0]).map(Double.init) ?? .nan }
        if years.contains(where: { !$0.isNaN }) { add("year", years) }
        if catalog.counts != nil { add("log_count", rows.map { log1p(Double(catalog.count($0) ?? 0)) }) }
        if catalog.meanRatings != nil { add("mean_rating", rows.map { catalog.meanRating($0).map(Double.init) ?? .nan }) }
        if let itemBias, itemBias.count == catalog.count { add("bias", rows.map { Double(itemBias[$0]) }) }
    }

    public init(names: [String], values: [[Double]]) {
        self.names = names
        self.values = values
    }

    private mutating func add(_ name: String, _ column: [Double]) {
        names.append(name)
        values.append(column)
    }

    /// The year in a label's last "(YYYY)" ("Star Wars (1977)" → 1977), nil without one.
    public static func year(in label: String) -> Int? {
        let u = Array(label.utf8)
        var i = u.count - 6
        while i >= 0 {
            if u[i] == UInt8(ascii: "("), u[i + 5] == UInt8(ascii: ")"),
               u[(i + 1)...(i + 4)].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
                return u[(i + 1)...(i + 4)].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
            }
            i -= 1
        }
        return nil
    }
}

/// How strongly one map axis follows one item feature.
public struct AxisCorrelate: Equatable, Encodable, Sendable {
    public var feature: String
    /// Pearson's r over the items where the feature is known.
    public var r: Double
}

public enum AxisCorrelates {
    /// Pearson's correlation of coordinates `x` with feature values `f`, over
    /// the items where `f` is not NaN:
    ///
    ///     r = Σ (xᵢ − x̄)(fᵢ − f̄) / √(Σ (xᵢ − x̄)² · Σ (fᵢ − f̄)²)
    ///
    /// accumulated in Double (two passes: means, then centred sums). nil when
    /// fewer than 3 items are known or either side is constant over them.
    public static func pearson(_ x: [Float], _ f: [Double]) -> Double? {
        precondition(x.count == f.count, "one feature value per coordinate")
        var n = 0, sx = 0.0, sf = 0.0
        for (a, b) in zip(x, f) where !b.isNaN {
            n += 1
            sx += Double(a)
            sf += b
        }
        guard n >= 3 else { return nil }
        let mx = sx / Double(n), mf = sf / Double(n)
        var sxx = 0.0, sff = 0.0, sxf = 0.0
        for (a, b) in zip(x, f) where !b.isNaN {
            let dx = Double(a) - mx, df = b - mf
            sxx += dx * dx
            sff += df * df
            sxf += dx * df
        }
        guard sxx > 0, sff > 0 else { return nil }
        return max(-1, min(1, sxf / (sxx * sff).squareRoot()))
    }

    /// Every feature's r with `coordinates` (one per chosen item, in the
    /// features' order), strongest first (by |r|, ties by name); features
    /// whose r is undefined are left out.
    public static func correlates(of coordinates: [Float], with features: ItemFeatures) -> [AxisCorrelate] {
        zip(features.names, features.values)
            .compactMap { name, column in pearson(coordinates, column).map { AxisCorrelate(feature: name, r: $0) } }
            .sorted { abs($0.r) != abs($1.r) ? abs($0.r) > abs($1.r) : $0.feature < $1.feature }
    }

    /// "genre:Drama r=+0.41, year r=−0.38": the first `count` correlates, for
    /// a terminal line or an axis title.
    public static func summary(_ correlates: [AxisCorrelate], count: Int) -> String {
        correlates.prefix(count).map { c in
            let text = String(format: "%.2f", abs(c.r))
            return "\(c.feature) r=\(c.r < 0 ? "−" : "+")\(text)"
        }.joined(separator: ", ")
    }
}
