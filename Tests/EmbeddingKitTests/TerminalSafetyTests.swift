@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingRender
import Foundation
import XCTest

/// Labels come from other people's files: shown to a person they are escaped
/// (a title cannot retitle the window, recolour the terminal, reorder the
/// line or forge a row), while `--json`, `--csv` and model files keep them exact.
final class TerminalSafetyTests: XCTestCase {
    /// Hostile labels and how GNU `ls` (`--quoting-style=escape`, with `\e` for
    /// ESC and `\u{…}` for the rest) would show them.
    static let hostile: [(label: String, shown: String)] = [
        ("\u{1B}]0;pwned\u{07}\u{1B}[31mRed (1990)", "\\e]0;pwned\\a\\e[31mRed (1990)"),
        ("evil\u{202E}txt.exe (1991)", "evil\\u{202E}txt.exe (1991)"),
        ("nul\u{0}byte (1992)", "nul\\u{0000}byte (1992)"),
        ("two\nlines (1993)", "two\\nlines (1993)"),
        ("csi\u{9B}31m isolate\u{2066}x\u{2069} (1994)", "csi\\u{009B}31m isolate\\u{2066}x\\u{2069} (1994)"),
        ("tab\there\r (1995)", "tab\\there\\r (1995)"),
    ]

    /// Characters that must never reach a terminal raw (newline only between lines).
    static let forbidden: [Unicode.Scalar] = ["\u{1B}", "\u{07}", "\u{0}", "\u{202E}", "\u{9B}", "\u{2066}", "\u{2069}", "\t", "\r"]

    // MARK: The escaping function

    func testEscapeShowsControlsAndBidiLikeLs() {
        for (label, shown) in Self.hostile { XCTAssertEqual(TerminalText.escape(label), shown) }
        XCTAssertEqual(TerminalText.escape("\u{7F}\u{80}\u{9F}\u{8}\u{B}\u{C}\u{61C}\u{200E}\u{200F}\u{202A}\u{2028}"),
                       "\\u{007F}\\u{0080}\\u{009F}\\b\\v\\f\\u{061C}\\u{200E}\\u{200F}\\u{202A}\\u{2028}")
        // Ordinary titles, accents, CJK, emoji and backslashes are kept as they are.
        for plain in ["Amélie (2001)", "千と千尋の神隠し (2001)", "😀 \\n literal", "Se7en", ""] {
            XCTAssertEqual(TerminalText.escape(plain), plain)
        }
        // Idempotent: escaped text holds nothing left to escape.
        for (label, _) in Self.hostile { XCTAssertEqual(TerminalText.escape(TerminalText.escape(label)), TerminalText.escape(label)) }
    }

    /// Display columns as `wcswidth` counts them (glibc, UTF-8 locale).
    func testWidthCountsWideCharactersTwice() {
        XCTAssertEqual(TerminalText.width("Star Wars (1977)"), 16)
        XCTAssertEqual(TerminalText.width("千と千尋"), 8)
        XCTAssertEqual(TerminalText.width("ｆｕｌｌ"), 8)  // fullwidth forms
        XCTAssertEqual(TerminalText.width("Ame\u{301}lie"), 6)  // e + combining acute
        XCTAssertEqual(TerminalText.width("한국어"), 6)
        XCTAssertEqual(TerminalText.width("😀!"), 3)
        XCTAssertEqual(TerminalText.width("a\u{200B}b"), 2)  // zero width space
    }

