@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingAnalysis
import Foundation
import XCTest

/// `Tests/fixtures/parquet`: files written by pyarrow and Spark
/// (`make_fixtures.py`), and `expected.json`, the values those tools read back.
enum ParquetFixtures {
    static let root = TestData.repoRoot.appendingPathComponent("Tests/fixtures/parquet").path
    static func path(_ relative: String) -> String { root + "/" + relative }

    static func expected() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path("expected.json")))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The file's bytes, for tests that damage them.
    static func bytes(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(relative))))
    }
}

/// A minimal Thrift compact-protocol writer, to build hostile files field by field.
struct ThriftWriter {
    var bytes: [UInt8] = []
    private var lastIds: [Int16] = [0]

    mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }
    mutating func field(_ id: Int16, _ type: UInt8) {
        let delta = id - lastIds[lastIds.count - 1]
        if delta > 0 && delta <= 15 { bytes.append(UInt8(delta) << 4 | type) } else {
            bytes.append(type)
            varint(UInt64(bitPattern: Int64((Int64(id) << 1) ^ (Int64(id) >> 63))))
        }
        lastIds[lastIds.count - 1] = id
    }
    mutating func int(_ id: Int16, _ v: Int64, type: UInt8 = 5) {
        field(id, type)
        varint(UInt64(bitPattern: (v << 1) ^ (v >> 63)))
    }
    mutating func string(_ id: Int16, _ s: String) {
        field(id, 8)
        varint(UInt64(s.utf8.count))
        bytes += Array(s.utf8)
    }
    mutating func beginStruct(_ id: Int16) { field(id, 12); lastIds.append(0) }
    mutating func endStruct() { bytes.append(0); lastIds.removeLast() }
    /// A list header; the caller writes `count` elements (structs via `beginElement`).
    mutating func list(_ id: Int16, count: Int, type: UInt8) {
        field(id, 9)
        if count < 15 { bytes.append(UInt8(count) << 4 | type) } else { bytes.append(0xF0 | type); varint(UInt64(count)) }
    }
    mutating func beginElement() { lastIds.append(0) }
}

/// A one-column file (`required int32 x`) built by hand, each part adjustable
/// so that each hostile test changes one thing.
struct HandMadeParquet {
    var values: [Int32] = [7, 8, 9]
    var codec: Int64 = 0
    var pageNumValues: Int64?
    var chunkNumValues: Int64?
    var compressedSize: Int64?
    var dataPageOffset: Int64 = 4
    /// Replaces the page's bytes (its header sizes follow unless `compressedSize` says otherwise).
    var pageBody: [UInt8]?
    var uncompressedSize: Int64?
    /// Wraps the footer in this many nested structs inside an unknown field.
    var nesting = 0

    func build() -> [UInt8] {
        let body = pageBody ?? values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        var page = ThriftWriter()
        page.int(1, 0)                                   // DATA_PAGE
        page.int(2, uncompressedSize ?? Int64(body.count))
        page.int(3, compressedSize ?? Int64(body.count))
        page.beginStruct(5)
        page.int(1, pageNumValues ?? Int64(values.count))
        page.int(2, 0); page.int(3, 3); page.int(4, 3)  // PLAIN, RLE levels
        page.endStruct()
        page.bytes.append(0)
        let chunkBytes = page.bytes + body

        var f = ThriftWriter()
        f.int(1, 1)
        f.list(2, count: 2, type: 12)
        f.beginElement(); f.string(4, "schema"); f.int(5, 1); f.endStruct()
        f.beginElement(); f.int(1, 1); f.int(3, 0); f.string(4, "x"); f.endStruct()
        f.int(3, Int64(values.count), type: 6)
        f.list(4, count: 1, type: 12)
        f.beginElement()
        f.list(1, count: 1, type: 12)
        f.beginElement()
        f.int(2, dataPageOffset, type: 6)
        f.beginStruct(3)
        f.int(1, 1)
        f.list(2, count: 1, type: 5); f.varint(0)
        f.list(3, count: 1, type: 8); f.varint(1); f.bytes += Array("x".utf8)
        f.int(4, codec)
        f.int(5, chunkNumValues ?? Int64(values.count), type: 6)
        f.int(6, Int64(chunkBytes.count), type: 6)
        f.int(7, Int64(chunkBytes.count), type: 6)
        f.int(9, dataPageOffset, type: 6)
        f.endStruct()
        f.endStruct()                                    // ColumnChunk
        f.int(2, Int64(chunkBytes.count), type: 6)
        f.int(3, Int64(values.count), type: 6)
        f.endStruct()                                    // RowGroup
        if nesting > 0 {
            for _ in 0..<nesting { f.beginStruct(9) }
            for _ in 0..<nesting { f.endStruct() }
        }
        f.bytes.append(0)
        let footer = f.bytes
        return Array("PAR1".utf8) + chunkBytes + footer + withUnsafeBytes(of: UInt32(footer.count).littleEndian) { Array($0) } + Array("PAR1".utf8)
    }

