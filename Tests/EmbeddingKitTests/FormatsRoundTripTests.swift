@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingLinalg
@testable import EmbeddingTrain
@testable import EmbeddingAnalysis
@testable import EmbeddingRender
import Foundation
import XCTest

/// A small embtool model with awkward labels (commas, quotes, accents), counts,
/// genres and both sides, saved as embtool's safetensors.
func sampleModel(items: Int = 12, users: Int = 5, k: Int = 3, seed: UInt64 = 7) -> FactorModel {
    var rng = SplitMix64(seed: seed)
    func gaussians(_ n: Int) -> [Float] { (0..<n).map { _ in rng.nextGaussian() } }
    var meta = ModelMetadata()
    meta.dataset = "sample"
    let titles = ["Birdcage, The (1996)", "Amélie (2001)", "\"Quoted\" (1990)", " Leading space", "Naïve; semi"]
    meta.itemKeys = [Vocabulary.missing] + (1..<items).map { $0 <= titles.count ? titles[$0 - 1] : "Movie \($0) (19\(70 + $0))" }
    meta.itemLabels = meta.itemKeys
    meta.itemCounts = [0] + (1..<items).map { $0 * 3 }
    meta.itemGenres = [[]] + (1..<items).map { $0 % 2 == 0 ? ["Drama", "Comedy"] : ["Action"] }
    meta.userLabels = [Vocabulary.missing] + (1..<users).map(String.init)
    return FactorModel(userFactors: Matrix(rows: users, cols: k, data: gaussians(users * k)),
                       itemFactors: Matrix(rows: items, cols: k, data: gaussians(items * k)),
                       userBias: gaussians(users), itemBias: gaussians(items), meta: meta)
}

final class FormatsRoundTripTests: XCTestCase {
    func savedSample(_ dir: String) throws -> (FactorModel, String) {
        let model = sampleModel()
        let path = dir + "/model.safetensors"
        try ModelFile.save(model, to: path)
        return (model, path)
    }

    func testSafetensorsThroughFactorLoaderKeepsMetadata() throws {
        let (model, path) = try savedSample(try TestData.scratch(self))
        let back = try FactorLoader.load(path: path)
        XCTAssertEqual(back.itemFactors, model.itemFactors)
        XCTAssertEqual(back.userFactors, model.userFactors)
        XCTAssertEqual(back.meta, model.meta)
        XCTAssertEqual(back.source?.naming, "fastai EmbeddingDotBias")
    }

    func testSafetensorsToNpzAndNpyGiveTheSameMatrix() throws {
        let dir = try TestData.scratch(self)
        let (model, path) = try savedSample(dir)
        let loaded = try FactorLoader.load(path: path)
        _ = try FactorExport.npz(loaded, to: dir + "/m.npz")
        let npz = try FactorLoader.load(path: dir + "/m.npz")
        XCTAssertEqual(npz.itemFactors, model.itemFactors)
        XCTAssertEqual(npz.itemBias, model.itemBias)
        XCTAssertEqual(npz.userFactors, model.userFactors)
        XCTAssertEqual(npz.userBias, model.userBias)
        XCTAssertEqual(npz.meta.itemLabels, model.meta.itemLabels)
        XCTAssertEqual(npz.meta.userLabels, model.meta.userLabels)
        XCTAssertEqual(npz.source?.entry(for: .itemLabels)?.dtype, "U20")

        let written = try FactorExport.npy(loaded, to: dir + "/npy")
        XCTAssertEqual(written.map { ($0 as NSString).lastPathComponent },
                       ["item_factors.npy", "item_bias.npy", "item_labels.npy", "user_factors.npy", "user_bias.npy", "user_labels.npy"])
        var options = FactorLoader.Options()
        options.biasFile = dir + "/npy/item_bias.npy"
        let npy = try FactorLoader.load(path: dir + "/npy/item_factors.npy", options: options)
        XCTAssertEqual(npy.itemFactors, model.itemFactors)
        XCTAssertEqual(npy.itemBias, model.itemBias)
        XCTAssertEqual(try Npy.read(path: dir + "/npy/item_labels.npy").strings(name: "labels"), model.meta.itemLabels)
    }

    func testCSVToSafetensorsAndBack() throws {
        let dir = try TestData.scratch(self)
        let model = sampleModel()
        let files = try FactorExport.csv(model, to: dir + "/csv")
        XCTAssertEqual(files.map { ($0 as NSString).lastPathComponent }, ["items.csv", "users.csv"])
        let csv = try FactorLoader.load(path: dir + "/csv/items.csv")
        XCTAssertEqual(csv.itemFactors, model.itemFactors, "shortest round-trip decimals read back exactly")
        XCTAssertEqual(csv.itemBias, model.itemBias)
        XCTAssertEqual(csv.meta.itemLabels, model.meta.itemLabels)
        XCTAssertEqual(csv.meta.itemCounts, model.meta.itemCounts)
        // CSV -> embtool safetensors -> CSV gives the same text.
        try ModelFile.save(csv, to: dir + "/from-csv.safetensors")
        let again = try FactorLoader.load(path: dir + "/from-csv.safetensors")
        _ = try FactorExport.csv(again, to: dir + "/csv2")
        XCTAssertEqual(try String(contentsOfFile: dir + "/csv2/items.csv", encoding: .utf8),
                       try String(contentsOfFile: dir + "/csv/items.csv", encoding: .utf8))
    }