    /// Columns line up on screen: every cell of a column starts at the same
    /// display column, CJK titles included, and hostile cells stay in their row.
    func testTextTableAlignsByDisplayWidthAndEscapes() {
        var table = TextTable(["title", "n"], alignments: [.left, .right])
        for (label, _) in Self.hostile { table.append([label, "1"]) }
        table.append(["千と千尋の神隠し (2001)", "22"])
        table.append(["Amélie (2001)", "333"])
        let lines = table.render().split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 1 + Self.hostile.count + 2, "one line per row")
        let ends = Set(lines.map { TerminalText.width($0) })
        XCTAssertEqual(ends.count, 1, "right-aligned last column ends in one column: \(lines)")
        for line in lines { XCTAssertFalse(line.unicodeScalars.contains(where: Self.forbidden.contains), line) }
    }

    // MARK: Every output path, through the command line

    var dir = ""
    var modelPath = ""

    override func setUpWithError() throws {
        dir = try TestData.scratch(self)
        modelPath = dir + "/hostile.safetensors"
        var model = Generated.model(items: 60, users: 30, factors: 6)
        for (i, h) in Self.hostile.enumerated() {
            model.meta.itemKeys[i + 1] = h.label
            model.meta.itemLabels[i + 1] = h.label
        }
        try ModelFile.save(model, to: modelPath)
    }

    func run(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> EmbtoolCLI.Result {
        let r = try EmbtoolCLI.run(args, home: dir + "/home")
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        return r
    }

    /// No forbidden character anywhere in the text; every hostile label that
    /// appears does so escaped, whole, on one line.
    func assertSafe(_ text: String, listsAll: Bool = true, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        for s in Self.forbidden where text.unicodeScalars.contains(s) {
            XCTFail("\(what): raw U+\(String(s.value, radix: 16)) in output:\n\(text)", file: file, line: line)
        }
        XCTAssertFalse(text.split(separator: "\n").contains { $0.hasPrefix("lines (1993)") }, "\(what): a label started a line", file: file, line: line)
        if listsAll {
            for (_, shown) in Self.hostile { XCTAssertTrue(text.contains(shown), "\(what) lacks \(shown):\n\(text)", file: file, line: line) }
        }
    }

    /// `--json` keeps the labels exact.
    func assertExactJSON(_ r: EmbtoolCLI.Result, _ labels: (Any) -> [String], file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertFalse(r.stdout.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "raw control in JSON", file: file, line: line)
        let found = Set(labels(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))))
        for (label, _) in Self.hostile { XCTAssertTrue(found.contains(label), "JSON lacks \(label.debugDescription)", file: file, line: line) }
    }

    /// `--csv` files keep the labels exact (RFC 4180 fields, read independently).
    func assertExactCSV(_ path: String, column: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let rows = try Self.parseCSV(String(decoding: Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self))
        let c = try XCTUnwrap(rows.first?.firstIndex(of: column), file: file, line: line)
        let found = Set(rows.dropFirst().map { $0[c] })
        for (label, _) in Self.hostile { XCTAssertTrue(found.contains(label), "CSV lacks \(label.debugDescription)", file: file, line: line) }
    }

    /// RFC 4180: fields separated by commas, quoted fields may hold commas, quotes ("") and newlines.
    static func parseCSV(_ text: String) throws -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = "", quoted = false
        var it = Array(text.unicodeScalars)[...]
        while let c = it.popFirst() {
            if quoted {
                if c == "\"" {
                    if it.first == "\"" { field.unicodeScalars.append("\""); it.removeFirst() } else { quoted = false }
                } else { field.unicodeScalars.append(c) }
            } else if c == "\"" { quoted = true
            } else if c == "," { row.append(field); field = ""
            } else if c == "\n" { row.append(field); rows.append(row); row = []; field = ""
            } else if c != "\r" { field.unicodeScalars.append(c) }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }

    static func labels(_ key: String, in list: String) -> (Any) -> [String] {
        { (($0 as? [String: Any])?[list] as? [[String: Any]])?.compactMap { $0[key] as? String } ?? [] }
    }

    func testSimilar() throws {
        let args = ["similar", "Item 7", "--top", "59", "--min-ratings", "0", "--model", modelPath]
        let r = try run(args + ["--csv", dir + "/similar.csv"])
        assertSafe(r.stdout, "similar")
        assertSafe(r.stderr, listsAll: false, "similar stderr")
        try assertExactCSV(dir + "/similar.csv", column: "label")
        try assertExactJSON(try run(args + ["--json"]), Self.labels("label", in: "neighbours"))
        // The query heading: the hostile label as the item asked about.
        let q = try run(["similar", Self.hostile[0].label, "--top", "3", "--model", modelPath])
        XCTAssertTrue(q.stdout.hasPrefix("Closest to " + Self.hostile[0].shown), q.stdout)
        assertSafe(q.stdout, listsAll: false, "similar heading")
    }

    func testRecommend() throws {
        let args = ["recommend", "--like", "Item 7", "--dislike", Self.hostile[3].label, "--top", "59", "--min-ratings", "0", "--model", modelPath]
        let r = try run(args + ["--csv", dir + "/recommend.csv"])
        // The disliked title is in the heading, not the table.
        assertSafe(r.stdout, listsAll: false, "recommend")
        for (i, h) in Self.hostile.enumerated() where i != 3 { XCTAssertTrue(r.stdout.contains(h.shown), "recommend lacks \(h.shown)") }
        XCTAssertTrue(r.stdout.contains("dislikes " + Self.hostile[3].shown), r.stdout)
        let csv = try Self.parseCSV(String(decoding: Data(contentsOf: URL(fileURLWithPath: dir + "/recommend.csv")), as: UTF8.self))
        XCTAssertTrue(csv.contains { $0.contains(Self.hostile[0].label) })
        let json = try run(args + ["--json"])
        XCTAssertTrue(Self.labels("label", in: "items")(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8))).contains(Self.hostile[1].label))
    }

    func testBias() throws {
        let args = ["bias", "--top", "30", "--bottom", "30", "--model", modelPath]
        let r = try run(args + ["--csv", dir + "/bias.csv"])
        assertSafe(r.stdout, "bias")
        try assertExactCSV(dir + "/bias.csv", column: "label")
        let json = try run(args + ["--json"])
        try assertExactJSON(json) { Self.labels("label", in: "lowest")($0) + Self.labels("label", in: "highest")($0) }
    }

    func testPCAAndAxes() throws {
        let pca = try run(["pca", "--ends", "30", "--all", "--model", modelPath, "--csv", dir + "/pca.csv"])
        assertSafe(pca.stdout, "pca")
        try assertExactCSV(dir + "/pca.csv", column: "label")
        try assertExactJSON(try run(["pca", "--all", "--model", modelPath, "--json"]), Self.labels("label", in: "points"))

        let axes = try run(["axes", "--x", "Item 7", "--y", Self.hostile[1].label, "--ends", "30", "--all", "--model", modelPath])
        assertSafe(axes.stdout, "axes")
        XCTAssertTrue(axes.stdout.contains(Self.hostile[1].shown), axes.stdout)
    }

    /// `compare` lists the items whose neighbourhoods changed most, and their neighbours.
    func testCompare() throws {
        var other = Generated.model(items: 60, users: 30, factors: 6, seed: 8)
        for (i, h) in Self.hostile.enumerated() {
            other.meta.itemKeys[i + 1] = h.label
            other.meta.itemLabels[i + 1] = h.label
        }
        try ModelFile.save(other, to: dir + "/other.safetensors")
        let args = ["compare", "--model", modelPath, "--with", dir + "/other.safetensors", "--show", "60", "--min-ratings", "0"]
        let r = try run(args + ["--csv", dir + "/compare.csv"])
        assertSafe(r.stdout, "compare")
        try assertExactCSV(dir + "/compare.csv", column: "label")
    }

    /// `info` lists tensor names from the file; `data` lists item ids, sources
    /// and notes; both from files someone else wrote.
    func testInfoAndData() throws {
        let weird = "w\u{1B}[2J\u{202E}\nx"
        let tensors = [Tensor(name: "u_weight.weight", shape: [3, 2], values: [1, 2, 3, 4, 5, 6]),
                       Tensor(name: "i_weight.weight", shape: [3, 2], values: [1, 0, 0, 1, 1, 1]),
                       Tensor(name: weird, shape: [2], values: [1, 2])]
        try Safetensors.encode(tensors, metadata: ["note": "\u{1B}]0;x\u{07}"]).write(to: URL(fileURLWithPath: dir + "/foreign.safetensors"))
        let info = try run(["info", "--model", dir + "/foreign.safetensors"])
        assertSafe(info.stdout, listsAll: false, "info")
        XCTAssertTrue(info.stdout.contains("w\\e[2J\\u{202E}\\nx"), info.stdout)
        let infoJSON = try run(["info", "--model", dir + "/foreign.safetensors", "--json"])
        let names = ((try JSONSerialization.jsonObject(with: Data(infoJSON.stdout.utf8)) as? [String: Any])?["tensors"] as? [[String: Any]])?
            .compactMap { $0["name"] as? String }
        XCTAssertEqual(names?.contains(weird), true)

        // Ratings whose item ids are hostile (no newline or NUL: a CSV line holds neither), in a file whose name is.
        let ids = Self.hostile.map(\.label).filter { !$0.contains("\n") && !$0.contains("\u{0}") && !$0.contains("\r") }
        var csv = "user,item,rating\n"
        for u in 1...4 { for id in ids { csv += "\(u),\"\(id)\",\(u)\n" } }
        let file = dir + "/rat\u{1B}[31mings.csv"
        try TestData.write(csv, to: file)
        let data = try run(["data", "--data", file, "--top", "10"])
        assertSafe(data.stdout + data.stderr, listsAll: false, "data")
        for id in ids { XCTAssertTrue(data.stdout.contains(TerminalText.escape(id)), "data lacks \(id.debugDescription)") }
        XCTAssertTrue(data.stdout.contains("rat\\e[31mings.csv"), data.stdout)
        let dataJSON = try run(["data", "--data", file, "--json"])
        XCTAssertTrue(dataJSON.stdout.contains("\\u001b[31m"), "JSON escapes ESC as RFC 8259 says")

        let crosstab = try run(["crosstab", "--data", file])
        assertSafe(crosstab.stdout + crosstab.stderr, listsAll: false, "crosstab")
    }

    /// An error line quoting a file's content (a rating field, a title) is escaped too, and stays one line.
    func testErrorLinesQuotingFiles() throws {
        try TestData.write("user,item,rating\n1,2,4\n1,3,\u{1B}]0;x\u{07}\n", to: dir + "/bad.csv")
        let r = try EmbtoolCLI.run(["data", "--data", dir + "/bad.csv"], home: dir + "/home")
        XCTAssertEqual(r.status, 65, r.stderr)
        XCTAssertTrue(r.stderr.contains("rating '\\e]0;x\\a' is not a number"), r.stderr)
        assertSafe(r.stderr, listsAll: false, "error")
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)

        // No title matches: the nearest titles are suggested, hostile ones escaped.
        let miss = try EmbtoolCLI.run(["similar", "evilXtxt.exe (1991)", "--model", modelPath], home: dir + "/home")
        XCTAssertNotEqual(miss.status, 0)
        XCTAssertTrue(miss.stderr.contains(Self.hostile[1].shown), miss.stderr)
        assertSafe(miss.stderr, listsAll: false, "no-match error")
    }
}
