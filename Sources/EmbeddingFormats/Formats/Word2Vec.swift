import Foundation
import EmbeddingCore

/// word2vec's formats, as gensim's `KeyedVectors.save_word2vec_format` writes them:
/// text (`binary=False`): a first line `count dimension`, then `word v1 ... vd` per
/// line, space-separated; binary (`binary=True`, `.bin`): the same first line, then
/// per word its UTF-8 bytes, a space and `d` little-endian float32. A text file
/// without the first line (GloVe's layout) reads too. Words are the labels.
public enum Word2Vec {
    /// True when the first line is two positive integers: a word2vec header.
    public static func hasHeader(_ data: Data) -> Bool { header(data) != nil }

    static func header(_ data: Data) -> (count: Int, dimension: Int, end: Int)? {
        let end = data.prefix(64).firstIndex(of: 0x0A).map { $0 - data.startIndex } ?? -1
        guard end > 0 else { return nil }
        let parts = String(decoding: data.prefix(end), as: UTF8.self).split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, let n = Int(parts[0].trimmingCharacters(in: .whitespacesAndNewlines)),
              let d = Int(parts[1].trimmingCharacters(in: .whitespacesAndNewlines)), n > 0, d > 0 else { return nil }
        return (n, d, end + 1)
    }

    public static func readText(data: Data, name: String) throws -> FactorTable {
        let head = header(data)
        var labels: [String] = [], values: [Float] = []
        var width = head?.dimension ?? -1
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let body = UnsafeRawBufferPointer(rebasing: raw[(head?.end ?? 0)...])
            values.reserveCapacity(min(body.count / 2, 1 << 26))
            try TextScan.forEachLine(body.bindMemory(to: UInt8.self)) { n, line in
                let lineNumber = n + (head == nil ? 0 : 1)
                let bytes = UnsafeRawBufferPointer(line)
                var fields: [Range<Int>] = []
                var start = 0
                for i in 0...bytes.count where i == bytes.count || bytes[i] == 0x20 {
                    if i > start { fields.append(start..<i) }
                    start = i + 1
                }
                guard fields.count >= 2 else { throw EmbtoolError.data("\(name):\(lineNumber): expected 'word v1 v2 ...'") }
                if width < 0 { width = fields.count - 1 }
                guard fields.count - 1 == width else {
                    throw EmbtoolError.data("\(name):\(lineNumber): \(fields.count - 1) numbers, expected \(width)")
                }
                labels.append(TextField.text(UnsafeRawBufferPointer(rebasing: bytes[fields[0]])))
                for f in fields.dropFirst() {
                    guard let v = TextScan.float(UnsafeRawBufferPointer(rebasing: bytes[f]), nonFinite: .accept) else {
                        throw EmbtoolError.data("\(name):\(lineNumber): '\(TextField.text(UnsafeRawBufferPointer(rebasing: bytes[f])).prefix(40))' is not a number")
                    }
                    values.append(v)
                }
            }
        }
        guard !labels.isEmpty else { throw EmbtoolError.data("\(name): no vectors") }
        if let head, head.count != labels.count {
            throw EmbtoolError.data("\(name): the first line announces \(head.count) words, the file holds \(labels.count)")
        }
        return FactorTable(labels: labels, factors: Matrix(rows: labels.count, cols: width, data: values))
    }

    public static func readBinary(data: Data, name: String) throws -> FactorTable {
        guard let head = header(data) else { throw EmbtoolError.data("\(name): no 'count dimension' first line; not a word2vec file") }
        let (count, d) = (head.count, head.dimension)
        // Each word needs at least 2 bytes besides its vector: bound the counts by the file.
        guard let bytesPerVector = elementCount([d, 4], limit: data.count), count <= data.count / (bytesPerVector + 2) else {
            throw EmbtoolError.data("\(name): the first line announces \(count) vectors of \(d), more than the file holds")
        }
        var labels: [String] = [], values = [Float](repeating: 0, count: count * d)
        labels.reserveCapacity(count)
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            try values.withUnsafeMutableBufferPointer { out in
                var p = head.end
                for row in 0..<count {
                    while p < raw.count && (raw[p] == 0x0A || raw[p] == 0x20) { p += 1 }
                    let start = p
                    while p < raw.count && raw[p] != 0x20 { p += 1 }
                    guard p < raw.count, raw.count - p - 1 >= bytesPerVector else {
                        throw EmbtoolError.data("\(name): truncated at word \(row + 1) of \(count)")
                    }
                    labels.append(TextField.text(UnsafeRawBufferPointer(rebasing: raw[start..<p])))
                    ElementType.f32.widen(raw, offset: p + 1, count: d, into: out, at: row * d)
                    p += 1 + bytesPerVector
                }
            }
        }
        return FactorTable(labels: labels, factors: Matrix(rows: count, cols: d, data: values))
    }
}