    func testProjectorExportImport() throws {
        let dir = try TestData.scratch(self)
        let model = sampleModel()
        _ = try FactorExport.projector(model, to: dir + "/p")
        let metadata = try String(contentsOfFile: dir + "/p/metadata.tsv", encoding: .utf8)
        XCTAssertTrue(metadata.hasPrefix("label\tcount\tbias\tgenres\n"))
        XCTAssertFalse(metadata.contains(Vocabulary.missing), "fastai's #na# row is not a point")
        for source in [dir + "/p", dir + "/p/vectors.tsv"] {
            let back = try FactorLoader.load(path: source)
            let rows = Array(1..<model.itemCount)
            XCTAssertEqual(back.itemFactors, model.itemFactors.rows(rows))
            XCTAssertEqual(back.itemBias, rows.map { model.itemBias![$0] })
            XCTAssertEqual(back.meta.itemLabels, rows.map { model.meta.itemLabels[$0] })
            XCTAssertEqual(back.meta.itemCounts, rows.map { model.meta.itemCounts[$0] })
            XCTAssertEqual(back.meta.itemGenres, rows.map { model.meta.itemGenres[$0] })
        }
    }

    func testProjectorWithoutMetadataUsesRowNumbers() throws {
        let dir = try TestData.scratch(self)
        try TestData.write("1\t2\n3\t4\n5\t6\n", to: dir + "/vectors.tsv")
        let m = try FactorLoader.load(path: dir + "/vectors.tsv")
        XCTAssertEqual(m.itemFactors, Matrix(rows: 3, cols: 2, data: [1, 2, 3, 4, 5, 6]))
        XCTAssertEqual(m.meta.itemLabels, ["0", "1", "2"])
        XCTAssertTrue(m.meta.itemKeys.isEmpty, "row numbers are not keys")
        // A single-column metadata.tsv has no header; an empty label still counts as a point.
        try TestData.write("a\n\nc\n", to: dir + "/metadata.tsv")
        XCTAssertEqual(try FactorLoader.load(path: dir).meta.itemLabels, ["a", "", "c"])
        try TestData.write("a\nb\n", to: dir + "/metadata.tsv")
        assertDataError(try FactorLoader.load(path: dir), "2 points", "3 rows")
    }
}

final class FormatsNumpyTests: XCTestCase {
    func testNpyMatrixAndBiasWrittenByNumPy() throws {
        let e = try Fixtures.expected("numpy")
        let m = try Fixtures.load("numpy/items.npy") { $0.biasFile = Fixtures.path("numpy/bias.npy") }
        XCTAssertEqual(m.itemFactors.data, e["item_factors"]?.values)
        XCTAssertEqual(m.itemBias, e["item_bias"]?.values)
        XCTAssertNil(m.meta.yRange)
        XCTAssertEqual(m.source?.entry(for: .itemBias)?.name, "bias.npy")
    }

    func testFortranOrderFloat64() throws {
        let e = try Fixtures.expected("numpy")
        let m = try Fixtures.load("numpy/items_f64_fortran.npy")
        XCTAssertEqual(m.itemFactors.data, e["item_factors"]?.values, "column-major float64 comes back row-major")
    }

