import EmbeddingCore
/// A CSV table as RFC 4180 has it: comma-separated, CRLF-free (LF lines, as
/// pandas and every Unix tool expect), fields quoted only when they hold a
/// comma, quote or line break, quotes doubled. Built as bytes, so a
/// 600 000-row neighbour table costs one buffer, not a string per cell.
public struct CSVTable {
    public private(set) var bytes: [UInt8] = []
    public let columns: Int

    public init(header: [String]) {
        columns = header.count
        appendRow(header)
    }

    public mutating func appendRow(_ fields: [String]) {
        precondition(fields.count == columns, "CSV row has \(fields.count) fields, header \(columns)")
        for (k, field) in fields.enumerated() {
            if k > 0 { bytes.append(UInt8(ascii: ",")) }
            append(field)
        }
        bytes.append(UInt8(ascii: "\n"))
    }

    mutating func append(_ field: String) {
        let utf8 = field.utf8
        let needsQuotes = utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }
        guard needsQuotes else { bytes.append(contentsOf: utf8); return }
        bytes.append(UInt8(ascii: "\""))
        for b in utf8 {
            if b == UInt8(ascii: "\"") { bytes.append(b) }
            bytes.append(b)
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A float in its shortest round-trip form ("0.25", "-1.5e-05"); empty for nil or NaN.
    public static func number(_ v: Float?) -> String {
        guard let v, !v.isNaN else { return "" }
        return v.description
    }
}
