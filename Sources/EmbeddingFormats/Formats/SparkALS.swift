import Foundation
import EmbeddingCore

/// The factors Spark ML's ALS writes with `model.itemFactors.write.json(dir)`
/// (and `userFactors`): a folder of `part-*.json` files (plus `_SUCCESS` and
/// `.crc` files), one JSON object per line, `{"id":1,"features":[0.1,...]}`.
/// Rows are sorted by id, so the order does not depend on Spark's partitions.
public enum SparkALS {
    /// True for a folder holding `part-*.json` files (or compressed ones, which `read` explains).
    public static func isFactorFolder(_ path: String) -> Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).contains { $0.hasPrefix("part-") && $0.contains(".json") }
    }

    public static func read(folder: String) throws -> FactorTable {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix("part-") }.sorted()
        if let compressed = names.first(where: { !$0.hasSuffix(".json") && $0.contains(".json.") }) {
            throw EmbtoolError.data("\(folder)/\(compressed): compressed JSON; write the factors with .option(\"compression\", \"none\")")
        }
        var ids: [Int64] = [], values: [Float] = []
        var width = -1
        for file in names where file.hasSuffix(".json") {
            let path = folder + "/" + file
            try readInputFile(path, allowEmpty: true).withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                values.reserveCapacity(values.count + raw.count / 8)
                try TextScan.forEachLine(raw.bindMemory(to: UInt8.self)) { lineNumber, line in
                    var parser = JSONLine(bytes: UnsafeRawBufferPointer(line), name: "\(path):\(lineNumber)")
                    let before = values.count
                    ids.append(try parser.parse(appendingFeaturesTo: &values))
                    if width < 0 { width = values.count - before }
                    guard values.count - before == width else {
                        throw EmbtoolError.data("\(path):\(lineNumber): \(values.count - before) features, expected \(width) as in the first row")
                    }
                }
            }
        }
        guard !ids.isEmpty else { throw EmbtoolError.data("\(folder): no factors in part-*.json files") }
        return try table(ids: ids, values: values, width: width, folder: folder)
    }

    /// The rows in id order, whatever the partitioning; an id twice is an error.
    static func table(ids: [Int64], values: [Float], width: Int, folder: String) throws -> FactorTable {
        let order = ids.indices.sorted { ids[$0] < ids[$1] }
        for (a, b) in zip(order, order.dropFirst()) where ids[a] == ids[b] {
            throw EmbtoolError.data("\(folder): id \(ids[a]) appears twice")
        }
        let factors = Matrix(rows: ids.count, cols: width, data: values).rows(order)
        return FactorTable(labels: order.map { String(ids[$0]) }, factors: factors)
    }

    /// One line of Spark's JSON: an object with an integer `id` and a numeric
    /// array `features`; other keys are skipped. Spark writes NaN as `"NaN"`.
    struct JSONLine {
        let bytes: UnsafeRawBufferPointer
        let name: String
        var i = 0

        func bad(_ why: String) -> EmbtoolError { .data("\(name): \(why)") }

        mutating func space() { while i < bytes.count && (bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0D) { i += 1 } }
        mutating func expect(_ c: UInt8) throws {
            space()
            guard i < bytes.count, bytes[i] == c else { throw bad("expected '\(Character(Unicode.Scalar(c)))' at column \(i + 1)") }
            i += 1
        }
        mutating func peek(_ c: UInt8) -> Bool { space(); return i < bytes.count && bytes[i] == c }

        mutating func string() throws -> Range<Int> {
            try expect(0x22)
            let start = i
            while i < bytes.count && bytes[i] != 0x22 { i += bytes[i] == 0x5C ? 2 : 1 }
            guard i < bytes.count else { throw bad("unterminated string") }
            i += 1
            return start..<(i - 1)
        }

        /// A number token, or a quoted "NaN" / "Infinity" / "-Infinity".
        mutating func number() throws -> Float {
            space()
            if i < bytes.count && bytes[i] == 0x22 {
                let r = try string()
                if let v = TextScan.float(UnsafeRawBufferPointer(rebasing: bytes[r]), nonFinite: .accept) { return v }
                throw bad("'\(TextField.text(UnsafeRawBufferPointer(rebasing: bytes[r])))' is not a number")
            }
            let start = i
            while i < bytes.count, let c = Optional(bytes[i]), (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x2B || c == 0x2E || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) {
                i += 1
            }
            guard i > start, let v = TextScan.float(UnsafeRawBufferPointer(rebasing: bytes[start..<i]), nonFinite: .accept) else {
                throw bad("expected a number at column \(start + 1)")
            }
            return v
        }

        /// Skips any JSON value (for keys other than id and features).
        mutating func skipValue() throws {
            space()
            guard i < bytes.count else { throw bad("truncated line") }
            switch bytes[i] {
            case 0x22: _ = try string()
            case 0x5B, 0x7B:
                var depth = 0
                repeat {
                    guard i < bytes.count else { throw bad("truncated line") }
                    if bytes[i] == 0x22 { _ = try string(); continue }
                    if bytes[i] == 0x5B || bytes[i] == 0x7B { depth += 1 }
                    if bytes[i] == 0x5D || bytes[i] == 0x7D { depth -= 1 }
                    i += 1
                } while depth > 0
            default:
                while i < bytes.count && bytes[i] != 0x2C && bytes[i] != 0x7D { i += 1 }
            }
        }

        /// The id; the features are appended to `values`.
        mutating func parse(appendingFeaturesTo values: inout [Float]) throws -> Int64 {
            var id: Int64?, sawFeatures = false
            try expect(0x7B)
            while !peek(0x7D) {
                let key = TextField.text(UnsafeRawBufferPointer(rebasing: bytes[try string()]))
                try expect(0x3A)
                switch key {
                case "id":
                    space()
                    let start = i
                    while i < bytes.count && ((bytes[i] >= 0x30 && bytes[i] <= 0x39) || bytes[i] == 0x2D) { i += 1 }
                    guard let v = Int64(TextField.text(UnsafeRawBufferPointer(rebasing: bytes[start..<i]))) else {
                        throw bad("id is not an integer")
                    }
                    id = v
                case "features":
                    guard !sawFeatures else { throw bad("two feature arrays") }
                    try expect(0x5B)
                    while !peek(0x5D) {
                        values.append(try number())
                        if !peek(0x5D) { try expect(0x2C) }
                    }
                    i += 1
                    sawFeatures = true
                default:
                    try skipValue()
                }
                if !peek(0x7D) { try expect(0x2C) }
            }
            guard let id, sawFeatures else { throw bad("expected {\"id\": ..., \"features\": [...]}") }
            return id
        }
    }
}
