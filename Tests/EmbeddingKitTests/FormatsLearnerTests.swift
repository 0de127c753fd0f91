@testable import EmbeddingCore
@testable import EmbeddingFormats
import Foundation
import XCTest

/// fastai `learn.export()` files, written by real fastai 2.8 on invented ratings
/// (`Tests/fixtures/learner/make_learners.py`), against what PyTorch computed from
/// `load_learner(...)` on the same files (the `.json` beside them).
final class FormatsLearnerTests: XCTestCase {
    static let marker = "/tmp/embtool-learner-hostile-marker"

    func expected(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("learner/\(name).json")))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func cli(_ args: [String]) throws -> [String: Any] {
        let r = try EmbtoolCLI.run(args, home: try TestData.scratch(self))
        XCTAssertEqual(r.status, 0, r.stderr)
        return try r.json()
    }

    /// `similar QUERY --json` with no `--data` lists PyTorch's cosine neighbours in order, to 1e-5.
    func assertNeighbours(_ fixture: String, line: UInt = #line) throws {
        let e = try expected(fixture)
        let want = try XCTUnwrap(e["neighbours"] as? [[String: Any]])
        let got = try XCTUnwrap(try cli(["similar", e["query"] as! String, "--model", Fixtures.path("learner/\(fixture).pkl"),
                                         "--json", "--top", String(want.count)])["neighbours"] as? [[String: Any]])
        XCTAssertEqual(got.map { $0["label"] as? String }, want.map { $0["title"] as? String }, line: line)
        for (g, w) in zip(got, want) {
            XCTAssertEqual(try XCTUnwrap(g["similarity"] as? Double), try XCTUnwrap(w["cosine"] as? Double), accuracy: 1e-5, line: line)
        }
    }

    func testEmbeddingDotBiasExportGivesPyTorchsNeighbours() throws {
        try assertNeighbours("dot")
    }

    func testEmbeddingNNExportGivesPyTorchsNeighbours() throws {
        try assertNeighbours("nn")
    }

    func testBiasEndsMatchPyTorch() throws {
        let e = try expected("dot")
        let j = try cli(["bias", "--model", Fixtures.path("learner/dot.pkl"), "--json", "--top", "5", "--bottom", "5"])
        for (end, key) in [("lowest", "bias_lowest"), ("highest", "bias_highest")] {
            let got = try XCTUnwrap(j[end] as? [[String: Any]]), want = try XCTUnwrap(e[key] as? [[String: Any]])
            XCTAssertEqual(got.map { $0["label"] as? String }, want.map { $0["title"] as? String }, end)
            for (g, w) in zip(got, want) {
                XCTAssertEqual(try XCTUnwrap(g["bias"] as? Double), try XCTUnwrap(w["bias"] as? Double), accuracy: 1e-6, end)
            }
        }
    }

    func testVocabulariesShapesAndRangeComeFromTheFile() throws {
        for fixture in ["dot", "nn"] {
            let e = try expected(fixture)
            let m = try Fixtures.load("learner/\(fixture).pkl")
            let vocab = try XCTUnwrap(e["vocab"] as? [String: Int])
            XCTAssertEqual(m.meta.itemKeys, e["titles"] as? [String], fixture)
            XCTAssertEqual(m.meta.itemLabels.count, vocab["title"], fixture)
            XCTAssertEqual(m.meta.itemKey, .title, fixture)
            XCTAssertEqual(m.meta.firstItemRow, 1, "row 0 is fastai's #na#")
            XCTAssertEqual([m.itemCount, m.factors], e["items_shape"] as? [Int], fixture)
            let source = try XCTUnwrap(m.source)
            XCTAssertEqual(source.format, "fastai learn.export() (PyTorch zip)")
            XCTAssertTrue(source.notes.contains { $0.hasPrefix("model: \(e["model_class"] as! String) (Learner.model)") }, "\(source.notes)")
            XCTAssertEqual(source.entries.first { $0.name == "classes['user']" }?.shape, [vocab["user"]!])
            XCTAssertEqual(source.entry(for: .itemLabels)?.name, "classes['title']")
            // The Learner, its DataLoaders, transforms and callbacks are kept inert; the model's modules are used.
            XCTAssertEqual(source.inertObjects["fastai.learner.Learner"], 1)
            XCTAssertGreaterThan(source.inertObjects["fastai.tabular.core.Categorify"] ?? 0, 0)
            XCTAssertNil(source.inertObjects[e["model_class"] as! String])
        }
        let dot = try Fixtures.load("learner/dot.pkl"), e = try expected("dot")
        XCTAssertEqual(dot.meta.userLabels.prefix(4).map { $0 }, e["users_first"] as? [String], "numpy int16 ids as Python prints them")
        let y = try XCTUnwrap(e["y_range"] as? [Double])
        XCTAssertEqual(dot.meta.yRange, ModelMetadata.YRange(low: Float(y[0]), high: Float(y[1])))
        XCTAssertEqual(dot.source?.naming, "fastai EmbeddingDotBias")
        XCTAssertEqual(dot.source?.entry(for: .userLabels)?.name, "classes['user']")
    }

    /// A real export carrying `os.system`, `eval` and `subprocess.Popen` calls (each
    /// proven by the generator to create the marker under `torch.load`) loads as
    /// data; one whose root is such a call fails with one line. Nothing runs.
    func testHostileExportsRunNothing() throws {
        try? FileManager.default.removeItem(atPath: Self.marker)
        XCTAssertEqual(try expected("hostile")["marker"] as? String, Self.marker)
        let m = try Fixtures.load("learner/hostile_learner.pkl")
        XCTAssertEqual(m.itemFactors.data, try Fixtures.load("learner/dot.pkl").itemFactors.data, "the same learner, exported again")
        for payload in ["posix.system", "builtins.eval", "subprocess.Popen"] {
            XCTAssertEqual(m.source?.inertObjects[payload], 1, payload)
        }
        assertDataError(try Fixtures.load("learner/hostile_root.pkl"), "root is posix.system(…)", "nothing imported or executed")
        // The same through the CLI, where a payload would run if anything were called.
        let ignored = try cli(["info", "--model", Fixtures.path("learner/hostile_learner.pkl"), "--json"])["ignored_objects"] as? [String: Int]
        XCTAssertEqual(ignored?["subprocess.Popen"], 1, "\(ignored ?? [:])")
        usleep(200_000)  // Popen would not wait
        XCTAssertFalse(FileManager.default.fileExists(atPath: Self.marker), "a payload ran")
    }

    /// `torch.save(model)`: the module itself is the root.
    func testWholePickledModuleLoads() throws {
        let m = try Fixtures.load("hostile/whole_model.pth")
        let e = try Fixtures.expected("edb_f32.pth")
        XCTAssertEqual(m.itemFactors.data, e["i_weight.weight"]?.values)
        XCTAssertEqual(m.itemBias, e["i_bias.weight"]?.values)
        XCTAssertEqual(m.userFactors?.data, e["u_weight.weight"]?.values)
        XCTAssertEqual(m.source?.format, "whole pickled module, torch.save(model) (PyTorch zip)")
        XCTAssertEqual(m.meta.yRange, ModelMetadata.YRange(low: 0, high: 5.5), "EmbeddingDotBias records y_range")
    }

    // MARK: Caps

    func pickle(_ body: [UInt8]) -> Data { Data([0x80, 0x02] + body + [0x2E]) }

    func interpret(_ data: Data) throws {
        _ = try Pickle.load(data, name: "p", mode: .graph) { root -> Int in
            guard case .object(let o) = root else { return 0 }
            return try FastaiExport.interpret(o, name: "p", budget: 4 * data.count + 1000).tensors.count
        }
    }

    func testMemoIsCapped() {
        // One list memoized 2^20 + 1 times (MEMOIZE, one byte each), about a million entries.
        let body = [0x5D] + [UInt8](repeating: 0x94, count: Pickle.minCap + 1)
        assertDataError(try interpret(Data([0x80, 0x04] + body + [0x2E])), "memoizes more than \(Pickle.minCap) objects")
        // Under the cap (a real export's count, and then some): fine.
        XCTAssertNoThrow(try interpret(Data([0x80, 0x04, 0x5D] + [UInt8](repeating: 0x94, count: 100_000) + [0x2E])))
    }

    func testContainersAreCapped() {
        // EMPTY_DICT, POP, 2^20 + 1 times: every dict is kept until the end.
        let body = (0..<(2 * (Pickle.minCap + 1))).map { $0 % 2 == 0 ? UInt8(0x7D) : 0x30 }
        assertDataError(try interpret(pickle(body + [0x4E])), "more than \(Pickle.minCap) lists, dicts and objects")
    }

    func testDeeplyNestedObjectsFailWithOneLine() throws {
        // x = f(f(f(...f(None)...))) 200,000 calls deep, f a placeholder global: read
        // without recursion, released without recursion, and no model in it.
        var chain: [UInt8] = [0x63] + Array("os\nsystem\n".utf8) + [0x71, 0x00, 0x30]
        chain += [0x68, 0x00, 0x4E, 0x85, 0x52]  // x = f(None)
        for _ in 0..<200_000 { chain += [0x71, 0x01, 0x30, 0x68, 0x00, 0x68, 0x01, 0x85, 0x52] }  // memo1 = x; x = f((x,))
        assertDataError(try interpret(pickle(chain)), "root is os.system(…)", "nothing imported or executed")
    }

    func testSharedTuplesAreBoundedByTheWalkBudget() {
        // root = f(t40), t = (); 40 times: t = (t, t, t, t, t, t, t, t): 8^40 leaves in under 1 KB.
        var body: [UInt8] = [0x63] + Array("os\nsystem\n".utf8) + [0x29]
        for _ in 0..<40 { body += [0x71, 0x00, 0x30, 0x28] + [UInt8](repeating: 0, count: 8).flatMap { _ in [0x68, 0x00] } + [0x74] }
        assertDataError(try interpret(pickle(body + [0x85, 0x52])), "far larger than the file")
    }

    func testLengthsBeyondTheFileFailWithOneLine() {
        // BINUNICODE, BINBYTES8 and a LONG4 integer whose lengths exceed what follows.
        assertDataError(try interpret(Data([0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F, 0x41])), "truncated")
        assertDataError(try interpret(Data([0x80, 0x04, 0x8E] + [UInt8](repeating: 0xFF, count: 7) + [0x3F, 0x41])), "truncated")
        assertDataError(try interpret(Data([0x80, 0x02, 0x8B, 0x00, 0x00, 0x00, 0x40, 0x01])), "truncated")
        // A real export cut short: the zip's central directory is gone.
        let whole = try! Data(contentsOf: URL(fileURLWithPath: Fixtures.path("learner/dot.pkl")))
        let path = NSTemporaryDirectory() + "embtool-cut-\(UUID().uuidString).pkl"
        try! whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        assertDataError(try FactorLoader.load(path: path))
    }
}
