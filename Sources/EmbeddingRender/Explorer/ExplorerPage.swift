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
        /// float32 below `autoFloat32Limit` values, int16 above.
        case auto
        /// The model's float32 values, exactly (base64 of little-endian bytes).
        case float32
        /// Per-row scale `s = max|v|/32767` (float64, so that rows of tiny
        /// values keep their precision) and `round(v/s)` as int16: half the size;
        /// a cosine moves by at most √k/65534 (1e-4 for k = 50), typically 1e-5.
        case int16
    }

    /// Above this many stored values (rows × factors), `auto` quantises:
    /// 1.5 M float32 values are 8 MB of base64, about what a page should carry.
    public static let autoFloat32Limit = 1_500_000

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
        return vectors.data.count <= ExplorerPage.autoFloat32Limit ? .float32 : .int16
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
        let (vectorData, scales) = ExplorerPage.encode(vectors, as: resolvedEncoding)
        return Payload(
            title: title, subtitle: subtitle, items: vectors.rows, factors: vectors.cols,
            labels: labels, counts: counts,
            means: meanRatings.map { $0.map { $0.isFinite ? $0 : nil } },
            bias: biases.map { $0.map { $0.isFinite ? $0 : nil } },
            genreNames: genreNames,
            genres: genres.map { $0.map { $0.compactMap { genreIndex[$0] } } },
            vectors: .init(encoding: resolvedEncoding.rawValue, data: vectorData, scales: scales),
            layouts: layouts.map { .init(name: $0.name, x: $0.xTitle, y: $0.yTitle, coords: ExplorerPage.base64($0.coordinates.data)) },
            recommend: .init(like: likeTarget, dislike: dislikeTarget, meanUserBias: meanUserBias,
                             yRange: yRange.map { [$0.low, $0.high] }, ridge: ridge),
            minRatings: minRatings)
    }

    /// The vectors as base64, with per-row scales for int16.
    static func encode(_ m: Matrix, as encoding: VectorEncoding) -> (data: String, scales: String?) {
        guard encoding == .int16 else { return (base64(m.data), nil) }
        let (q, scales) = quantise(m)
        let bytes = q.withUnsafeBufferPointer { p in Data(buffer: p) }
        let scaleBytes = scales.map { $0.bitPattern.littleEndian }.withUnsafeBufferPointer { Data(buffer: $0) }
        return (bytes.base64EncodedString(), scaleBytes.base64EncodedString())
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

    /// Float32 values as base64 of their little-endian bytes.
    static func base64(_ values: [Float]) -> String {
        let le = values.map { $0.bitPattern.littleEndian }
        return le.withUnsafeBufferPointer { Data(buffer: $0) }.base64EncodedString()
    }

    struct Payload: Encodable {
        struct Vectors: Encodable { var encoding: String; var data: String; var scales: String? }
        struct LayoutData: Encodable { var name: String; var x: String; var y: String; var coords: String }
        struct Recommend: Encodable {
            var like: Float
            var dislike: Float
            var meanUserBias: Double
            var yRange: [Float]?
            var ridge: Double
        }
        var title: String
        var subtitle: String
        var items: Int
        var factors: Int
        var labels: [String]
        var counts: [Int]?
        var means: [Float?]?
        var bias: [Float?]?
        var genreNames: [String]
        var genres: [[Int]]?
        var vectors: Vectors
        var layouts: [LayoutData]
        var recommend: Recommend
        var minRatings: Int
    }
}
