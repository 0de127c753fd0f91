import EmbeddingCore

/// The one writer of delimited tables (CSV, or TSV with a tab separator), as
/// RFC 4180 has them: LF line ends (as pandas and every Unix tool expect), a
/// field quoted only when it holds the separator, a quote or a line break, or
/// starts or ends with a space (which some readers trim), quotes doubled.
/// Built as bytes, so a 600 000-row neighbour table costs one buffer, not a
/// string per cell.
public struct CSVTable {
    public private(set) var bytes: [UInt8] = []
    public let columns: Int
    public let separator: UInt8

    public init(header: [String], separator: UInt8 = UInt8(ascii: ",")) {
        columns = header.count
        self.separator = separator
        appendRow(header)
    }

    public mutating func appendRow(_ fields: [String]) {
        precondition(fields.count == columns, "CSV row has \(fields.count) fields, header \(columns)")
        for (k, field) in fields.enumerated() {
            if k > 0 { bytes.append(separator) }
            append(field)
        }
        bytes.append(UInt8(ascii: "\n"))
    }

    /// The table as text (UTF-8).
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    mutating func append(_ field: String) {
        let utf8 = field.utf8
        guard Self.needsQuotes(utf8, separator: separator) else { bytes.append(contentsOf: utf8); return }
        bytes.append(UInt8(ascii: "\""))
        for b in utf8 {
            if b == UInt8(ascii: "\"") { bytes.append(b) }
            bytes.append(b)
        }
        bytes.append(UInt8(ascii: "\""))
    }

    static func needsQuotes(_ utf8: String.UTF8View, separator: UInt8) -> Bool {
        let space = UInt8(ascii: " ")
        return utf8.first == space || utf8.last == space
            || utf8.contains { $0 == separator || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }
    }

    /// A float in its shortest round-trip form ("0.25", "-1.5e-05"); empty for nil or NaN.
    public static func number(_ v: Float?) -> String {
        guard let v, !v.isNaN else { return "" }
        return v.description
    }
}
