import EmbeddingAnalysis
import EmbeddingCore
import Foundation

/// One self-contained HTML page to explore a model's item vectors: every item
/// drawn on a 2-D layout (WebGL, with a canvas fallback), search with
/// `similar`'s title resolution, cosine neighbours, bias ranking, a
/// "like these" fold-in and custom axes — all computed in the page from the
/// vectors embedded in it. It works opened as a `file://` URL with no network:
/// the template, style and scripts (`explorer.html`, `.css`, `.js` beside this
/// file) are compiled into the library by the EmbedAssets plugin, and the data
/// sits in the page as JSON in a `<script type="application/json">`.
///
/// Rows of the page are the chosen model rows in ascending order, so the
/// page's tie-breaks (earlier row first) are the command line's.
public struct ExplorerPage {
    /// A named 2-D map of the page's items.
    public struct Layout {
        public var name: String
        /// `n × 2`, aligned with the page's rows.
        public var coordinates: Matrix
        /// Axis titles, e.g. `PC1 (23.1 % of variance)`.
        public var xTitle: String
        public var yTitle: String

        public init(name: String, coordinates: Matrix, xTitle: String, yTitle: String) {
            self.name = name
            self.coordinates = coordinates
            self.xTitle = xTitle
            self.yTitle = yTitle
        }
    }

    /// How the item vectors are stored in the page.
    public enum VectorEncoding: String, CaseIterable, Sendable {
        /// float32 up to `autoFloat32Limit` values, int24 up to
        /// `autoInt24Limit`, int16 above.
        case auto
        /// The model's float32 values, exactly (little-endian bytes, `Base85`).
        case float32
        /// Per-row scale `s = max|v|/32767` (float64, so that rows of tiny
        /// values keep their precision) and `round(v/s)` as int16: half the size;
        /// a cosine moves by at most √k/65534 (1e-4 for k = 50), typically 1e-5.
        case int16
        /// Block floating point: per row an exponent `e` with `max|v| < 2^e`
        /// and each value as a 24-bit integer `round(v·2^(23−e))`. Three
        /// quarters of float32's size; a row's largest value keeps 23 of its 24
        /// significant bits, so cosines move by ~1e-7, the size of the command
        /// line's own float32 rounding, and neighbour lists stay the CLI's.
        case int24
    }

    /// Above this many stored values (rows × factors), `auto` quantises:
    /// 1.5 M float32 values are 7.5 MB of text, about what a page should carry.
    public static let autoFloat32Limit = 1_500_000
    /// Up to this many values `auto` stores int24 (3.2 M: 12 MB of text;
    /// 59,047 items × 50 factors fit), int16 beyond.
    public static let autoInt24Limit = 3_200_000

    public var title: String
    /// One line under the title: dataset, items, factors.
    public var subtitle: String
    public var labels: [String]
    public var counts: [Int]?
    public var meanRatings: [Float]?
    public var genres: [[String]]?
    public var biases: [Float]?
    /// `n × k`, the page's rows of the item factors.
    public var vectors: Matrix
    public var layouts: [Layout]
    /// The ratings a like and a dislike stand for, the model's rating range and
    /// mean user bias: what `Recommender.foldIn` needs besides the items.
    public var likeTarget: Float
    public var dislikeTarget: Float
    public var yRange: ModelMetadata.YRange?
    public var meanUserBias: Double
    /// The neighbour, bias and like panels' starting `--min-ratings`.
    public var minRatings: Int
    public var ridge: Double
    public var encoding: VectorEncoding

