@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingLinalg
@testable import EmbeddingTrain
@testable import EmbeddingAnalysis
@testable import EmbeddingRender
import Foundation
import XCTest

/// Hostile and damaged files: each must end in one clear `.dataError`, never a
/// crash, a hang or an allocation sized by a field the file claims.
final class FormatsHostileTests: XCTestCase {
    func write(_ data: Data, _ name: String) throws -> String {
        let path = try TestData.scratch(self) + "/" + name
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    func fixture(_ relative: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(relative))) }

    func testTruncatedZip() throws {
        let whole = try fixture("torch/fastai_with_opt.pth")
        assertDataError(try FactorLoader.load(path: write(whole.prefix(whole.count / 2), "cut.pth")), "no end-of-central-directory record (truncated?)")
        // Central directory intact but an entry's bytes gone: offsets point past the end.
        let directoryStart = whole.count - 1200
        var holed = whole.prefix(whole.count / 3)
        holed.append(whole.suffix(from: whole.startIndex + directoryStart))
        assertDataError(try FactorLoader.load(path: write(holed, "holed.pth")), "not a valid zip archive")
    }

    func testCorruptStorageFailsItsCRC() throws {
        var data = try fixture("torch/edb_f32.pth")
        let zip = try ZipArchive(data: data, name: "t")
        let storage = try XCTUnwrap(zip.entries.first { $0.name.hasSuffix("data/1") })
        data[data.startIndex + storage.dataOffset + 3] ^= 0x40
        assertDataError(try FactorLoader.load(path: write(data, "flipped.pth")), "data/1", "CRC-32")
    }

    func testNpyClaimingTrillionElements() throws {
        var npy = Data(Npy.magic + [1, 0])
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }\n"
        withUnsafeBytes(of: UInt16(header.utf8.count).littleEndian) { npy.append(contentsOf: $0) }
        npy.append(contentsOf: header.utf8)
        npy.append(Data(count: 64))
        assertDataError(try FactorLoader.load(path: write(npy, "huge.npy")), "(1000000, 1000000)".isEmpty ? "" : "[1000000, 1000000]", "needs more than the 64 bytes")
        // Header length beyond the file, and dimensions that overflow Int.
        assertDataError(try Npy.read(data: Data(Npy.magic + [1, 0, 0xFF, 0xFF]) + Data("{".utf8), name: "t"), "runs past the end")
        var overflow = Data(Npy.magic + [1, 0])
        let h2 = "{'descr': '<f8', 'fortran_order': False, 'shape': (999999999999999999, 999999999999999999), }"
        withUnsafeBytes(of: UInt16(h2.utf8.count).littleEndian) { overflow.append(contentsOf: $0) }
        overflow.append(contentsOf: h2.utf8)
        assertDataError(try Npy.read(data: overflow, name: "t"), "needs more than")
    }

    func safetensors(_ header: String, payload: Int = 0, claimedLength: UInt64? = nil) -> Data {
        var d = Data()
        withUnsafeBytes(of: (claimedLength ?? UInt64(header.utf8.count)).littleEndian) { d.append(contentsOf: $0) }
        d.append(contentsOf: header.utf8)
        d.append(Data(count: payload))
        return d
    }

    func testSafetensorsHeaders() throws {
        assertDataError(try FactorLoader.load(path: write(safetensors("{}", claimedLength: 1 << 40), "a.safetensors")),
                        "header length 1099511627776 runs past the end")
        assertDataError(try FactorLoader.load(path: write(safetensors("[1, 2]"), "b.safetensors")), "header is not a JSON object")
        assertDataError(try FactorLoader.load(path: write(safetensors(#"{"i_weight.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]}}"#, payload: 16),
                                                          "c.safetensors")), "data_offsets", "outside the 16-byte data")
        assertDataError(try FactorLoader.load(path: write(safetensors(#"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}}"#, payload: 16),
                                                          "d.safetensors")), "needs more bytes than the file holds")
        assertDataError(try FactorLoader.load(path: write(safetensors(#"{"w":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#, payload: 8),
                                                          "e.safetensors")), "unsupported dtype C64")
        // A byte range longer than the shape needs, in either direction, is refused (the
        // format requires them equal; Hugging Face's loader refuses it too).
        for range in [[0, 16], [0, 4]] {
            assertDataError(try FactorLoader.load(path: write(safetensors(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":\#(range)}}"#, payload: 16),
                                                              "f.safetensors")), "is \(range[1]) bytes but F32[2] needs 8")
        }
    }

    func testEmbtoolMetadataDisagreeingWithTheFactors() throws {
        var meta = ModelFile.metadataStrings(sampleModel().meta)
        meta["items"] = "[\"#na#\", \"only one\"]"
        let data = try Safetensors.encode([Tensor(name: ModelFile.itemWeight, shape: [3, 1], values: [1, 2, 3])], metadata: meta)
        assertDataError(try FactorLoader.load(path: write(data, "m.safetensors")), "metadata lists 2 items", "3 rows")
    }

    func testNaNAndInfinityWarnOrRefuse() throws {
        let path = try write(Data("a,nan,1\nb,inf,-inf\nc,1,2\n".utf8), "nan.csv")
        let warnings = WarningLog()
        let m = try FactorLoader.load(path: path) { warnings.add($0) }
        XCTAssertEqual(warnings.messages.count, 1)
        XCTAssertTrue(warnings.messages[0].contains("3 in item factors"), warnings.messages[0])
        XCTAssertEqual(m.source?.nonFinite[.itemFactors], 3)
        var strict = FactorLoader.Options()
        strict.strict = true
        assertDataError(try FactorLoader.load(path: path, options: strict), "3 in item factors", "refusing")
    }

    // MARK: Pickle

    /// A pickle (protocol 2) from raw opcodes: PROTO 2, `body`, STOP.
    func pickle(_ body: [UInt8]) -> Data { Data([0x80, 0x02] + body + [0x2E]) }

    func testDeeplyNestedListsAreReleasedWithoutRecursion() throws {
        // 200,000 lists, each appended into the one before: [[[[...]]]].
        // The root stays at the bottom of the stack; memo 1 holds the newest list.
        var body: [UInt8] = [0x5D, 0x71, 0x01, 0x68, 0x01]
        for _ in 0..<200_000 { body += [0x5D, 0x71, 0x01, 0x61, 0x30, 0x68, 0x01] }
        let data = pickle(body + [0x30])
        // Unpickling succeeds (it is valid), walking it stops at the depth limit,
        // and releasing it afterwards does not overflow the stack.
        assertDataError(try Pickle.load(data, name: "deep") { try Pickle.tensors(in: $0, name: "deep", budget: 10 * data.count) }, "deeper than 100")
    }

    func testNestedTuplesAreBounded() {
        let data = pickle([0x29] + [UInt8](repeating: 0x85, count: 5000))
        assertDataError(try Pickle.load(data, name: "t") { $0 }, "tuples nested deeper than 100")
    }

    func testMemoBombIsBoundedByTheWalkBudget() throws {
        // t = (); 40 times: t = (t, t, t, t, t, t, t, t): 8^40 leaves in under 1 KB.
        var body: [UInt8] = [0x29]
        for _ in 0..<40 { body += [0x71, 0x00, 0x30, 0x28] + [UInt8](repeating: 0, count: 8).flatMap { _ in [0x68, 0x00] } + [0x74] }
        let data = pickle(body)
        assertDataError(try Pickle.load(data, name: "bomb") { try Pickle.tensors(in: $0, name: "bomb", budget: 4 * data.count + 1000) }, "far larger than the file")
    }

    func testMalformedPickles() {
        assertDataError(try Pickle.load(Data([0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F]), name: "t") { $0 }, "truncated")
        assertDataError(try Pickle.load(pickle([0x61]), name: "t") { $0 }, "stack underflow")
        assertDataError(try Pickle.load(pickle([0x68, 0x05]), name: "t") { $0 }, "memo entry 5")
        assertDataError(try Pickle.load(pickle([0x29, 0x29, 0x52]), name: "t") { $0 }, "REDUCE")
        assertDataError(try Pickle.load(pickle([0x81]), name: "t") { $0 }, "stack underflow")
        assertDataError(try Pickle.load(pickle([0x8F]), name: "t") { $0 }, "0x8f (EMPTY_SET) is not allowed")
        // A storage view reaching past its storage: 4 elements, view of 3 x stride 2.
        let storage: [UInt8] = [0x28, 0x58, 7, 0, 0, 0] + Array("storage".utf8) + [0x63] + Array("torch\nFloatStorage\n".utf8)
            + [0x58, 1, 0, 0, 0, 0x30, 0x58, 3, 0, 0, 0] + Array("cpu".utf8) + [0x4B, 4, 0x74, 0x51]
        let rebuild: [UInt8] = [0x63] + Array("torch._utils\n_rebuild_tensor_v2\n".utf8) + [0x28] + storage
            + [0x4B, 0, 0x4B, 3, 0x85, 0x4B, 2, 0x85, 0x89, 0x4E, 0x74, 0x52]
        assertDataError(try Pickle.load(pickle(rebuild), name: "t") { $0 }, "reaches element 4 of a 4-element storage")
    }

    func testDeflateCorruption() {
        // A stored block whose length check fails, a reserved block type, and output past the limit.
        assertDataError(try Inflate.decompress(Data([0x01, 0x05, 0x00, 0x00, 0x00]), limit: 100, name: "z"), "length check")
        assertDataError(try Inflate.decompress(Data([0x07]), limit: 100, name: "z"), "reserved block type")
        assertDataError(try Inflate.decompress(Data([0x01, 0x05, 0x00, 0xFA, 0xFF, 1, 2, 3, 4, 5]), limit: 4, name: "z"), "past the declared 4 bytes")
        // Fixed Huffman: a back-reference before the start of the output.
        assertDataError(try Inflate.decompress(Data([0x03, 0x02]), limit: 100, name: "z"), "before the start")
    }

    /// Inputs that crashed a fuzzer once (fuzz/run keeps them under
    /// `<parser>/`): each must now load or fail cleanly. A missing or empty
    /// corpus, or a folder no parser claims, fails rather than passing vacuously.
    func testFuzzRegressions() throws {
        let root = Fixtures.path("fuzz-regressions")
        let fm = FileManager.default
        let folders = try fm.contentsOfDirectory(atPath: root).filter { !$0.hasPrefix(".") }.sorted()
        var replayed = 0
        for folder in folders {
            let files = try fm.contentsOfDirectory(atPath: root + "/" + folder).filter { !$0.hasPrefix(".") }.sorted()
            XCTAssertFalse(files.isEmpty, "fuzz-regressions/\(folder) is empty")
            for name in files {
                let file = folder + "/" + name
                let data = try Data(contentsOf: URL(fileURLWithPath: root + "/" + file))
                do {
                    switch folder {
                    case "pickle": _ = try Pickle.load(data, name: file) { try Pickle.tensors(in: $0, name: file, budget: 4 * data.count + 1000) }
                    case "learner":
                        if ZipArchive.looksLike(data) {
                            _ = try FastaiExport.read(try TorchCheckpoint.Archive(data: data, name: file))?.1.map { try $0.load() }
                        } else {
                            _ = try Pickle.load(data, name: file, mode: .graph) { root in
                                if case .object(let o) = root { _ = try FastaiExport.interpret(o, name: file, budget: 4 * data.count + 1000) }
                            }
                        }
                    case "npy": _ = try Npy.read(data: data, name: file).floats(name: file)
                    case "safetensors": _ = try Safetensors.read(data: data, name: file)
                    case "zip": _ = try ZipArchive(data: data, name: file).entries.map { try ZipArchive(data: data, name: file).contents(of: $0) }
                    case "parquet":
                        let parquet = try ParquetFile(data: data, name: file)
                        for leaf in parquet.leaves { _ = try parquet.read(leaf) }
                    case "snappy":
                        // As fuzz/SnappyFuzz.swift: the length the block's own varint declares.
                        let declared = data.prefix(4).enumerated().reduce(into: (0, true)) { acc, b in
                            if acc.1 { acc.0 |= Int(b.element & 0x7F) << (7 * b.offset); acc.1 = b.element & 0x80 != 0 }
                        }.0
                        _ = try [UInt8](data).withUnsafeBufferPointer { try Snappy.decompress($0, expectedLength: declared, name: file) }
                    case "thrift":
                        _ = try [UInt8](data).withUnsafeBufferPointer { bytes in
                            var r = ThriftCompact(bytes, name: file)
                            return try Parquet.FileMetaData(&r)
                        }
                    default:
                        // The text formats' targets, and inflate, replay in ParserAgreementTests.
                        guard try ParserAgreementTests.replay(target: folder, data: data, file: file, in: try TestData.scratch(self)) else {
                            XCTFail("fuzz-regressions/\(folder): no fuzz target of that name"); continue
                        }
                    }
                } catch let e as EmbtoolError {
                    XCTAssertEqual(e.kind, .dataError, "\(file): \(e.message)")
                }
                replayed += 1
            }
        }
        XCTAssertGreaterThan(replayed, 0, "no fuzz regression inputs under \(root)")
    }
}
