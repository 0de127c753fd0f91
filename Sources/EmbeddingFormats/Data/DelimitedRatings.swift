import Foundation
import EmbeddingCore

/// Any delimited `user,item,rating[,timestamp]` file, with or without a header.
/// The separator is sniffed from the first line (tab, comma, semicolon, `::`,
/// `|`) unless given; columns come from `--columns`, else from the header's
/// names, else are `user,item,rating[,timestamp]` in that order.
public enum DelimitedRatings {
    /// Header names that mean each column, after `normalizedColumnName`.
    static let synonyms: [RatingsColumn: Set<String>] = [
        .user: ["user", "userid", "uid", "users", "customer", "customerid", "reviewerid"],
        .item: ["item", "itemid", "iid", "items", "movie", "movieid", "product", "productid", "asin", "track", "trackid", "book", "isbn"],
        .rating: ["rating", "ratings", "score", "stars", "rate", "value", "label"],
        .timestamp: ["timestamp", "time", "ts", "unixtime", "unixreviewtime", "datetime"],
    ]

    public static func load(path: String, separator: [UInt8]? = nil, columns: [RatingsColumn]? = nil) throws -> RawRatings {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw EmbtoolError.noInput("\(path): is a folder; a CSV or TSV ratings file is one file", reason: .folderNotFile)
        }
        var raw = RawRatings()
        raw.name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        let parser = try self.parser(path: path, separator: separator, columns: columns)
        try parser.read(into: &raw)
        raw.sources = [path]
        return raw
    }

    /// A parser for the file at `path`, its header (if any) read and skipped.
    static func parser(path: String, separator givenSeparator: [UInt8]?, columns given: [RatingsColumn]?) throws -> RatingsParser {
        let file = try MappedFile(path)
        let bytes = file.bytes
        let start = bomLength(bytes)
        // The first non-blank line decides separator and header.
        var offset = start
        var firstLine = UnsafeBufferPointer<UInt8>(rebasing: bytes[start..<start])
        while offset < bytes.count {
            let next = TextScan.nextLineStart(bytes, from: offset)
            var stop = next > offset && bytes[next - 1] == TextScan.newline ? next - 1 : next
            if stop > offset && bytes[stop - 1] == TextScan.carriageReturn { stop -= 1 }
            if stop > offset { firstLine = UnsafeBufferPointer(rebasing: bytes[offset..<stop]); break }
            offset = next
        }
        guard !firstLine.isEmpty else { throw EmbtoolError.data("\(path): no ratings (only blank lines)") }
        let encoding = TextEncoding.detect(firstLine)
        let separator = givenSeparator ?? sniffSeparator(firstLine)
        let quoted = separator == [UInt8(ascii: ",")] || separator == [UInt8(ascii: ";")]
        let fields: [String] = quoted
            ? (TextScan.csvFields(firstLine, separator: separator[0], encoding: encoding) ?? [])
            : TextScan.fields(firstLine, separator: separator).map { encoding.decode($0) }
        let lineNo = file.lineNumber(at: offset)

        // A header is a first line whose rating field is not a number.
        let probe = given?.firstIndex(of: .rating) ?? min(2, fields.count - 1)
        let hasHeader = probe >= 0 && probe < fields.count
            && TextScan.float(fields[probe], nonFinite: .accept) == nil
        var columns: [RatingsColumn]
        if let given {
            columns = given
        } else if hasHeader {
            columns = try columnsFromHeader(fields, path: path, line: lineNo)
        } else {
            guard fields.count >= 3 else {
                throw EmbtoolError.data("\(path):\(lineNo): expected at least 3 fields 'user\(sepName(separator))item\(sepName(separator))rating', found \(fields.count) (separator sniffed: '\(sepName(separator))')", reason: .layout)
            }
            columns = Array([RatingsColumn.user, .item, .rating, .timestamp].prefix(fields.count))
        }
        let layout = RatingsLayout(separator: separator, columns: columns, quoted: quoted)
        let dataStart = hasHeader ? TextScan.nextLineStart(bytes, from: offset) : offset
        return RatingsParser(file: file, layout: layout, dataStart: dataStart, encoding: encoding)
    }

    static func columnsFromHeader(_ names: [String], path: String, line: Int) throws -> [RatingsColumn] {
        var columns: [RatingsColumn] = []
        for name in names {
            let key = normalizedColumnName(name)
            let match = RatingsColumn.allCases.first { c in synonyms[c]?.contains(key) == true && !columns.contains(c) }
            columns.append(match ?? .skip)
        }
        let missing = [RatingsColumn.user, .item, .rating].filter { !columns.contains($0) }
        guard missing.isEmpty else {
            throw EmbtoolError.data("\(path):\(line): header '\(names.joined(separator: ","))' names no \(missing.map(\.rawValue).joined(separator: "/")) column", reason: .layout)
        }
        return columns
    }

    /// The separator of a delimited line: the first of tab, `::`, comma, semicolon, `|` present.
    static func sniffSeparator(_ line: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        let candidates: [[UInt8]] = [[0x09], Array("::".utf8), [UInt8(ascii: ",")], [UInt8(ascii: ";")], [UInt8(ascii: "|")]]
        for c in candidates where TextScan.fields(line, separator: c).count >= 3 { return c }
        return [UInt8(ascii: ",")]
    }

    static func sepName(_ separator: [UInt8]) -> String {
        separator == [0x09] ? "<TAB>" : String(decoding: separator, as: UTF8.self)
    }
}
