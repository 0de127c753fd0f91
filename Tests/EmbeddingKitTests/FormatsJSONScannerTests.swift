import Foundation
import XCTest
@testable import EmbeddingCore
@testable import EmbeddingFormats

/// `JSONScanner`, the reader of safetensors headers and model metadata, against
/// Foundation's JSON (an independent implementation) and the JSON grammar.
final class FormatsJSONScannerTests: XCTestCase {
    /// Strings with every kind of character a label can hold: quotes,
    /// backslashes, slashes, control characters, accents, CJK, astral-plane emoji.
    func randomStrings(count: Int, seed: UInt64) -> [String] {
        var rng = SplitMix64(seed: seed)
        let pool: [Unicode.Scalar] = ["a", "Z", " ", "\"", "\\", "/", "\u{0}", "\u{1}", "\u{8}", "\u{9}", "\u{A}", "\u{C}", "\u{D}",
                                      "\u{1F}", "\u{7F}", "é", "ß", "\u{2028}", "語", "\u{FFFD}", "\u{FEFF}", "😀", "\u{10FFFF}", "\u{E000}"]
        return (0..<count).map { _ in
            let n = Int(rng.next() % 12)
            return String(String.UnicodeScalarView((0..<n).map { _ in pool[Int(rng.next() % UInt64(pool.count))] }))
        }
    }

    /// Python's `json.dumps` default: every non-ASCII character as `\uXXXX`, astral ones as surrogate pairs.
    func asciiEscaped(_ strings: [String]) -> String {
        "[" + strings.map { s in
            "\"" + s.utf16.map { u -> String in
                switch u {
                case 0x22: return "\\\""
                case 0x5C: return "\\\\"
                case 0x20..<0x7F: return String(UnicodeScalar(UInt8(u)))
                default: return String(format: "\\u%04x", u)
                }
            }.joined() + "\""
        }.joined(separator: ", ") + "]"
    }

    func testStringsAgreeWithFoundationBothWays() throws {
        for seed in 1...20 as ClosedRange<UInt64> {
            let strings = randomStrings(count: 200, seed: seed)
            // Foundation's encoder writes raw UTF-8 and short escapes; Python's writes \u escapes.
            let foundation = String(decoding: try JSONSerialization.data(withJSONObject: strings), as: UTF8.self)
            XCTAssertEqual(try JSONScanner.strings(foundation), strings, "seed \(seed)")
            let python = asciiEscaped(strings)
            XCTAssertEqual(try JSONScanner.strings(python), strings, "seed \(seed)")
            XCTAssertEqual(try JSONSerialization.jsonObject(with: Data(python.utf8)) as? [String], strings, "the escaped text is valid JSON")
        }
    }

