import Foundation
import EmbeddingCore

/// embtool's model file: safetensors with the tensor names of fastai's
/// `EmbeddingDotBias` state dict, so `model.load_state_dict(load_file(path))`
/// works in fastai, and the vocabularies and counts in `__metadata__` (each
/// value a JSON document, since safetensors metadata values are strings).
public enum ModelFile {
    public static let userWeight = FactorModel.userWeight
    public static let itemWeight = FactorModel.itemWeight
    public static let userBias = FactorModel.userBiasWeight
    public static let itemBias = FactorModel.itemBiasWeight

    /// Writes atomically: a reader sees the old file or the new one, never half.
    /// Refuses a model holding NaN or infinity.
    public static func save(_ model: some RatingModel, to path: String) throws {
        try AtomicFile.write(encode(model), to: path)
    }

    public static func encode(_ model: some RatingModel) throws -> Data {
        let tensors = model.stateDict
        for t in tensors where t.values.contains(where: { !$0.isFinite }) {
            throw EmbtoolError(.software, "refusing to write a model whose \(t.name) holds NaN or infinity")
        }
        return try Safetensors.encode(tensors, metadata: metadataStrings(model.meta))
    }

    static func json<T: Encodable>(_ value: T) -> String {
        String(decoding: (try? JSONPolicy.encoder(pretty: false).encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    static func metadataStrings(_ m: ModelMetadata) -> [String: String] {
        var out: [String: String] = [
            "format": "pt",
            "producer": "embtool",
            "dataset": m.dataset,
            "item_key": m.itemKey.rawValue,
            "users": json(m.userLabels),
            "items": json(m.itemKeys),
            "item_labels": json(m.itemLabels),
            "item_counts": json(m.itemCounts),
            "data_sha256": m.dataChecksum,
        ]
        out["y_range"] = m.yRange.map { json([$0.low, $0.high]) } ?? "null"
        if !m.recipe.isEmpty { out["training"] = json(m.recipe) }
        if m.itemGenres.contains(where: { !$0.isEmpty }) { out["genres"] = json(m.itemGenres) }
        return out
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String?, key: String, file: String) throws -> T? {
        guard let text else { return nil }
        do {
            return try JSONPolicy.decoder().decode(T.self, from: Data(text.utf8))
        } catch {
            throw EmbtoolError.data("\(file): metadata '\(key)' is not valid: \(text.prefix(60))")
        }
    }

    /// Decodes a metadata value holding a large JSON array (labels, counts,
    /// genres) with `JSONScanner`: Foundation's decoder took 0.25 s for the
    /// 59k-item / 162k-user vocabularies.
    static func decodeArray<T>(_ text: String?, key: String, file: String, _ read: (String) throws -> [T]) throws -> [T]? {
        guard let text else { return nil }
        do {
            return try read(text)
        } catch {
            throw EmbtoolError.data("\(file): metadata '\(key)' is not valid: \(text.prefix(60))")
        }
    }

    /// Reads embtool's metadata back; absent keys stay at their defaults.
    public static func metadata(from strings: [String: String], file: String, users: Bool = true) throws -> ModelMetadata {
        try metadata(from: Safetensors.Metadata(strings), file: file, users: users)
    }

    /// `metadata(from:)` over a file's metadata, decoding only the values it
    /// reads. Without `users` the user labels (the longest list in a large
    /// model) are not decoded and stay empty, for commands about items only;
    /// without `genres` the same for the item genres.
    public static func metadata(from values: Safetensors.Metadata, file: String, users: Bool = true, genres: Bool = true) throws -> ModelMetadata {
        var strings: [String: String] = [:]
        for key in ["dataset", "item_key", "y_range", "training", "recipe", "data_sha256"] { strings[key] = try values.value(key) }
        var m = ModelMetadata()
        m.dataset = strings["dataset"] ?? file
        if let key = strings["item_key"] { m.itemKey = ItemKey(rawValue: key) ?? .title }
        if let r = strings["y_range"] {
            let pair = try decode([Float]?.self, r, key: "y_range", file: file) ?? nil
            if let pair {
                guard pair.count == 2 else { throw EmbtoolError.data("\(file): metadata 'y_range' needs two numbers") }
                m.yRange = .init(low: pair[0], high: pair[1])
            } else {
                m.yRange = nil
            }
        }
        func array<T>(_ key: String, _ read: (String) throws -> [T]) throws -> [T]? {
            try decodeArray(try values.value(key), key: key, file: file, read)
        }
        if users { m.userLabels = try array("users", JSONScanner.strings) ?? [] }
        m.itemKeys = try array("items", JSONScanner.strings) ?? []
        // A model keyed by title stores the same list twice: decode it once.
        m.itemLabels = values.sameValue("item_labels", "items") ? m.itemKeys : try array("item_labels", JSONScanner.strings) ?? m.itemKeys
        m.itemCounts = try array("item_counts", JSONScanner.integers) ?? []
        if genres { m.itemGenres = try array("genres", JSONScanner.stringLists) ?? [] }
        // Files written before the record was typed hold it as flat text under "recipe".
        if let record = try decode(RecipeRecord.self, strings["training"], key: "training", file: file) {
            m.recipe = record
        } else if let old = try decode([String: String].self, strings["recipe"], key: "recipe", file: file) {
            m.recipe = RecipeRecord(flattened: old)
        }
        m.dataChecksum = strings["data_sha256"] ?? ""
        return m
    }

    /// Loads an embtool (or any fastai `EmbeddingDotBias`-named) safetensors
    /// file. It is read as `--model` reads any factor file, through
    /// `FactorLoader`, so it passes the same checks: shapes against each other
    /// and the metadata's vocabularies, NaN and infinity counted.
    public static func load(path: String, options: FactorLoader.Options = FactorLoader.Options()) throws -> FactorModel {
        try FactorLoader.load(path: path, options: options)
    }

    /// Shapes must agree with each other and with the vocabularies.
    public static func validate(_ model: FactorModel, file: String) throws {
        let k = model.itemFactors.cols
        if let u = model.userFactors, u.cols != k {
            throw EmbtoolError.data("\(file): user factors have \(u.cols) columns but item factors \(k)")
        }
        if let b = model.itemBias, b.count != model.itemFactors.rows {
            throw EmbtoolError.data("\(file): \(b.count) item biases for \(model.itemFactors.rows) items")
        }
        if let b = model.userBias, let u = model.userFactors, b.count != u.rows {
            throw EmbtoolError.data("\(file): \(b.count) user biases for \(u.rows) users")
        }
        let m = model.meta
        if !m.itemCounts.isEmpty && m.itemCounts.count != model.itemFactors.rows {
            throw EmbtoolError.data("\(file): metadata counts \(m.itemCounts.count) items but the factors have \(model.itemFactors.rows) rows")
        }
    }
}