    func read() throws -> ParquetColumn {
        let file = try ParquetFile(data: Data(build()), name: "hand.parquet")
        return try file.read(file.leaves[0])
    }
}

final class FormatsParquetTests: XCTestCase {
    /// Compares a decoded column with pyarrow's `to_pylist()` (nulls as NSNull).
    func assertColumn(_ c: ParquetColumn, equals expected: [Any], _ what: String, line: UInt = #line) {
        /// Slot `i` against pyarrow's value (float32 compared after rounding the JSON double to float32).
        func same(_ i: Int, _ e: Any) -> Bool {
            if let valid = c.valid, !valid[i] { return e is NSNull }
            if e is NSNull { return false }
            switch c.values {
            case .boolean(let v): return (e as? Bool) == v[i]
            case .int32(let v): return (e as? NSNumber)?.int64Value == Int64(v[i])
            case .int64(let v): return (e as? NSNumber)?.int64Value == v[i]
            case .float(let v): return (e as? NSNumber).map { Float($0.doubleValue) } == v[i]
            // Doubles come as hex strings (float.hex): Foundation's JSON parser rounds decimals.
            case .double(let v): return (e as? String).flatMap(Double.init) == v[i]
            case .string(let v): return (e as? String) == v[i]
            }
        }
        XCTAssertEqual(c.rows, expected.count, "\(what): rows", line: line)
        guard c.rows == expected.count else { return }
        if let offsets = c.offsets {
            for (r, e) in expected.enumerated() {
                let isNull = c.rowValid.map { !$0[r] } ?? false
                if e is NSNull { XCTAssertTrue(isNull, "\(what) row \(r) should be null", line: line); continue }
                XCTAssertFalse(isNull, "\(what) row \(r)", line: line)
                let list = e as? [Any] ?? []
                XCTAssertEqual(offsets[r + 1] - offsets[r], list.count, "\(what) row \(r) length", line: line)
                for (k, v) in list.enumerated() where offsets[r] + k < offsets[r + 1] {
                    XCTAssertTrue(same(offsets[r] + k, v), "\(what) row \(r)[\(k)] vs pyarrow's \(v)", line: line)
                }
            }
        } else {
            for (r, e) in expected.enumerated() where !same(r, e) {
                XCTFail("\(what) row \(r) vs pyarrow's \(e)", line: line)
                return
            }
        }
    }

