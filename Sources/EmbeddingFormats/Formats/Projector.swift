import Foundation
import EmbeddingCore

/// The TensorFlow Embedding Projector's pair of files (projector.tensorflow.org,
/// "Load data"): `vectors.tsv`, one row of tab-separated numbers per point and no
/// header, and `metadata.tsv` beside it, one line per point; with more than one
/// column its first line names the columns. TSV here has no quoting, so tabs and
/// line breaks inside labels are written as spaces.
public enum Projector {
    public static let vectorsFile = "vectors.tsv"
    public static let metadataFile = "metadata.tsv"

    /// The lines of `bytes`, LF or CRLF; a final line break ends the last line
    /// rather than starting an empty one. Blank lines are kept: in metadata.tsv
    /// an empty label is still a point.
    static func lines(_ raw: UnsafeRawBufferPointer) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start = raw.count >= 3 && raw[0] == 0xEF && raw[1] == 0xBB && raw[2] == 0xBF ? 3 : 0
        while start < raw.count {
            let end = raw[start...].firstIndex(of: 0x0A) ?? raw.count
            out.append(start..<(end > start && raw[end - 1] == 0x0D ? end - 1 : end))
            start = end + 1
        }
        return out
    }

    static func fields(_ raw: UnsafeRawBufferPointer, _ line: Range<Int>) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start = line.lowerBound
        for i in line where raw[i] == 0x09 {
            out.append(start..<i)
            start = i + 1
        }
        out.append(start..<line.upperBound)
        return out
    }

    /// Reads `vectors.tsv` and, when given, its `metadata.tsv`. Without metadata
    /// the labels are row numbers.
    public static func read(vectors vectorsPath: String, metadata metadataPath: String?) throws -> FactorTable {
        let data = try readInputFile(vectorsPath)
        var values: [Float] = []
        var width = -1, rows = 0
        try data.withUnsafeBytes { raw in
            values.reserveCapacity(min(raw.count / 2, 1 << 26))
            for (n, line) in lines(raw).enumerated() where !line.isEmpty {
                let f = fields(raw, line)
                if width < 0 { width = f.count }
                guard f.count == width else {
                    throw EmbtoolError.data("\(vectorsPath):\(n + 1): \(f.count) numbers, expected \(width) as in the first row")
                }
                for r in f {
                    guard let v = TextScan.float(UnsafeRawBufferPointer(rebasing: raw[r]), nonFinite: .accept) else {
                        throw EmbtoolError.data("\(vectorsPath):\(n + 1): '\(TextField.text(UnsafeRawBufferPointer(rebasing: raw[r])).prefix(40))' is not a number")
                    }
                    values.append(v)
                }
                rows += 1
            }
        }
        guard rows > 0 else { throw EmbtoolError.data("\(vectorsPath): no vectors") }
        var table = FactorTable(labels: (0..<rows).map(String.init), factors: Matrix(rows: rows, cols: width, data: values))
        if let metadataPath { try readMetadata(metadataPath, rows: rows, into: &table) }
        return table
    }

    static func readMetadata(_ path: String, rows: Int, into table: inout FactorTable) throws {
        let data = try readInputFile(path)
        try data.withUnsafeBytes { raw in
            let all = lines(raw)
            guard let first = all.first else { throw EmbtoolError.data("\(path): empty") }
            let columns = fields(raw, first).map { TextField.text(UnsafeRawBufferPointer(rebasing: raw[$0])).lowercased() }
            let hasHeader = columns.count > 1
            let body = hasHeader ? Array(all.dropFirst()) : all
            guard body.count == rows else {
                throw EmbtoolError.data("\(path): \(body.count) points but \(Projector.vectorsFile) has \(rows) rows")
            }
            let labelColumn = hasHeader ? (columns.firstIndex { ["label", "title", "name", "word"].contains($0) } ?? 0) : 0
            let countColumn = hasHeader ? columns.firstIndex(of: "count") : nil
            let biasColumn = hasHeader ? columns.firstIndex(of: "bias") : nil
            let genresColumn = hasHeader ? columns.firstIndex(of: "genres") : nil
            var labels: [String] = [], counts: [Int] = [], bias: [Float] = [], genres: [[String]] = []
            for (n, line) in body.enumerated() {
                let f = fields(raw, line)
                func text(_ c: Int) -> String { c < f.count ? TextField.text(UnsafeRawBufferPointer(rebasing: raw[f[c]])) : "" }
                let lineNumber = n + (hasHeader ? 2 : 1)
                labels.append(text(labelColumn))
                if let c = countColumn {
                    guard let v = Int(text(c)), v >= 0 else { throw EmbtoolError.data("\(path):\(lineNumber): count '\(text(c).prefix(40))' is not a count") }
                    counts.append(v)
                }
                if let c = biasColumn {
                    guard let v = TextScan.float(text(c), nonFinite: .accept) else { throw EmbtoolError.data("\(path):\(lineNumber): bias '\(text(c).prefix(40))' is not a number") }
                    bias.append(v)
                }
                if let c = genresColumn { genres.append(text(c).split(separator: "|").map(String.init)) }
            }
            table.labels = labels
            if countColumn != nil { table.counts = counts }
            if biasColumn != nil { table.bias = bias }
            if genresColumn != nil { table.genres = genres }
        }
    }

    /// Tabs and line breaks would split a TSV cell; the Projector has no quoting.
    static func cell(_ s: String) -> String {
        String(s.map { $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" ? " " : $0 })
    }

    public static func encodeVectors(_ factors: Matrix, rows: [Int]) -> String {
        var out = ""
        out.reserveCapacity(rows.count * factors.cols * 12)
        for r in rows {
            out += factors.row(r).map { "\($0)" }.joined(separator: "\t")
            out += "\n"
        }
        return out
    }

    /// `label` and whichever of `count`, `bias`, `genres` are known, with a
    /// header row (always at least two columns, so the Projector reads the header).
    public static func encodeMetadata(labels: [String], counts: [Int]?, bias: [Float]?, genres: [[String]]?, rows: [Int]) -> String {
        var header = ["label"]
        if counts != nil { header.append("count") }
        if bias != nil { header.append("bias") }
        if genres != nil || header.count == 1 { header.append("genres") }
        var out = header.joined(separator: "\t") + "\n"
        for r in rows {
            var cells = [cell(labels[r])]
            if let counts { cells.append(String(counts[r])) }
            if let bias { cells.append("\(bias[r])") }
            if header.last == "genres" { cells.append(cell(genres.map { r < $0.count ? $0[r].joined(separator: "|") : "" } ?? "")) }
            out += cells.joined(separator: "\t") + "\n"
        }
        return out
    }
}