    /// The page for model rows `rows` (ascending) of `model`, described by `catalog`.
    public init(model: FactorModel, catalog: Catalog, rows: [Int], layouts: [Layout],
                minRatings: Int = 0, ridge: Double = 1, encoding: VectorEncoding = .auto) {
        let k = model.factors
        labels = rows.map { catalog.labels[$0] }
        counts = catalog.counts.map { c in rows.map { c[$0] } }
        meanRatings = catalog.meanRatings.map { m in rows.map { m[$0] } }
        genres = catalog.genres.map { g in rows.map { g[$0] } }
        biases = model.itemBias.map { b in rows.map { b[$0] } }
        var data = [Float](repeating: 0, count: rows.count * k)
        for (p, r) in rows.enumerated() { data.replaceSubrange((p * k)..<((p + 1) * k), with: model.itemFactors.row(r)) }
        vectors = Matrix(rows: rows.count, cols: k, data: data)
        self.layouts = layouts
        (likeTarget, dislikeTarget) = Recommender.targets(model)
        yRange = model.meta.yRange
        meanUserBias = Recommender.meanUserBias(model)
        self.minRatings = minRatings
        self.ridge = ridge
        self.encoding = encoding
        let name = model.meta.dataset.isEmpty ? "model" : model.meta.dataset
        title = "embtool explorer · \(name)"
        subtitle = "\(rows.count) items × \(k) factors"
    }

    /// The encoding `auto` resolves to for this page.
    public var resolvedEncoding: VectorEncoding {
        guard encoding == .auto else { return encoding }
        let values = vectors.data.count
        return values <= ExplorerPage.autoFloat32Limit ? .float32 : values <= ExplorerPage.autoInt24Limit ? .int24 : .int16
    }

    /// The whole HTML document.
    public func render() throws -> String {
        guard let template = EmbeddedAssets.text("explorer.html") else {
            throw EmbtoolError.data("the explorer template is missing from this build")
        }
        return try ExplorerPage.fill(template) { key in
            switch key {
            case "title": return HTML.escape(title)
            case "data": return HTML.scriptSafeJSON(try dataJSON())
            default:
                guard let asset = EmbeddedAssets.text(key) else { return nil }
                // Our own files: a closing tag inside one would end its element early.
                let closer = key.hasSuffix(".css") ? "</style" : "</script"
                guard asset.range(of: closer, options: .caseInsensitive) == nil else {
                    throw EmbtoolError.data("explorer asset \(key) contains \(closer)")
                }
                return asset
            }
        }
    }

    /// Replaces each `{{key}}` of `template` by `value(key)` in one pass (what
    /// is inserted is never scanned again); an unknown key is an error.
    static func fill(_ template: String, _ value: (String) throws -> String?) throws -> String {
        var out = ""
        var rest = template[...]
        while let open = rest.range(of: "{{") {
            guard let close = rest.range(of: "}}", range: open.upperBound..<rest.endIndex) else { break }
            let key = String(rest[open.upperBound..<close.lowerBound])
            guard let v = try value(key) else { throw EmbtoolError.data("explorer template names unknown {{\(key)}}") }
            out += rest[..<open.lowerBound]
            out += v
            rest = rest[close.upperBound...]
        }
        out += rest
        return out
    }