    func testPyarrowFilesDecodeToWhatPyarrowReads() throws {
        let expected = try ParquetFixtures.expected()
        let columns = try XCTUnwrap(expected["types"] as? [String: [Any]])
        let files = try XCTUnwrap(expected["files"] as? [String: [String: Any]])
        XCTAssertEqual(files.count, 5)
        for (name, info) in files.sorted(by: { $0.key < $1.key }) where !name.contains("zstd") {
            let file = try ParquetFile(path: ParquetFixtures.path(name))
            XCTAssertEqual(file.metadata.rowGroups.count, info["row_groups"] as? Int, name)
            XCTAssertEqual(Set(file.leaves.map { $0.path[0] }), Set(columns.keys), name)
            for (column, values) in columns {
                let leaf = try XCTUnwrap(file.leaf(named: column), "\(name): \(column)")
                assertColumn(try file.read(leaf), equals: values, "\(name) \(column)")
            }
        }
    }

    func testZstdIsRefusedWithAdvice() throws {
        let file = try ParquetFile(path: ParquetFixtures.path("pyarrow/types_zstd.parquet"))
        assertDataError(try file.read(file.leaves[0]), "codec ZSTD not supported; rewrite with snappy or gzip")
    }

    // MARK: Spark

    func testSparkALSModelFolderLoadsWithNumPysNeighbours() throws {
        let spark = try XCTUnwrap(try ParquetFixtures.expected()["spark"] as? [String: Any])
        let m = try FactorLoader.load(path: ParquetFixtures.path("spark/als_model"))
        XCTAssertEqual(m.source?.format, "Spark ALSModel")
        XCTAssertTrue(m.source?.notes.contains { $0.contains("rank 4") && $0.contains("Spark \(spark["version"]!)") } == true, "\(m.source?.notes ?? [])")
        let itemIds = try XCTUnwrap(spark["item_ids"] as? [Int]).map(String.init)
        XCTAssertEqual(m.meta.itemKeys, itemIds, "rows by id across part files")
        XCTAssertEqual(m.meta.itemKey, .id)
        XCTAssertEqual(m.meta.userLabels, try XCTUnwrap(spark["user_ids"] as? [Int]).map(String.init))
        XCTAssertNil(m.meta.yRange, "ALS predicts with a raw dot product")
        let items = try XCTUnwrap(spark["item_factors"] as? [[Double]]), users = try XCTUnwrap(spark["user_factors"] as? [[Double]])
        XCTAssertEqual(m.itemFactors.data, items.flatMap { $0.map(Float.init) }, "float32 exactly as pyarrow read them")
        XCTAssertEqual(m.userFactors?.data, users.flatMap { $0.map(Float.init) })
        XCTAssertEqual(m.factors, 4)

        // Cosine neighbours as `similar` ranks them, against NumPy's from the same factors.
        let neighbours = try XCTUnwrap(spark["neighbours"] as? [String: [String: [Double]]])
        XCTAssertEqual(neighbours.count, m.itemCount)
        for (id, expected) in neighbours {
            let row = try XCTUnwrap(m.meta.itemKeys.firstIndex(of: id))
            let got = SimilarityScan.neighbours(of: row, in: m.itemFactors, candidates: Array(0..<m.itemCount), metric: .cosine, top: 5)
            XCTAssertEqual(got.map { m.meta.itemKeys[$0.row] }, try XCTUnwrap(expected["ids"]).map { String(Int($0)) }, "neighbours of \(id)")
            for (n, cosine) in zip(got, try XCTUnwrap(expected["cosine"])) {
                XCTAssertEqual(Double(n.score), cosine, accuracy: 1e-4, "cosine \(id)–\(m.meta.itemKeys[n.row])")
            }
        }
        // The itemFactors folder alone, and one part file alone, read too.
        let folder = try FactorLoader.load(path: ParquetFixtures.path("spark/als_model/itemFactors"))
        XCTAssertEqual(folder.itemFactors, m.itemFactors)
        XCTAssertEqual(folder.source?.format, "Spark ALS Parquet")
        let part = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: ParquetFixtures.path("spark/als_model/itemFactors"))
            .first { $0.hasPrefix("part-") && $0.hasSuffix(".parquet") })
        let one = try FactorLoader.load(path: ParquetFixtures.path("spark/als_model/itemFactors/" + part))
        XCTAssertEqual(one.itemCount, 10)
        XCTAssertTrue(Set(one.meta.itemKeys).isSubset(of: itemIds))
    }

    func testSparkModelKeysAlignWithSparkRatings() throws {
        let m = try FactorLoader.load(path: ParquetFixtures.path("spark/als_model"))
        let ratings = try DatasetLoader.load(path: ParquetFixtures.path("spark/ratings"), itemKey: .id)
        let aligned = try FactorLoader.attachVocabulary(m, ratings: ratings) { XCTFail("unexpected warning: \($0)") }
        let counts = Dictionary(grouping: ratings.item, by: { $0 }).mapValues(\.count)
        for (row, key) in aligned.meta.itemKeys.enumerated() {
            XCTAssertEqual(aligned.meta.itemCounts[row], counts[Int32(ratings.items.index(of: key)!)] ?? 0, key)
        }
    }

    func testSparkModelErrors() throws {
        let dir = try TestData.scratch(self) + "/model"
        try FileManager.default.copyItem(atPath: ParquetFixtures.path("spark/als_model"), toPath: dir)
        let metadata = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: dir + "/metadata").first { $0.hasPrefix("part-") && !$0.hasSuffix(".crc") })
        let original = try String(contentsOfFile: dir + "/metadata/" + metadata, encoding: .utf8)
        try original.replacingOccurrences(of: "\"rank\":4", with: "\"rank\":5").write(toFile: dir + "/metadata/" + metadata, atomically: true, encoding: .utf8)
        assertDataError(try FactorLoader.load(path: dir), "has 4 features, expected 5")
        try original.replacingOccurrences(of: "ALSModel", with: "LinearRegressionModel").write(toFile: dir + "/metadata/" + metadata, atomically: true, encoding: .utf8)
        assertDataError(try FactorLoader.load(path: dir), "expected org.apache.spark.ml.recommendation.ALSModel")
    }

    // MARK: Ratings

    /// (user, item, rating) triples, sorted, for comparing files written in different orders.
    func triples(_ raw: RawRatings) -> [String] {
        (0..<raw.count).map { "\(raw.userIds[Int(raw.user[$0])]) \(raw.itemIds[Int(raw.item[$0])]) \(raw.rating[$0])" }.sorted()
    }

    func testParquetRatingsFromPyarrowAndSpark() throws {
        let facts = try XCTUnwrap(try ParquetFixtures.expected()["ratings"] as? [String: Any])
        let file = try DatasetLoader.loadRaw(path: ParquetFixtures.path("pyarrow/ratings.parquet"))
        XCTAssertEqual(file.format, .parquet)
        XCTAssertEqual(file.name, "ratings")
        XCTAssertEqual(file.count, facts["rows"] as? Int)
        XCTAssertEqual(file.userIds.count, facts["users"] as? Int)
        XCTAssertEqual(file.itemIds.count, facts["items"] as? Int)
        XCTAssertEqual(file.rating.reduce(0, +), Float(try XCTUnwrap(facts["rating_sum"] as? Double)))
        let first = try XCTUnwrap(facts["first"] as? [Double]), last = try XCTUnwrap(facts["last"] as? [Double])
        XCTAssertEqual([file.userIds[Int(file.user[0])], file.itemIds[Int(file.item[0])], String(file.rating[0])],
                       [String(Int(first[0])), String(Int(first[1])), String(Float(first[2]))])
        let n = file.count - 1
        XCTAssertEqual([file.userIds[Int(file.user[n])], file.itemIds[Int(file.item[n])], String(file.rating[n])],
                       [String(Int(last[0])), String(Int(last[1])), String(Float(last[2]))])
        XCTAssertEqual(file.timestamp[0], 1_600_000_000 + 3600 * 1, "user 1's second item (the first was not rated)")

        // Spark's two part files hold the same ratings, in shuffled order.
        let folder = try DatasetLoader.loadRaw(path: ParquetFixtures.path("spark/ratings"))
        XCTAssertEqual(folder.format, .parquet)
        XCTAssertEqual(folder.sources.count, 2)
        XCTAssertEqual(triples(folder), triples(file))
        let keyed = try Ratings(folder, itemKey: .id)
        XCTAssertEqual(keyed.users.count, 31, "30 users and fastai's #na#")
    }

    func testParquetRatingsColumnsByNameOrByColumnsOption() throws {
        let path = ParquetFixtures.path("pyarrow/ratings_other_names.parquet")
        // customer is a user synonym and stars a rating one; sku is not an item name.
        XCTAssertThrowsError(try DatasetLoader.loadRaw(path: path)) { error in
            XCTAssertTrue((error as? EmbtoolError)?.message.contains("include no item column") == true, "\(error)")
        }
        let raw = try DatasetLoader.loadRaw(path: path, columns: try RatingsLayout.columns(from: "user,-,item,rating"))
        XCTAssertEqual(triples(raw), triples(try DatasetLoader.loadRaw(path: ParquetFixtures.path("pyarrow/ratings.parquet"))),
                       "int64 users, int32 items and int32 stars read as the int32/int64/double file")
        // A string id column cannot be a rating.
        assertDataError(try DatasetLoader.loadRaw(path: path, columns: try RatingsLayout.columns(from: "user,rating,item")), "not numeric")
    }

    func testNullRatingIsAnError() throws {
        // i32 of the types file has nulls; read it as the rating column.
        assertDataError(try DatasetLoader.loadRaw(path: ParquetFixtures.path("pyarrow/types_snappy_dict_v1.parquet"),
                                                  columns: try RatingsLayout.columns(from: "rating,user,item")), "rating (i32) is null")
    }

    // MARK: Hostile files

    func testHandMadeFileReads() throws {
        XCTAssertEqual(try HandMadeParquet().read().values, .int32([7, 8, 9]), "the builder makes a valid file")
    }

    func testHostileFilesFailWithOneLine() throws {
        var h = HandMadeParquet()
        h.pageNumValues = 1 << 30
        h.chunkNumValues = 1 << 30
        assertDataError(try h.read(), "claims more values than a file of this size can hold")
        h = HandMadeParquet(); h.pageNumValues = 4
        assertDataError(try h.read(), "4 values, more than the 3")
        h = HandMadeParquet(); h.pageNumValues = 1 << 20; h.chunkNumValues = 1 << 20
        assertDataError(try h.read(), "PLAIN values need")
        h = HandMadeParquet(); h.dataPageOffset = 1 << 40
        assertDataError(try h.read(), "lies outside the file")
        h = HandMadeParquet(); h.compressedSize = 1 << 30
        assertDataError(try h.read(), "runs past its column chunk")
        h = HandMadeParquet(); h.uncompressedSize = 1 << 30
        assertDataError(try h.read(), "page claims 1073741824 bytes")
        h = HandMadeParquet(); h.codec = 4
        assertDataError(try h.read(), "codec BROTLI not supported")
        h = HandMadeParquet(); h.codec = 77
        assertDataError(try h.read(), "unknown compression codec 77")
        h = HandMadeParquet(); h.nesting = 100
        assertDataError(try h.read(), "nested deeper than 32 levels")
        // Snappy: length 12, a 4-byte literal, then a copy reaching 5 bytes back (only 4 exist).
        h = HandMadeParquet(); h.codec = 1
        h.pageBody = [12, 3 << 2, 7, 0, 0, 0, (4 << 2) | 2, 5, 0]
        h.uncompressedSize = 12
        assertDataError(try h.read(), "corrupt Snappy data (copy offset 5 at output byte 4)")
        h.pageBody = [12, 3 << 2, 7, 0, 0, 0, (7 << 2) | 2, 4, 0]   // copy of 8: within bounds
        XCTAssertEqual(try h.read().values, .int32([7, 7, 7]))
        h.pageBody = [12, 3 << 2, 7, 0, 0, 0, (7 << 2) | 2, 0, 0]   // offset 0
        assertDataError(try h.read(), "copy offset 0")
        h.pageBody = [12, 63 << 2, 0xFF]                              // a 4-byte literal length, 1 byte left
        assertDataError(try h.read(), "truncated literal length")
    }

    func testDamagedFixturesFailWithOneLine() throws {
        let good = try ParquetFixtures.bytes("pyarrow/ratings.parquet")
        func read(_ bytes: [UInt8]) throws {
            let file = try ParquetFile(data: Data(bytes), name: "damaged.parquet")
            for leaf in file.leaves { _ = try file.read(leaf) }
        }
        XCTAssertNoThrow(try read(good))
        assertDataError(try read(Array(good.dropLast(1))), "no PAR1 at the end")
        assertDataError(try read(Array(good.prefix(8))), "not a Parquet file")
        var long = good
        long.replaceSubrange((good.count - 8)..<(good.count - 4), with: [0xFF, 0xFF, 0xFF, 0x7F])
        assertDataError(try read(long), "footer of 2147483647 bytes is longer than the file")
        // The footer cut short (its last 20 bytes gone, the length adjusted): Thrift runs out.
        let footerLength = Int(good[good.count - 8]) | Int(good[good.count - 7]) << 8 | Int(good[good.count - 6]) << 16
        let cut = Array(good[..<(good.count - 28)]) + withUnsafeBytes(of: UInt32(footerLength - 20).littleEndian) { Array($0) } + Array("PAR1".utf8)
        assertDataError(try read(cut), "corrupt Thrift metadata")
        // A flipped byte every 7 bytes, one at a time: a read or a one-line data error, never a trap.
        for cut in stride(from: 4, to: good.count - 8, by: 7) {
            var damaged = good
            damaged[cut] ^= 0x5A
            do { try read(damaged) } catch let e as EmbtoolError {
                XCTAssertEqual(e.kind, .dataError, e.message)
                XCTAssertFalse(e.message.contains("\n"))
            }
        }
    }

    // MARK: Parts alone

    func testThriftDepthAndLengths() throws {
        let deep = [UInt8](repeating: 0x1C, count: 200) + [UInt8](repeating: 0, count: 201)   // struct field in struct field ...
        try deep.withUnsafeBufferPointer { bytes in
            var r = ThriftCompact(bytes, name: "deep")
            assertDataError(try r.structure { r, _, t in try r.skip(t) }, "nested deeper than 32 levels")
        }
        let longString: [UInt8] = [0x18, 0xFF, 0xFF, 0x03, 0x41, 0]   // field 1, binary of 65535 bytes
        try longString.withUnsafeBufferPointer { bytes in
            var r = ThriftCompact(bytes, name: "long")
            assertDataError(try r.structure { r, _, t in try r.skip(t) }, "string of 65535 bytes past the end")
        }
        let bigList: [UInt8] = [0x19, 0xF5, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0]   // field 1, list of 2^32-1 i32
        try bigList.withUnsafeBufferPointer { bytes in
            var r = ThriftCompact(bytes, name: "list")
            assertDataError(try r.structure { r, _, t in _ = try r.list(t) { r, t in try r.i32(t) } }, "past the end")
        }
    }

    /// The specification's example: bit width 3, values 0...7 bit-packed in one group.
    func testRLEHybridSpecificationExample() throws {
        let packed: [UInt8] = [0x03, 0b1000_1000, 0b1100_0110, 0b1111_1010]   // header: 1 group, bit-packed
        let rle: [UInt8] = [0x0A, 0x05]                                           // 5 copies of 5
        var out = [Int32](repeating: -1, count: 13)
        try (packed + rle).withUnsafeBufferPointer { bytes in
            var h = try RLEHybrid(bytes, width: 3, name: "spec")
            try out.withUnsafeMutableBufferPointer { try h.decode(count: 13, into: $0) }
        }
        XCTAssertEqual(out, [0, 1, 2, 3, 4, 5, 6, 7, 5, 5, 5, 5, 5])
        try packed.withUnsafeBufferPointer { bytes in
            var h = try RLEHybrid(bytes, width: 3, name: "spec")
            var more = [Int32](repeating: 0, count: 9)
            assertDataError(try more.withUnsafeMutableBufferPointer { try h.decode(count: 9, into: $0) }, "truncated run header")
        }
    }

    /// Snappy against a stream written by hand from the format description.
    func testSnappyLiteralsAndOverlappingCopies() throws {
        // "abcd" then copy 8 from offset 4 (overlapping: "abcdabcd"), then "xyz".
        let stream: [UInt8] = [15, 3 << 2, 0x61, 0x62, 0x63, 0x64, (7 << 2) | 2, 4, 0, 2 << 2, 0x78, 0x79, 0x7A]
        let out = try stream.withUnsafeBufferPointer { try Snappy.decompress($0, expectedLength: 15, name: "s") }
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "abcdabcdabcdxyz")
        try stream.withUnsafeBufferPointer { bytes in
            assertDataError(try Snappy.decompress(bytes, expectedLength: 16, name: "s"), "declares 15 bytes, the page header 16")
            assertDataError(try Snappy.decompress(UnsafeBufferPointer(rebasing: bytes[0..<8]), expectedLength: 15, name: "s"), "truncated copy")
        }
    }
}

