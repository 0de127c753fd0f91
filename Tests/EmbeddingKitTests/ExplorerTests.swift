@testable import EmbeddingAnalysis
@testable import EmbeddingCore
@testable import EmbeddingRender
import Foundation
import XCTest

/// The explorer page's Swift side: the JSON escaper, the template filler, the
/// vector encodings and the data the page carries. The page's behaviour is
/// tested in a browser (Tests/browser).
final class ExplorerTests: XCTestCase {
    static let hostile = [
        "</script><img src=x onerror=alert(1)>", "<!--", "a\u{2028}b\u{2029}c", "&amp; \"q\" 'a'", "{{data}}",
        "</SCRIPT >", "\u{0}\u{1f}", "😀 Amélie", "\\u003c",
    ]

    /// The escaped JSON holds none of the characters that could end or confuse a
    /// script element, and an independent parser reads back the same strings.
    func testScriptSafeJSONEscapesAndRoundTrips() throws {
        let json = String(decoding: try JSONEncoder().encode(ExplorerTests.hostile), as: UTF8.self)
        let safe = HTML.scriptSafeJSON(json)
        for forbidden in ["<", ">", "&", "\u{2028}", "\u{2029}"] {
            XCTAssertFalse(safe.contains(forbidden), "\(forbidden.unicodeScalars.first!.value) left in \(safe)")
        }
        let back = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(safe.utf8)) as? [String])
        XCTAssertEqual(back, ExplorerTests.hostile)
    }

    func testFillIsOnePassAndRefusesUnknownKeys() throws {
        let out = try ExplorerPage.fill("<a>{{x}}</a>{{y}}") { $0 == "x" ? "{{y}}" : $0 == "y" ? "Y" : nil }
        XCTAssertEqual(out, "<a>{{y}}</a>Y")
        XCTAssertThrowsError(try ExplorerPage.fill("{{nope}}") { _ in nil })
    }

    /// Row-wise int16: every value within half a step of the original, and
    /// cosines within 1e-4 (the bound that keeps neighbour lists stable).
    func testInt16QuantisationIsWithinHalfAStep() {
        let m = Generated.matrix(200, 16, seed: 3)
        let (q, scales) = ExplorerPage.quantise(m)
        for r in 0..<m.rows {
            let largest = Double(m.row(r).map(abs).max()!)
            XCTAssertEqual(scales[r], largest / 32767, accuracy: 1e-15)
            for j in 0..<m.cols {
                XCTAssertLessThanOrEqual(abs(Double(q[r * m.cols + j]) * scales[r] - Double(m[r, j])), scales[r] * 0.5001)
            }
        }
        // A row of values near float32's smallest normal keeps its precision.
        let tiny = Matrix(rows: 1, cols: 3, data: [3e-36, -1e-36, 2.5e-37])
        let (qt, st) = ExplorerPage.quantise(tiny)
        for j in 0..<3 { XCTAssertEqual(Double(qt[j]) * st[0], Double(tiny[0, j]), accuracy: st[0] * 0.5001) }
        func cosine(_ a: [Float], _ b: [Float]) -> Double {
            let dot = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let na = a.reduce(0.0) { $0 + Double($1 * $1) }, nb = b.reduce(0.0) { $0 + Double($1 * $1) }
            return dot / (na * nb).squareRoot()
        }
        let row = { (r: Int) in (0..<m.cols).map { Float(Double(q[r * m.cols + $0]) * scales[r]) } }
        for r in 1..<40 {
            XCTAssertEqual(cosine(row(0), row(r)), cosine(Array(m.row(0)), Array(m.row(r))), accuracy: 1e-4)
        }
    }

    /// Base85 as the test reads it, written from the definition (Ascii85's
    /// arithmetic, the alphabet spelled out here): each 5 digits a big-endian
    /// UInt32, a last group of m + 1 digits holds m bytes.
    static func base85Decode(_ text: String) -> [UInt8]? {
        let alphabet = Array("!#$%'()*+,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz".utf8)
        let value = Dictionary(uniqueKeysWithValues: alphabet.enumerated().map { ($1, UInt64($0)) })
        let chars = Array(text.utf8)
        guard chars.count % 5 != 1 else { return nil }
        var out = [UInt8]()
        for start in stride(from: 0, to: chars.count, by: 5) {
            let group = chars[start..<min(start + 5, chars.count)]
            var v: UInt64 = 0
            for d in 0..<5 {
                guard d < group.count else { v = v * 85 + 84; continue }
                guard let x = value[group[group.startIndex + d]] else { return nil }
                v = v * 85 + x
            }
            let word = [UInt8((v >> 24) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
            out.append(contentsOf: word.prefix(group.count - 1))
        }
        return out
    }

    func testBase85RoundTripsEveryTailAndAvoidsEscapedCharacters() {
        XCTAssertEqual(Base85.alphabet.count, 85)
        XCTAssertEqual(Set(Base85.alphabet).count, 85)
        XCTAssertEqual(String(decoding: Base85.alphabet, as: UTF8.self),
                       "!#$%'()*+,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz")
        var rng = SplitMix64(seed: 9)
        for length in [0, 1, 2, 3, 4, 5, 7, 8, 9, 100, 1001] {
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if length >= 8 { bytes.replaceSubrange(0..<8, with: [255, 255, 255, 255, 0, 0, 0, 0]) }   // the largest and smallest words
            let text = Base85.encode(bytes)
            XCTAssertEqual(text.utf8.count, length / 4 * 5 + (length % 4 == 0 ? 0 : length % 4 + 1))
            XCTAssertEqual(ExplorerTests.base85Decode(text), bytes, "length \(length)")
            XCTAssertFalse(text.contains { "\"\\<>&".contains($0) })
        }
    }

    /// Row-wise 24-bit block floating point: every value within half a step
    /// 2^(e−23) of the original, |q| < 2^23, max|v| < 2^e ≤ 2·max|v|; rows of
    /// subnormal-adjacent values and zero rows work.
    func testInt24QuantisationIsWithinHalfAStep() throws {
        var m = Generated.matrix(200, 16, seed: 5)
        for j in 0..<16 { m[7, j] = Float(j - 8) * 1e-38; m[8, j] = 0; m[9, j] = m[9, j] * 1e30 }
        let (q, exponents) = ExplorerPage.quantise24(m)
        for r in 0..<m.rows {
            let largest = Double(m.row(r).map(abs).max()!)
            guard largest > 0 else {
                XCTAssertEqual(exponents[r], 0); XCTAssertTrue(q[(r * 16)..<(r * 16 + 16)].allSatisfy { $0 == 0 }); continue
            }
            let e = Int(exponents[r])
            XCTAssertLessThan(largest, pow(2.0, Double(e)), "row \(r)")
            XCTAssertGreaterThanOrEqual(2 * largest, pow(2.0, Double(e)), "row \(r)")
            let step = pow(2.0, Double(e - 23))
            for j in 0..<m.cols {
                XCTAssertLessThan(abs(q[r * 16 + j]), 1 << 23)
                XCTAssertLessThanOrEqual(abs(Double(q[r * 16 + j]) * step - Double(m[r, j])), step * 0.5, "row \(r) col \(j)")
            }
        }
        // The bytes as the page decodes them: three per value, little-endian two's complement.
        let (data, _, exps) = ExplorerPage.encode(m, as: .int24)
        let bytes = try XCTUnwrap(ExplorerTests.base85Decode(data))
        XCTAssertEqual(bytes.count, m.data.count * 3)
        XCTAssertEqual(ExplorerTests.base85Decode(exps!)?.count, m.rows * 2)
        for i in stride(from: 0, to: m.data.count, by: 37) {
            let raw = Int32(bytes[3 * i]) | Int32(bytes[3 * i + 1]) << 8 | Int32(bytes[3 * i + 2]) << 16
            XCTAssertEqual((raw << 8) >> 8, q[i])
        }
    }

    /// The data in the page, parsed back as the browser would, is the model's:
    /// labels (hostile ones included) and exactly the float32 vectors.
    func testPageCarriesTheModelExactly() throws {
        var model = Generated.model(items: 20, users: 5, factors: 4)
        for (i, label) in ExplorerTests.hostile.enumerated() { model.meta.itemLabels[i + 1] = label }
        let catalog = try Catalog(model: model)
        let rows = Array(catalog.rows)
        let layout = ExplorerPage.Layout(name: "PCA", coordinates: Matrix(rows: rows.count, cols: 2), xTitle: "PC1 <x>", yTitle: "PC2")
        let page = ExplorerPage(model: model, catalog: catalog, rows: rows, layouts: [layout], encoding: .float32)
        let html = try page.render()

        let open = "<script type=\"application/json\" id=\"embtool-data\">"
        let start = try XCTUnwrap(html.range(of: open)).upperBound
        let end = try XCTUnwrap(html.range(of: "</script>", range: start..<html.endIndex)).lowerBound
        let data = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(html[start..<end].utf8)) as? [String: Any])
        XCTAssertEqual(data["labels"] as? [String], rows.map { catalog.labels[$0] })
        XCTAssertEqual(data["counts"] as? [Int], rows.map { model.meta.itemCounts[$0] })
        let vectors = try XCTUnwrap((data["vectors"] as? [String: Any])?["data"] as? String)
        let bytes = Data(try XCTUnwrap(ExplorerTests.base85Decode(vectors)))
        let floats = bytes.withUnsafeBytes { Array($0.bindMemory(to: UInt32.self)) }.map { Float(bitPattern: UInt32(littleEndian: $0)) }
        XCTAssertEqual(floats, model.itemFactors.gathering(rows).data)
        let layouts = try XCTUnwrap(data["layouts"] as? [[String: Any]])
        XCTAssertEqual(layouts.first?["x"] as? String, "PC1 <x>")
        // Nothing in the document outside our own markup opens a tag from the data.
        XCTAssertFalse(html.contains("<img"))
        XCTAssertEqual(html.components(separatedBy: "</script>").count - 1, html.components(separatedBy: "<script").count - 1)
        // Every template slot was filled.
        XCTAssertNil(html.range(of: "{{explorer"))
        XCTAssertTrue(html.contains("window.embtool"))
    }

    func testAutoEncodingQuantisesOnlyLargeTables() throws {
        let model = Generated.model(items: 20, users: 5, factors: 4)
        let catalog = try Catalog(model: model)
        let small = ExplorerPage(model: model, catalog: catalog, rows: Array(catalog.rows), layouts: [])
        XCTAssertEqual(small.resolvedEncoding, .float32)
        var large = small
        large.vectors = Matrix(rows: ExplorerPage.autoFloat32Limit / 50 + 1, cols: 50)
        XCTAssertEqual(large.resolvedEncoding, .int24)
        large.vectors = Matrix(rows: 59_047, cols: 50)
        XCTAssertEqual(large.resolvedEncoding, .int24)
        large.vectors = Matrix(rows: ExplorerPage.autoInt24Limit / 50 + 1, cols: 50)
        XCTAssertEqual(large.resolvedEncoding, .int16)
    }
}
