import Foundation
import EmbeddingCore

/// Factors read from a table-shaped format (CSV/TSV, the Embedding Projector's
/// TSV pair, Spark's JSON lines, word2vec): one labelled row per item.
public struct FactorTable {
    public var labels: [String]
    public var factors: Matrix
    public var bias: [Float]?
    public var counts: [Int]?
    public var genres: [[String]]?

    public init(labels: [String], factors: Matrix, bias: [Float]? = nil, counts: [Int]? = nil, genres: [[String]]? = nil) {
        self.labels = labels
        self.factors = factors
        self.bias = bias
        self.counts = counts
        self.genres = genres
    }
}

/// Field-level helpers shared by the text readers.
enum TextField {
    static func text(_ bytes: UnsafeRawBufferPointer) -> String { String(decoding: bytes, as: UTF8.self) }
}

/// Splits delimited text into records (RFC 4180: fields may be quoted with `"`,
/// a quote inside doubled, and may then hold separators and line breaks).
/// Blank lines are skipped; a UTF-8 byte-order mark is ignored.
struct DelimitedScanner {
    struct Field {
        var range: Range<Int>
        /// The unescaped text of a quoted field.
        var quoted: String?
    }

    let bytes: UnsafeRawBufferPointer
    let separator: UInt8
    let name: String
    var position = 0
    /// The line on which the last record returned by `next` starts.
    private(set) var line = 0
    private var nextLine = 1

    init(_ bytes: UnsafeRawBufferPointer, separator: UInt8, name: String) {
        self.bytes = bytes
        self.separator = separator
        self.name = name
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { position = 3 }
    }

    func string(_ f: Field) -> String { f.quoted ?? TextField.text(UnsafeRawBufferPointer(rebasing: bytes[f.range])) }
    func float(_ f: Field) -> Float? {
        if let q = f.quoted { return TextScan.float(q, nonFinite: .accept) }
        return TextScan.float(UnsafeRawBufferPointer(rebasing: bytes[f.range]), nonFinite: .accept)
    }

    /// Fills `fields` with the next record; false at the end of the input.
    mutating func next(into fields: inout [Field]) throws -> Bool {
        fields.removeAll(keepingCapacity: true)
        let n = bytes.count
        // Skip blank lines.
        while position < n && (bytes[position] == 0x0A || bytes[position] == 0x0D) {
            if bytes[position] == 0x0A { nextLine += 1 }
            position += 1
        }
        guard position < n else { return false }
        line = nextLine
        while true {
            if position < n && bytes[position] == 0x22 {
                // Quoted field: up to the closing quote, "" stands for one quote.
                var text = [UInt8]()
                var p = position + 1
                while true {
                    guard p < n else { throw EmbtoolError.data("\(name):\(line): a quoted field is never closed") }
                    if bytes[p] == 0x22 {
                        if p + 1 < n && bytes[p + 1] == 0x22 { text.append(0x22); p += 2; continue }
                        p += 1
                        break
                    }
                    if bytes[p] == 0x0A { nextLine += 1 }
                    text.append(bytes[p])
                    p += 1
                }
                fields.append(Field(range: position..<p, quoted: String(decoding: text, as: UTF8.self)))
                position = p
                if position < n && bytes[position] == 0x0D { position += 1 }
                guard position >= n || bytes[position] == separator || bytes[position] == 0x0A else {
                    throw EmbtoolError.data("\(name):\(line): text after a closing quote")
                }
            } else {
                let start = position
                while position < n && bytes[position] != separator && bytes[position] != 0x0A { position += 1 }
                var end = position
                if end > start && bytes[end - 1] == 0x0D && (position >= n || bytes[position] == 0x0A) { end -= 1 }
                fields.append(Field(range: start..<end, quoted: nil))
            }
            if position >= n { return true }
            if bytes[position] == 0x0A {
                position += 1
                nextLine += 1
                return true
            }
            position += 1  // separator
        }
    }
}