    /// The page's data as JSON (not yet escaped for the script element).
    func dataJSON() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]   // the same model gives the same bytes
        return String(decoding: try encoder.encode(payload()), as: UTF8.self)
    }

    func payload() -> Payload {
        let genreNames = Array(Set((genres ?? []).joined())).sorted(by: Vocabulary.pythonOrder)
        let genreIndex = Dictionary(uniqueKeysWithValues: genreNames.enumerated().map { ($1, $0) })
        let (vectorData, scales, exponents) = ExplorerPage.encode(vectors, as: resolvedEncoding)
        return Payload(
            title: title, subtitle: subtitle, items: vectors.rows, factors: vectors.cols,
            labels: labels, counts: counts,
            means: meanRatings.map { ExplorerPage.text($0.map { $0.isFinite ? $0 : .nan }) },
            bias: biases.map { ExplorerPage.text($0.map { $0.isFinite ? $0 : .nan }) },
            genreNames: genreNames,
            genres: genres.map { $0.map { $0.compactMap { genreIndex[$0] } } },
            vectors: .init(encoding: resolvedEncoding.rawValue, data: vectorData, scales: scales, exponents: exponents),
            layouts: layouts.map { .init(name: $0.name, x: $0.xTitle, y: $0.yTitle, coords: ExplorerPage.text($0.coordinates.data)) },
            recommend: .init(like: likeTarget, dislike: dislikeTarget, meanUserBias: meanUserBias,
                             yRange: yRange.map { [$0.low, $0.high] }, ridge: ridge),
            minRatings: minRatings)
    }

    /// The vectors as `Base85` text, with per-row scales for int16 and per-row
    /// exponents for int24.
    static func encode(_ m: Matrix, as encoding: VectorEncoding) -> (data: String, scales: String?, exponents: String?) {
        switch encoding {
        case .auto, .float32:
            return (text(m.data), nil, nil)
        case .int16:
            let (q, scales) = quantise(m)
            return (Base85.encode(littleEndian: q), Base85.encode(littleEndian: scales.map(\.bitPattern)), nil)
        case .int24:
            let (q, exponents) = quantise24(m)
            var bytes = Data(capacity: q.count * 3)
            for v in q {
                let u = UInt32(bitPattern: v)
                bytes.append(contentsOf: [UInt8(u & 0xFF), UInt8((u >> 8) & 0xFF), UInt8((u >> 16) & 0xFF)])
            }
            return (Base85.encode(bytes), nil, Base85.encode(littleEndian: exponents))
        }
    }

    /// Row-wise block floating point with 24-bit values: `e_r` the smallest
    /// integer with `max_j |v_rj| < 2^e_r`, `q_rj = round(v_rj · 2^(23−e_r))`,
    /// so `|q| ≤ 2^23 − 1` and `v ≈ q · 2^(e_r−23)` to half a step. A row of
    /// zeros (or only non-finite values) gets `e = 0` and zeros.
    static func quantise24(_ m: Matrix) -> (values: [Int32], exponents: [Int16]) {
        var q = [Int32](repeating: 0, count: m.data.count)
        var exponents = [Int16](repeating: 0, count: m.rows)
        let limit = Double(1 << 23 - 1)
        for r in 0..<m.rows {
            let row = m.row(r)
            let largest = row.reduce(0.0) { $1.isFinite ? max($0, Double(abs($1))) : $0 }
            guard largest > 0 else { continue }
            let e = Int(largest.exponent) + 1
            exponents[r] = Int16(e)
            let scale = Double(sign: .plus, exponent: 23 - e, significand: 1)
            for (j, v) in row.enumerated() where v.isFinite {
                q[r * m.cols + j] = Int32(max(-limit, min(limit, (Double(v) * scale).rounded())))
            }
        }
        return (q, exponents)
    }

    /// Row-wise symmetric int16 quantisation: `s_r = max_j |v_rj| / 32767`,
    /// `q_rj = round(v_rj / s_r)` (little-endian); non-finite values become 0.
    /// The scale is a Double: for a row of values near float32's smallest
    /// normal, s_r in float32 would be subnormal and lose its digits.
    static func quantise(_ m: Matrix) -> (values: [Int16], scales: [Double]) {
        var q = [Int16](repeating: 0, count: m.data.count)
        var scales = [Double](repeating: 0, count: m.rows)
        for r in 0..<m.rows {
            let row = m.row(r)
            let largest = row.reduce(0.0) { $1.isFinite ? max($0, Double(abs($1))) : $0 }
            guard largest > 0 else { continue }
            let s = largest / 32767
            scales[r] = s
            for (j, v) in row.enumerated() where v.isFinite {
                q[r * m.cols + j] = Int16(max(-32767, min(32767, (Double(v) / s).rounded()))).littleEndian
            }
        }
        return (q, scales)
    }

    /// Float32 values as `Base85` text of their little-endian bytes.
    static func text(_ values: [Float]) -> String {
        Base85.encode(littleEndian: values.map(\.bitPattern))
    }

    struct Payload: Encodable {
        struct Vectors: Encodable { var encoding: String; var data: String; var scales: String?; var exponents: String? }
        struct LayoutData: Encodable { var name: String; var x: String; var y: String; var coords: String }
        struct Recommend: Encodable {
            var like, dislike: Float
            var meanUserBias: Double
            var yRange: [Float]?
            var ridge: Double
        }
        var title, subtitle: String
        var items, factors: Int
        var labels: [String]
        var counts: [Int]?
        /// float32 as `Base85` text, NaN where unknown.
        var means: String?
        var bias: String?
        var genreNames: [String]
        var genres: [[Int]]?
        var vectors: Vectors
        var layouts: [LayoutData]
        var recommend: Recommend
        var minRatings: Int
    }
}