    func testNpzStoredAndCompressed() throws {
        let e = try Fixtures.expected("numpy")
        let labels = try String(contentsOfFile: Fixtures.path("expected/numpy_labels.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        for file in ["numpy/factors.npz", "numpy/factors_compressed.npz"] {
            let m = try Fixtures.load(file)
            XCTAssertEqual(m.itemFactors.data, e["item_factors"]?.values, file)
            XCTAssertEqual(m.itemBias, e["item_bias"]?.values, file)
            XCTAssertEqual(m.meta.itemLabels, labels, file)
            XCTAssertEqual(m.source?.naming, "embtool export")
        }
    }

    /// The .npy writer against NumPy's own bytes: re-encoding the arrays `np.save`
    /// and `np.savez` wrote (a float32 matrix, a 1-D vector, a `<U` label array)
    /// gives the same files, header padding and `(n,)` included.
    func testNpyWriterMatchesNumPyByteForByte() throws {
        for name in ["items", "bias"] {
            let original = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("numpy/\(name).npy")))
            let array = try Npy.read(data: original, name: name)
            XCTAssertEqual(Npy.encode(shape: array.shape, values: try array.floats(name: name)), original, name)
        }
        let npz = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("numpy/factors.npz")))
        let archive = try ZipArchive(data: npz, name: "factors.npz")
        let labels = try archive.contents(of: try XCTUnwrap(archive.entry(named: "item_labels.npy")))
        XCTAssertEqual(Npy.encode(strings: try Npy.read(data: labels, name: "labels").strings(name: "labels")), labels)
    }

    func testNpyHeaderGrammar() throws {
        func header(_ dict: String) -> Data {
            var d = Data(Npy.magic + [1, 0])
            withUnsafeBytes(of: UInt16(dict.utf8.count).littleEndian) { d.append(contentsOf: $0) }
            d.append(contentsOf: dict.utf8)
            return d
        }
        var big = header("{'descr': '>i2', 'fortran_order': False, 'shape': (3,), }")
        big.append(contentsOf: [0x00, 0x01, 0xFF, 0xFE, 0x01, 0x00])
        XCTAssertEqual(try Npy.read(data: big, name: "t").floats(name: "t"), [1, -2, 256])
        var scalar = header("{\"descr\": \"<f4\", \"shape\": (), \"fortran_order\": True}")
        withUnsafeBytes(of: Float(2.5)) { scalar.append(contentsOf: $0) }
        XCTAssertEqual(try Npy.read(data: scalar, name: "t").floats(name: "t"), [2.5])
        assertDataError(try Npy.read(data: header("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }") + Data([0]), name: "t"), "pickle")
        assertDataError(try Npy.read(data: header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }"), name: "t"), "structured")
        assertDataError(try Npy.read(data: header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }") + Data(count: 4), name: "t"), "needs")
    }
}

final class FormatsZipTests: XCTestCase {
    func append<T: FixedWidthInteger>(_ values: [T], to data: inout Data) {
        for v in values { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
    }

    /// One stored entry with every size and offset in ZIP64 fields (the layout
    /// torch and numpy write past 4 GiB), built by hand after APPNOTE 4.3.9-4.3.15.
    func zip64(name: String, contents: Data) -> Data {
        let crc = CRC32.checksum(contents)
        let size = UInt64(contents.count)
        var d = Data()
        append([ZipArchive.localHeader], to: &d)
        append([UInt16(45), 0, 0, 0, 0x21], to: &d)
        append([crc, 0xFFFF_FFFF, 0xFFFF_FFFF], to: &d)
        append([UInt16(name.utf8.count), 20], to: &d)
        d.append(contentsOf: name.utf8)
        append([UInt16(1), 16], to: &d)
        append([size, size], to: &d)
        d.append(contents)
        let directoryOffset = UInt64(d.count)
        append([ZipArchive.directoryHeader], to: &d)
        append([UInt16(45), 45, 0, 0, 0, 0x21], to: &d)
        append([crc, 0xFFFF_FFFF, 0xFFFF_FFFF], to: &d)
        append([UInt16(name.utf8.count), 28, 0, 0, 0], to: &d)
        append([UInt32(0), 0xFFFF_FFFF], to: &d)
        d.append(contentsOf: name.utf8)
        append([UInt16(1), 24], to: &d)
        append([size, size, 0], to: &d)
        let directorySize = UInt64(d.count) - directoryOffset
        let recordOffset = UInt64(d.count)
        append([ZipArchive.zip64EndOfDirectory], to: &d)
        append([UInt64(44)], to: &d)
        append([UInt16(45), 45], to: &d)
        append([UInt32(0), 0], to: &d)
        append([UInt64(1), 1, directorySize, directoryOffset], to: &d)
        append([ZipArchive.zip64Locator, 0], to: &d)
        append([recordOffset], to: &d)
        append([UInt32(1)], to: &d)
        append([ZipArchive.endOfDirectory], to: &d)
        append([UInt16(0), 0, 0xFFFF, 0xFFFF], to: &d)
        append([UInt32(0xFFFF_FFFF), 0xFFFF_FFFF], to: &d)
        append([UInt16(0)], to: &d)
        return d
    }

    func testZip64Fields() throws {
        let npy = Npy.encode(shape: [2, 2], values: [1, 2, 3, 4])
        let archive = try ZipArchive(data: zip64(name: "item_factors.npy", contents: npy), name: "z")
        XCTAssertEqual(archive.entries.map(\.name), ["item_factors.npy"])
        XCTAssertEqual(try archive.contents(of: archive.entries[0]), npy)
        // Python's zipfile with force_zip64 (ZIP64 extra in the local header).
        let e = try Fixtures.expected("numpy")
        XCTAssertEqual(try Fixtures.load("numpy/zip64.npz").itemFactors.data, e["item_factors"]?.values)
    }

    func testWriterOutputReadsBackWithCRCs() throws {
        var writer = ZipWriter()
        try writer.add(name: "a.npy", contents: Data("first".utf8))
        try writer.add(name: "dir/b.npy", contents: Data())
        let archive = try ZipArchive(data: writer.finish(), name: "w")
        XCTAssertEqual(archive.entries.map(\.name), ["a.npy", "dir/b.npy"])
        XCTAssertEqual(try archive.contents(of: archive.entries[0]), Data("first".utf8))
        XCTAssertEqual(CRC32.checksum(Data("123456789".utf8)), 0xCBF4_3926, "the CRC-32 check value")
    }
}