/// CSV and TSV factor files: `label,f0,...,f{k-1}` per row, with or without a
/// header. With a header, columns named `bias` and `count` are read as such
/// (the layout `embtool export --csv` writes); every other column after the
/// label is a factor. The separator is a tab when the first line holds one.
public enum DelimitedFactors {
    public static func read(data: Data, name: String) throws -> FactorTable {
        try data.withUnsafeBytes { raw in
            let firstLine = raw.firstIndex(of: 0x0A) ?? raw.count
            let separator: UInt8 = raw[..<firstLine].contains(0x09) ? 0x09 : UInt8(ascii: ",")
            var scanner = DelimitedScanner(raw, separator: separator, name: name)
            var fields: [DelimitedScanner.Field] = []
            guard try scanner.next(into: &fields) else { throw EmbtoolError.data("\(name): no rows") }
            guard fields.count >= 2 else {
                throw EmbtoolError.data("\(name):\(scanner.line): expected 'label\(separator == 9 ? "<TAB>" : ",")f0...', found one column")
            }

            // A header is a first row whose factor columns are not all numbers.
            var factorColumns = Array(1..<fields.count)
            var biasColumn: Int?, countColumn: Int?
            var haveRow = true
            if fields.dropFirst().contains(where: { scanner.float($0) == nil }) {
                let names = fields.map { scanner.string($0).trimmingCharacters(in: .whitespaces).lowercased() }
                biasColumn = names.dropFirst().firstIndex(of: "bias")
                countColumn = names.dropFirst().firstIndex(of: "count")
                factorColumns.removeAll { $0 == biasColumn || $0 == countColumn }
                guard !factorColumns.isEmpty else { throw EmbtoolError.data("\(name): the header names no factor columns") }
                haveRow = try scanner.next(into: &fields)
            }
            let width = factorColumns.count + 1 + (biasColumn == nil ? 0 : 1) + (countColumn == nil ? 0 : 1)
            var labels: [String] = [], values: [Float] = [], bias: [Float] = [], counts: [Int] = []
            values.reserveCapacity(min(raw.count / 2, 1 << 26))
            while haveRow {
                guard fields.count == width else {
                    throw EmbtoolError.data("\(name):\(scanner.line): \(fields.count) columns, expected \(width) as in the first row")
                }
                labels.append(scanner.string(fields[0]))
                for c in factorColumns {
                    guard let v = scanner.float(fields[c]) else {
                        throw EmbtoolError.data("\(name):\(scanner.line): column \(c + 1) '\(scanner.string(fields[c]).prefix(40))' is not a number")
                    }
                    values.append(v)
                }
                if let b = biasColumn {
                    guard let v = scanner.float(fields[b]) else { throw EmbtoolError.data("\(name):\(scanner.line): bias '\(scanner.string(fields[b]).prefix(40))' is not a number") }
                    bias.append(v)
                }
                if let c = countColumn {
                    guard let v = Int(scanner.string(fields[c]).trimmingCharacters(in: .whitespaces)), v >= 0 else {
                        throw EmbtoolError.data("\(name):\(scanner.line): count '\(scanner.string(fields[c]).prefix(40))' is not a count")
                    }
                    counts.append(v)
                }
                haveRow = try scanner.next(into: &fields)
            }
            guard !labels.isEmpty else { throw EmbtoolError.data("\(name): a header but no rows") }
            return FactorTable(labels: labels, factors: Matrix(rows: labels.count, cols: factorColumns.count, data: values),
                               bias: biasColumn == nil ? nil : bias, counts: countColumn == nil ? nil : counts)
        }
    }

    /// `label[,count][,bias],f0,...,f{k-1}` with a header, one row per item,
    /// numbers in Swift's shortest round-trip form.
    public static func encode(labels: [String], factors: Matrix, bias: [Float]?, counts: [Int]?, separator: UInt8 = UInt8(ascii: ",")) -> String {
        var header = ["label"]
        if counts != nil { header.append("count") }
        if bias != nil { header.append("bias") }
        header += (0..<factors.cols).map { "f\($0)" }
        var table = CSVTable(header: header, separator: separator)
        for r in 0..<factors.rows {
            var row = [labels[r]]
            if let counts { row.append(String(counts[r])) }
            if let bias { row.append("\(bias[r])") }
            row += factors.row(r).map { "\($0)" }
            table.appendRow(row)
        }
        return table.text
    }
}