/// The CLI on the Spark fixtures: `--data` a folder of part files, `--model` a saved ALSModel.
final class ParquetCLITests: XCTestCase {
    func testDataAndSimilarOnSparkFolders() throws {
        let home = try TestData.scratch(self)
        let facts = try XCTUnwrap(try ParquetFixtures.expected()["ratings"] as? [String: Any])
        let data = try EmbtoolCLI.run(["data", "--data", ParquetFixtures.path("spark/ratings"), "--json"], home: home)
        XCTAssertEqual(data.status, 0, data.stderr)
        let summary = try data.json()
        XCTAssertEqual(summary["format"] as? String, "parquet")
        XCTAssertEqual(summary["ratings"] as? Int, facts["rows"] as? Int)
        XCTAssertEqual(summary["users"] as? Int, facts["users"] as? Int)
        XCTAssertEqual(summary["items"] as? Int, facts["items"] as? Int)

        let spark = try XCTUnwrap(try ParquetFixtures.expected()["spark"] as? [String: Any])
        let neighbours = try XCTUnwrap(spark["neighbours"] as? [String: [String: [Double]]])
        let (query, expected) = try XCTUnwrap(neighbours.min { $0.key < $1.key })
        let similar = try EmbtoolCLI.run(["similar", query, "--model", ParquetFixtures.path("spark/als_model"), "--top", "5", "--json"], home: home)
        XCTAssertEqual(similar.status, 0, similar.stderr)
        let list = try XCTUnwrap(try similar.json()["neighbours"] as? [[String: Any]])
        XCTAssertEqual(list.compactMap { $0["label"] as? String }, try XCTUnwrap(expected["ids"]).map { String(Int($0)) }, "NumPy's neighbours of \(query)")
        for (n, cosine) in zip(list, try XCTUnwrap(expected["cosine"])) {
            XCTAssertEqual(try XCTUnwrap(n["similarity"] as? Double), cosine, accuracy: 1e-4)
        }
    }

    func testZstdRatingsExitWithOneLine() throws {
        let home = try TestData.scratch(self)
        let r = try EmbtoolCLI.run(["data", "--data", ParquetFixtures.path("pyarrow/types_zstd.parquet"), "--columns", "user,item,rating"], home: home)
        XCTAssertEqual(r.status, 65)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("codec ZSTD not supported; rewrite with snappy or gzip"), r.stderr)
        XCTAssertEqual(r.stdout, "")
    }
}
