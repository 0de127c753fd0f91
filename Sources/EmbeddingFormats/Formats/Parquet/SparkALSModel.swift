import Foundation
import EmbeddingCore

/// A Spark ML `ALSModel` as `model.save(dir)` writes it:
///
///     dir/metadata/part-00000*        one JSON line: class, uid, sparkVersion, rank, paramMap
///     dir/itemFactors/part-*.parquet  id: int, features: array<float> (Snappy by default)
///     dir/userFactors/part-*.parquet
///
/// (plus `_SUCCESS` and `.crc` files). Rows are sorted by id, so the order does
/// not depend on Spark's partitions; each features array must have `rank` values.
enum SparkALSModel {
    static let className = "org.apache.spark.ml.recommendation.ALSModel"

    /// What `metadata/` says.
    struct Metadata: Sendable {
        var uid: String
        var sparkVersion: String
        var rank: Int?
        /// The explicitly set parameters (`paramMap`), values as JSON text.
        var params: [String: String]
    }

    static func partFiles(_ folder: String, suffix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { $0.hasPrefix("part-") && $0.hasSuffix(suffix) }.sorted()
    }

    /// True for a folder of `part-*.parquet` files (an `itemFactors/` folder).
    static func isFactorFolder(_ path: String) -> Bool { !partFiles(path, suffix: ".parquet").isEmpty }

    /// True for a saved model: `metadata/` and an `itemFactors/` of Parquet parts.
    static func isModelFolder(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path + "/metadata") && isFactorFolder(path + "/itemFactors")
    }

    static func readMetadata(folder: String) throws -> Metadata {
        guard let part = partFiles(folder + "/metadata", suffix: "").first(where: { !$0.hasSuffix(".crc") }) else {
            throw EmbtoolError.data("\(folder)/metadata: no part-* file")
        }
        let path = folder + "/metadata/" + part
        let data = try readInputFile(path)
        let line = data.prefix { $0 != 0x0A }
        guard let json = try? JSONSerialization.jsonObject(with: line) as? [String: Any] else {
            throw EmbtoolError.data("\(path): not a JSON object on its first line")
        }
        guard let cls = json["class"] as? String, cls == className else {
            throw EmbtoolError.data("\(path): class \((json["class"] as? String) ?? "missing"), expected \(className)")
        }
        var params: [String: String] = [:]
        for (key, value) in (json["paramMap"] as? [String: Any]) ?? [:] {
            let text = (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys])).map { String(decoding: $0, as: UTF8.self) }
            params[key] = text ?? "\(value)"
        }
        // Spark 3 and later write rank at the top level; Spark 2 in paramMap.
        let rank = (json["rank"] as? NSNumber)?.intValue ?? ((json["paramMap"] as? [String: Any])?["rank"] as? NSNumber)?.intValue
        if let rank, rank <= 0 { throw EmbtoolError.data("\(path): rank \(rank)") }
        return Metadata(uid: json["uid"] as? String ?? "", sparkVersion: json["sparkVersion"] as? String ?? "", rank: rank, params: params)
    }

    /// The factors of every `part-*.parquet` in `folder`, rows by id. `rank`,
    /// when known, is the length every features array must have.
    static func readFactors(folder: String, rank: Int? = nil) throws -> FactorTable {
        let parts = partFiles(folder, suffix: ".parquet")
        guard !parts.isEmpty else { throw EmbtoolError.data("\(folder): no part-*.parquet files") }
        var ids: [Int64] = [], values: [Float] = []
        var width = rank ?? -1
        for part in parts {
            try readFactors(file: ParquetFile(path: folder + "/" + part), ids: &ids, values: &values, width: &width)
        }
        guard !ids.isEmpty else { throw EmbtoolError.data("\(folder): no factors in part-*.parquet files") }
        return try SparkALS.table(ids: ids, values: values, width: width, folder: folder)
    }

    /// Appends one file's `id` and `features` columns; every row must have `width`
    /// features (the first row's when `width` is -1).
    static func readFactors(file: ParquetFile, ids: inout [Int64], values: inout [Float], width: inout Int) throws {
        let name = file.name
        guard let idLeaf = file.leaf(named: "id"), !idLeaf.isList,
              let featuresLeaf = file.leaf(named: "features"), featuresLeaf.isList else {
            throw EmbtoolError.data("\(name): expected columns id and features (array<float>), found \(file.leaves.map(\.name).joined(separator: ", "))")
        }
        let idColumn = try file.read(idLeaf), features = try file.read(featuresLeaf)
        guard idColumn.valid == nil else { throw EmbtoolError.data("\(name): a null id") }
        switch idColumn.values {
        case .int32(let v): ids.append(contentsOf: v.lazy.map(Int64.init))
        case .int64(let v): ids.append(contentsOf: v)
        default: throw EmbtoolError.data("\(name): id is not an integer column")
        }
        guard case .float(let floats) = features.values, let offsets = features.offsets else {
            throw EmbtoolError.data("\(name): features is not an array<float> column")
        }
        guard features.rows == idColumn.rows else {
            throw EmbtoolError.data("\(name): \(features.rows) feature rows for \(idColumn.rows) ids")
        }
        guard features.valid == nil, features.rowValid == nil else { throw EmbtoolError.data("\(name): null features") }
        for r in 0..<features.rows {
            let n = offsets[r + 1] - offsets[r]
            if width < 0 { width = n }
            guard n == width else {
                throw EmbtoolError.data("\(name): row \(r) (id \(ids[ids.count - features.rows + r])) has \(n) features, expected \(width)")
            }
        }
        values.append(contentsOf: floats)
    }
}
