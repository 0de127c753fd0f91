@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingLinalg
@testable import EmbeddingTrain
@testable import EmbeddingAnalysis
@testable import EmbeddingRender
import Foundation
import XCTest

/// The committed fixtures written by `Tests/fixtures/make_fixtures.py` with the
/// real torch, fastai, NumPy and pyspark, and the values those tools printed.
enum Fixtures {
    static let root = TestData.repoRoot.appendingPathComponent("Tests/fixtures").path

    static func path(_ relative: String) -> String {
        if relative.hasPrefix("ml100k-synthetic") { _ = syntheticDatasetWritten }
        return root + "/" + relative
    }

    /// `ml100k-synthetic/` is generated, not committed (its files carry MovieLens's
    /// names, u.data and u.item): written once per checkout by its deterministic
    /// script, as `make test` also does before the suite.
    static let syntheticDatasetWritten: Void = {
        guard !FileManager.default.fileExists(atPath: root + "/ml100k-synthetic/facts.json") else { return }
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", root + "/make_synthetic_ml100k.py"]
        do { try python.run() } catch { fatalError("cannot run python3 for Tests/fixtures/make_synthetic_ml100k.py: \(error)") }
        python.waitUntilExit()
        precondition(python.terminationStatus == 0, "Tests/fixtures/make_synthetic_ml100k.py failed")
    }()

    /// `expected/<name>.txt`: `tensor <name> <dtype> <shape>` then the values, row-major.
    static func expected(_ name: String) throws -> [String: (shape: [Int], values: [Float])] {
        let text = try String(contentsOfFile: path("expected/\(name).txt"), encoding: .utf8)
        var out: [String: (shape: [Int], values: [Float])] = [:]
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("tensor ") {
                let parts = line.split(separator: " ")
                current = String(parts[1])
                let shape = parts.count > 3 ? parts[3].split(separator: ",").map { Int($0)! } : []
                out[current!] = (shape, [])
            } else if let c = current, !line.isEmpty {
                out[c]!.values += line.split(separator: " ").map { Float(String($0))! }
            }
        }
        return out
    }

    static func load(_ relative: String, _ configure: (inout FactorLoader.Options) -> Void = { _ in }) throws -> FactorModel {
        var options = FactorLoader.Options()
        configure(&options)
        return try FactorLoader.load(path: path(relative), options: options)
    }
}

/// Asserts the call throws an `EmbtoolError` of kind `.dataError` whose message contains every fragment.
func assertDataError<T>(_ body: @autoclosure () throws -> T, _ fragments: String..., file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
        guard let e = error as? EmbtoolError else { return XCTFail("not an EmbtoolError: \(error)", file: file, line: line) }
        XCTAssertEqual(e.kind, .dataError, e.message, file: file, line: line)
        XCTAssertFalse(e.message.contains("\n"), "one line: \(e.message)", file: file, line: line)
        for f in fragments { XCTAssertTrue(e.message.contains(f), "'\(e.message)' lacks '\(f)'", file: file, line: line) }
    }
}

final class FormatsTorchTests: XCTestCase {
    /// Factors, biases and user side equal what torch printed, for one checkpoint.
    func assertEmbeddingDotBias(_ file: String, expected name: String, prefix: String = "", line: UInt = #line) throws {
        let m = try Fixtures.load(file)
        let e = try Fixtures.expected(name)
        let items = try XCTUnwrap(e[prefix + "i_weight.weight"])
        XCTAssertEqual([m.itemFactors.rows, m.itemFactors.cols], items.shape, line: line)
        XCTAssertEqual(m.itemFactors.data, items.values, line: line)
        XCTAssertEqual(m.itemBias, e[prefix + "i_bias.weight"]?.values, line: line)
        XCTAssertEqual(m.userFactors?.data, e[prefix + "u_weight.weight"]?.values, line: line)
        XCTAssertEqual(m.userBias, e[prefix + "u_bias.weight"]?.values, line: line)
        XCTAssertEqual(m.source?.naming, "fastai EmbeddingDotBias", line: line)
    }

    func testStateDictOfEmbeddingDotBias() throws {
        try assertEmbeddingDotBias("torch/edb_f32.pth", expected: "edb_f32.pth")
        let m = try Fixtures.load("torch/edb_f32.pth")
        XCTAssertEqual(m.source?.format, "PyTorch checkpoint (zip)")
        XCTAssertEqual(m.source?.entry(for: .itemFactors)?.shape, [9, 4])
        XCTAssertEqual(m.source?.entry(for: .itemBias)?.name, "i_bias.weight")
        XCTAssertEqual(m.meta.yRange, .init(low: 0, high: 5.5), "fastbook's range is assumed for fastai names")
        XCTAssertEqual(m.meta.itemLabels, (0..<9).map(String.init), "without a vocabulary, labels are row numbers")
    }

    func testHalfBFloat16AndDoubleWidenExactly() throws {
        for tag in ["f16", "bf16", "f64"] {
            try assertEmbeddingDotBias("torch/edb_\(tag).pth", expected: "edb_\(tag).pth")
            let m = try Fixtures.load("torch/edb_\(tag).pth")
            XCTAssertEqual(m.source?.entry(for: .itemFactors)?.dtype, tag.uppercased())
        }
    }