    func testNestedListsAndIntegers() throws {
        XCTAssertEqual(try JSONScanner.stringLists(#" [ [ "Drama" ,"Sci-Fi"], [] ,["\u00e9"] ] "#), [["Drama", "Sci-Fi"], [], ["é"]])
        XCTAssertEqual(try JSONScanner.integers("[0, -3, 9223372036854775807]"), [0, -3, Int.max])
        XCTAssertEqual(try JSONScanner.strings("[]"), [])
    }

    /// Each of these is refused by Foundation too: the scanner accepts no more than JSON.
    func testRefusesWhatIsNotJSON() {
        let invalid: [String] = [
            #"["abc"#, #"["a\"]"#, "[\"tab\there\"]", #"["\x"]"#, #"["\u12"]"#, #"["\u12G4"]"#,
            #"["\ud83d"]"#, #"["\ud83d\u0041"]"#, #"["\ude00"]"#, #"["a",]"#, #"["a" "b"]"#, #"["a"] x"#, "", "[",
        ]
        for text in invalid {
            XCTAssertThrowsError(try JSONScanner.strings(text), text)
        }
        XCTAssertThrowsError(try JSONScanner.integers("[01]"))
        XCTAssertThrowsError(try JSONScanner.integers("[1.5]"))
        XCTAssertThrowsError(try JSONScanner.integers("[1e3]"))
        XCTAssertThrowsError(try JSONScanner.integers("[99999999999999999999]"))
        XCTAssertThrowsError(try JSONScanner.integers("[-]"))
        // Invalid UTF-8 (a lone continuation byte, an overlong encoding) inside a string.
        for bytes in [[0x5B, 0x22, 0x80, 0x22, 0x5D], [0x5B, 0x22, 0xC0, 0xAF, 0x22, 0x5D]] as [[UInt8]] {
            XCTAssertNil(try? JSONSerialization.jsonObject(with: Data(bytes)))
            XCTAssertThrowsError(try bytes.withUnsafeBytes { raw in
                var s = JSONScanner(raw)
                return try s.array { try $0.string() }
            })
        }
    }

    func testSkipsAnyValueButNotDeepNesting() throws {
        let text = #"{"a": [1, -2.5e-3, true, false, null, {"b": "c"}, []], "d": 0}"#
        try text.utf8.withContiguousStorageIfAvailable { utf8 in
            var s = JSONScanner(UnsafeRawBufferPointer(utf8))
            try s.skipValue()
            try s.end()
        }!
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        XCTAssertThrowsError(try JSONScanner.parse(deep) { try $0.skipValue() })
        for bad in ["[1.]", "[-x]", "[tru]", "[1,]", "{\"a\" 1}", "{1: 2}"] {
            XCTAssertThrowsError(try JSONScanner.parse(bad) { try $0.skipValue() }, bad)
        }
    }

    // MARK: Safetensors header

    func header(_ json: String, payload: Int) -> Data {
        var d = Data()
        withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { d.append(contentsOf: $0) }
        d.append(contentsOf: json.utf8)
        d.append(Data(count: payload))
        return d
    }

    func testHeaderSkipsFieldsItDoesNotKnowAndRefusesATensorListedTwice() throws {
        let file = try Safetensors.index(data: header(#"{"w": {"dtype": "F32", "extra": {"x": [1, 2]}, "shape": [2], "data_offsets": [0, 8]}, "__metadata__": {"k": "v\u00e9"}}  "#, payload: 8))
        XCTAssertEqual(file.tensors.map(\.name), ["w"])
        XCTAssertEqual(file.tensors[0].shape, [2])
        XCTAssertEqual(try file.metadata.all(), ["k": "vé"])
        assertDataError(try Safetensors.index(data: header(#"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, payload: 8)),
                        "'w' appears twice")
        assertDataError(try Safetensors.index(data: header(#"{"__metadata__": {"k": 1}}"#, payload: 0)), "not a string")
        assertDataError(try Safetensors.index(data: header(#"{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#, payload: 4)), "bad shape")
        assertDataError(try Safetensors.index(data: header(#"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}} x"#, payload: 4)), "after the JSON value")
    }

    /// The header written by Hugging Face's own library reads the same through
    /// the scanner as through Foundation's parser.
    func testHuggingFaceHeaderReadsAsFoundationReadsIt() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("torch/edb_hf.safetensors")))
        let n = Int(data.littleEndian(UInt64.self, at: 0)!)
        let json = try JSONSerialization.jsonObject(with: data[8..<(8 + n)]) as! [String: Any]
        let file = try Safetensors.index(data: data)
        XCTAssertEqual(Set(file.tensors.map(\.name)), Set(json.keys.filter { $0 != "__metadata__" }))
        for t in file.tensors {
            let info = json[t.name] as! [String: Any]
            XCTAssertEqual(t.shape, info["shape"] as? [Int])
            XCTAssertEqual(t.dtype, info["dtype"] as? String)
        }
        XCTAssertEqual(try file.metadata.all(), (json["__metadata__"] as? [String: String]) ?? [:])
    }

    // MARK: Reading the item side only

    func testItemsOnlyLoadMatchesTheFullLoadOnItems() throws {
        let path = try TestData.scratch(self) + "/m.safetensors"
        try ModelFile.save(sampleModel(), to: path)
        let full = try ModelFile.load(path: path)
        var options = FactorLoader.Options()
        options.users = false
        let items = try ModelFile.load(path: path, options: options)
        XCTAssertNotNil(full.userFactors)
        XCTAssertFalse(full.meta.userLabels.isEmpty)
        XCTAssertNil(items.userFactors)
        XCTAssertNil(items.userBias)
        XCTAssertTrue(items.meta.userLabels.isEmpty)
        XCTAssertEqual(items.itemFactors, full.itemFactors)
        XCTAssertEqual(items.itemBias, full.itemBias)
        var fullItemMeta = full.meta
        fullItemMeta.userLabels = []
        XCTAssertEqual(items.meta, fullItemMeta)
    }
}
