@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingLinalg
@testable import EmbeddingTrain
@testable import EmbeddingAnalysis
@testable import EmbeddingRender
import Foundation
import XCTest

final class VocabularyTests: XCTestCase {
    func testCategorifyPutsMissingFirstAndSortsByCodePoint() {
        // Python: sorted(['b', 'B', 'é', 'a']) == ['B', 'a', 'b', 'é']
        let v = Vocabulary.categorify(["b", "B", "é", "a", "b"])
        XCTAssertEqual(v.labels, ["#na#", "B", "a", "b", "é"])
        XCTAssertEqual(v.index(of: "b"), 3)
    }

    func testIntegersSortNumerically() {
        let v = Vocabulary.categorify(integers: [10, 9, 100, 9])
        XCTAssertEqual(v.labels, ["#na#", "9", "10", "100"])
    }

    func testMovieLens100kMatchesFastbook() throws { try checkVocabularies(.ml100k()) }
    func testSyntheticVocabulariesMatchItsGenerator() throws { try checkVocabularies(.synthetic()) }

    func checkVocabularies(_ d: LayoutDataset) throws {
        let r = try DatasetLoader.load(path: d.folder, itemKey: .title)
        XCTAssertEqual(r.count, d.ratings)
        XCTAssertEqual(r.users.count, d.vocabUsers)
        XCTAssertEqual(r.items.count, d.vocabItemsByTitle)
        XCTAssertEqual(r.itemLabels.first, "#na#")
        // Every rating maps back to a real (non-#na#) row.
        XCTAssertFalse(r.user.contains(0))
        XCTAssertFalse(r.item.contains(0))
        let byId = try DatasetLoader.load(path: d.folder, itemKey: .id)
        XCTAssertEqual(byId.items.count, d.vocabItemsById)
        XCTAssertEqual(Set(byId.itemLabels).count, byId.itemLabels.count, "labels keyed by id must be unique")
    }
}

final class SplitTests: XCTestCase {
    func testFoldMatchesGroupLensLineRanges() {
        let (train, valid) = Split.fold(2).indices(count: 100_000)
        XCTAssertEqual(valid.first, 20_000)
        XCTAssertEqual(valid.last, 39_999)
        XCTAssertEqual(train.count, 80_000)
        XCTAssertEqual(Set(train).intersection(valid).count, 0)
    }

    func testRandomSplitIsReproducibleAndDisjoint() {
        let a = Split.random(validPct: 0.2, seed: 7).indices(count: 1000)
        let b = Split.random(validPct: 0.2, seed: 7).indices(count: 1000)
        let c = Split.random(validPct: 0.2, seed: 8).indices(count: 1000)
        XCTAssertEqual(a.valid, b.valid)
        XCTAssertNotEqual(a.valid, c.valid)
        XCTAssertEqual(a.valid.count, 200)
        XCTAssertEqual(Set(a.train).union(a.valid).count, 1000)
    }
}

final class SafetensorsTests: XCTestCase {
    func testModelRoundTripKeepsTensorsAndMetadata() throws {
        var meta = ModelMetadata()
        meta.dataset = "toy"
        meta.userLabels = ["#na#", "1", "2"]
        meta.itemKeys = ["#na#", "Alien (1979)", "Amélie (2001)"]
        meta.itemLabels = meta.itemKeys
        meta.itemCounts = [0, 5, 7]
        meta.yRange = .init(low: 0, high: 5.5)
        let model = FactorModel(
            userFactors: Matrix(rows: 3, cols: 2, data: [0, 0, 1, 2, 3, 4]),
            itemFactors: Matrix(rows: 3, cols: 2, data: [0, 0, -1, 0.5, 0.25, 8]),
            userBias: [0, 0.1, 0.2], itemBias: [0, -0.3, 0.4], meta: meta)
        let path = try TestData.scratch(self) + "/m.safetensors"
        try ModelFile.save(model, to: path)
        let back = try ModelFile.load(path: path)
        XCTAssertEqual(back.userFactors, model.userFactors)
        XCTAssertEqual(back.itemFactors, model.itemFactors)
        XCTAssertEqual(back.itemBias, model.itemBias)
        XCTAssertEqual(back.meta, model.meta)
        // The prediction is sigmoid_range of dot + biases.
        let raw: Float = (1 * -1 + 2 * 0.5) + 0.1 - 0.3
        XCTAssertEqual(back.predict(user: 1, item: 1), 5.5 / (1 + expf(-raw)), accuracy: 1e-6)
    }

    func testHeaderLayoutFollowsTheSpec() throws {
        let data = try Safetensors.encode([Tensor(name: "w", shape: [2], values: [1, 2])], metadata: ["a": "b"])
        let n = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        XCTAssertEqual(n % 8, 0)
        XCTAssertEqual(data.count, 8 + Int(n) + 8)
        let header = try JSONSerialization.jsonObject(with: data[8..<(8 + Int(n))]) as? [String: Any]
        XCTAssertEqual((header?["w"] as? [String: Any])?["data_offsets"] as? [Int], [0, 8])
    }

    func testRefusesNaN() throws {
        let model = FactorModel(userFactors: nil, itemFactors: Matrix(rows: 1, cols: 1, data: [.nan]),
                                userBias: nil, itemBias: nil, meta: ModelMetadata())
        XCTAssertThrowsError(try ModelFile.encode(model))
    }

    func testHostileHeaders() {
        func check(_ bytes: [UInt8]) {
            XCTAssertThrowsError(try Safetensors.read(data: Data(bytes))) { error in
                XCTAssertEqual((error as? EmbtoolError)?.kind, .dataError)
            }
        }
        check([1, 2, 3])                                        // shorter than the length field
        check([0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0] + Array("{}".utf8))  // length beyond the file
        let notObject = Array("[1, 2]  ".utf8)
        check([8, 0, 0, 0, 0, 0, 0, 0] + notObject)
        let outside = Array(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#.utf8)
        check([UInt8(outside.count), 0, 0, 0, 0, 0, 0, 0] + outside + [0, 0, 0, 0])
    }
}

final class SHA256Tests: XCTestCase {
    func testKnownVectors() {
        // FIPS 180-4 examples.
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex([UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testMatchesTheMovieLensChecksumInItsReadme() throws { try checkStreamingDigest(.ml100k()) }
    /// Against Python's hashlib (the generator wrote the digest).
    func testMatchesTheSyntheticChecksumFromPython() throws { try checkStreamingDigest(.synthetic()) }

    func checkStreamingDigest(_ d: LayoutDataset) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: d.folder + "/u.data"))
        var streaming = SHA256()
        // Odd-sized chunks, so blocks straddle them.
        for chunk in stride(from: 0, to: data.count, by: 100_003) { streaming.update(data[chunk..<min(chunk + 100_003, data.count)]) }
        XCTAssertEqual(streaming.hexDigest(), d.dataSHA256)
    }
}