    func testTransposedViewAndStorageOffset() throws {
        // i_weight.weight is base.t() (strides [1, 9]); i_bias.weight starts 5 elements into its storage.
        try assertEmbeddingDotBias("torch/views.pth", expected: "views.pth")
    }

    func testLegacyPreZipFormat() throws {
        try assertEmbeddingDotBias("torch/edb_legacy.pth", expected: "edb_f32.pth")
        XCTAssertEqual(try Fixtures.load("torch/edb_legacy.pth").source?.format, "PyTorch checkpoint (legacy pre-1.6 format)")
    }

    func testFastaiLearnSaveWithAndWithoutOptimizerState() throws {
        try assertEmbeddingDotBias("torch/fastai_with_opt.pth", expected: "fastai_with_opt.pth")
        try assertEmbeddingDotBias("torch/fastai_no_opt.pth", expected: "fastai_with_opt.pth")
        let m = try Fixtures.load("torch/fastai_with_opt.pth")
        let entries = try XCTUnwrap(m.source?.entries)
        XCTAssertEqual(m.source?.entry(for: .itemFactors)?.name, "model.i_weight.weight")
        let optimizer = entries.filter { $0.name.hasPrefix("opt.") }
        XCTAssertEqual(optimizer.count, 8, "grad_avg and sqr_avg for each of the four parameters")
        XCTAssertTrue(optimizer.allSatisfy { $0.role == nil })
    }

    func testFastaiVocabularyFile() throws {
        let m = try Fixtures.load("torch/fastai_no_opt.pth") { $0.vocabularyFile = Fixtures.path("torch/fastai_items.txt") }
        XCTAssertEqual(m.meta.itemLabels, ["#na#"] + (0..<9).map { String(format: "item%02d", $0) })
        XCTAssertEqual(m.meta.firstItemRow, 1)
        XCTAssertEqual(m.source?.entry(for: .itemLabels)?.name, "fastai_items.txt")
    }

    func testDotProductBiasWithoutWeightSuffix() throws {
        let m = try Fixtures.load("torch/dotproductbias.pth")
        let e = try Fixtures.expected("dotproductbias.pth")
        XCTAssertEqual(m.source?.naming, "fastbook DotProductBias")
        XCTAssertEqual(m.itemFactors.data, e["movie_factors"]?.values)
        XCTAssertEqual(m.itemBias, e["movie_bias"]?.values)
        XCTAssertEqual(m.userFactors?.data, e["user_factors"]?.values)
        XCTAssertEqual(m.userBias, e["user_bias"]?.values)
    }

    func testEmbeddingNNUsesItemEmbeddingsOnly() throws {
        let m = try Fixtures.load("torch/embeddingnn.pth")
        let e = try Fixtures.expected("embeddingnn.pth")
        XCTAssertEqual(m.source?.naming, "fastai EmbeddingNN / CollabNN")
        XCTAssertEqual(m.itemFactors.data, e["embeds.1.weight"]?.values)
        XCTAssertNil(m.userFactors, "EmbeddingNN's user vectors meet the items in an MLP, not a dot product")
        XCTAssertTrue(m.source?.notes.contains { $0.contains("embeds.0.weight") } ?? false)
    }

    func testHuggingFaceSafetensors() throws {
        try assertEmbeddingDotBias("torch/edb_hf.safetensors", expected: "edb_f32.pth")
    }

    func testTensorOptionsOverrideTheNaming() throws {
        let e = try Fixtures.expected("edb_f32.pth")
        let m = try Fixtures.load("torch/edb_f32.pth") {
            $0.itemsTensor = "u_weight.weight"
            $0.biasTensor = "u_bias.weight"
        }
        XCTAssertEqual(m.itemFactors.data, e["u_weight.weight"]?.values)
        XCTAssertEqual(m.itemBias, e["u_bias.weight"]?.values)
        XCTAssertNil(m.userFactors)
        assertDataError(try Fixtures.load("torch/edb_f32.pth") { $0.itemsTensor = "nope" }, "no tensor 'nope'", "i_weight.weight")
        assertDataError(try Fixtures.load("torch/edb_f32.pth") { $0.biasTensor = "u_bias.weight" }, "[6, 1]", "[9]")
    }

    func testHostileGlobalsAreRefusedByName() throws {
        // torch.save of objects whose __reduce__ names os.system / eval (written by the real torch).
        assertDataError(try Fixtures.load("hostile/os_system.pth"), "refusing pickle global 'posix.system'", "nothing was imported or executed")
        assertDataError(try Fixtures.load("hostile/builtins_eval.pth"), "refusing pickle global 'builtins.eval'")
        // torch.save(model) rather than its state dict: the restricted reader names the class, with a hint
        // (FactorLoader reads such files as an inert graph instead: FormatsLearnerTests).
        let whole = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("hostile/whole_model.pth")))
        assertDataError(try TorchCheckpoint.read(data: whole, name: "whole_model.pth"), "refusing pickle global 'fastai.", "save model.state_dict()")
        // The same by hand: GLOBAL 'os system', then ('ls',) REDUCE.
        let pickle = Data([0x80, 0x02, 0x63] + Array("os\nsystem\n".utf8) + [0x58, 2, 0, 0, 0] + Array("ls".utf8) + [0x85, 0x52, 0x2E])
        assertDataError(try Pickle.load(pickle, name: "p") { $0 }, "refusing pickle global 'os.system'")
    }
}
