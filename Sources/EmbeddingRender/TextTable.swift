import Foundation
import EmbeddingCore

/// Columns of text aligned for a terminal: numbers right-aligned, text left,
/// two spaces between columns. Cells are shown through `TerminalText.escape`
/// (a label cannot move the cursor, recolour or reorder the line, or start a
/// row of its own) and measured in display columns (a CJK title counts 2 per
/// character).
public struct TextTable {
    public enum Alignment { case left, right }

    public var header: [String]
    public var alignments: [Alignment]
    public var rows: [[String]] = []

    public init(_ header: [String], alignments: [Alignment]) {
        precondition(header.count == alignments.count)
        self.header = header
        self.alignments = alignments
    }

    public mutating func append(_ row: [String]) { rows.append(row) }

    public func render(indent: String = "  ") -> String {
        let all = ([header] + rows).map { $0.map(TerminalText.escape) }
        let widths = header.indices.map { c in all.map { TerminalText.width($0[c]) }.max() ?? 0 }
        return all.map { row in
            let cells = row.enumerated().map { c, text -> String in
                let pad = String(repeating: " ", count: widths[c] - TerminalText.width(text))
                return alignments[c] == .right ? pad + text : (c == row.count - 1 ? text : text + pad)
            }
            return indent + cells.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// `v` with `decimals` decimals for human output; "–" for nil or NaN.
public func fixed(_ v: Float?, _ decimals: Int = 3) -> String {
    guard let v, !v.isNaN else { return "–" }
    let s = String(format: "%.\(decimals)f", Double(v))
    // No "-0.000": a value that rounds to zero prints unsigned.
    return s.allSatisfy({ "-0.".contains($0) }) ? String(s.drop { $0 == "-" }) : s
}
