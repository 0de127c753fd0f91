@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingLinalg
@testable import EmbeddingTrain
@testable import EmbeddingAnalysis
@testable import EmbeddingRender
import Foundation
import XCTest

final class DataFetchTests: XCTestCase {
    /// A fetcher into a scratch EMBTOOL_HOME that only tries the mirror (no network in
    /// unit tests), expecting `d`'s counts and checksum.
    func fetcher(_ d: LayoutDataset, home: String, mirror: String,
                 events: @escaping (MovieLensFetch.Event) -> Void = { _ in }) -> MovieLensFetch {
        var f = MovieLensFetch(home: home, mirror: mirror, report: events)
        f.sources = [.mirror]
        f.expected = d.expected
        return f
    }

    func testFetchFromMirrorInstallsAVerifiedCopy() throws { try checkFetchFromMirror(.ml100k()) }
    func testFetchOfSyntheticMirrorInstallsAVerifiedCopy() throws { try checkFetchFromMirror(.synthetic()) }

    func checkFetchFromMirror(_ d: LayoutDataset) throws {
        let home = try TestData.scratch(self)
        let mirror = d.folder
        let result = try fetcher(d, home: home, mirror: mirror).fetch()
        XCTAssertEqual(result.source, .mirror)
        XCTAssertEqual(result.folder, home + "/datasets/ml-100k")
        for name in ["u.data", "u.item", "u.genre"] {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: result.folder + "/" + name)),
                           try Data(contentsOf: URL(fileURLWithPath: mirror + "/" + name)), name)
        }
        XCTAssertEqual(result.ratings, d.ratings)
        XCTAssertEqual(result.items, d.items)
        XCTAssertEqual(result.sha256, d.dataSHA256)
        // Nothing else is left in the datasets folder (no staging copies).
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: home + "/datasets"), ["ml-100k"])
        // A second fetch finds the verified cache and does not copy again.
        let again = try fetcher(d, home: home, mirror: "/nonexistent").fetch()
        XCTAssertNil(again.source)
    }

    func testCorruptedMirrorIsRejectedAndLeavesNoCache() throws { try checkCorruptedMirror(.ml100k()) }
    func testCorruptedSyntheticMirrorIsRejectedAndLeavesNoCache() throws { try checkCorruptedMirror(.synthetic()) }

    func checkCorruptedMirror(_ d: LayoutDataset) throws {
        let home = try TestData.scratch(self)
        let mirror = try TestData.scratch(self)
        let source = d.folder
        for name in ["u.item", "u.genre"] {
            try FileManager.default.copyItem(atPath: source + "/" + name, toPath: mirror + "/" + name)
        }
        var data = try Data(contentsOf: URL(fileURLWithPath: source + "/u.data"))
        let digit = try XCTUnwrap(data[1000...].firstIndex { (0x30...0x39).contains($0) })
        data[digit] = data[digit] == UInt8(ascii: "1") ? UInt8(ascii: "2") : UInt8(ascii: "1")  // one digit off
        try data.write(to: URL(fileURLWithPath: mirror + "/u.data"))
        var failures: [String] = []
        let f = fetcher(d, home: home, mirror: mirror) { event in
            if case .failed(let source, let message) = event { failures.append("\(source.rawValue): \(message)") }
        }
        assertEmbtoolError(.unavailable, ["every source failed", "mirror"]) { try f.fetch() }
        XCTAssertEqual(failures.count, 1)
        XCTAssertTrue(failures[0].contains("sha256"), failures[0])
        XCTAssertFalse(failures[0].contains("\n"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: home + "/datasets/ml-100k"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: home + "/datasets"), [])
    }

    func testMirrorWithoutData() throws {
        let home = try TestData.scratch(self), mirror = try TestData.scratch(self)
        var failures: [String] = []
        let f = fetcher(try .synthetic(), home: home, mirror: mirror) { if case .failed(_, let m) = $0 { failures.append(m) } }
        assertEmbtoolError(.unavailable, ["ml-100k"]) { try f.fetch() }
        XCTAssertEqual(failures, ["\(mirror): no u.data, ml-100k/u.data or ml-100k.zip"])
    }

    /// RecBole's atomic files back to GroupLens' layout, on a fixture whose expected
    /// output is written out by hand from the u.item format (id|title|date|video|url|19 flags).
    func testRecBoleConversionWritesGroupLensFiles() throws {
        let dir = try TestData.scratch(self)
        try TestData.write("""
            user_id:token\titem_id:token\trating:float\ttimestamp:float
            196\t242\t3\t881250949
            186\t302\t3.0\t891717742
            22\t1412\t1\t878887116

            """, to: dir + "/ml-100k.inter")
        try TestData.write("""
            item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq
            242\tKolya\t1996\tComedy
            302\tL.A. Confidential\t1997\tCrime Film-Noir Mystery Thriller
            267\tunkonwn\tunkonwn\tunknown
            1412\tLand Before Time III: The Time of the Great Giving (1995)\tV\tAnimation Children's
            1633\tÁ köldum klaka (Cold Fever)\t1994\tComedy Drama

            """, to: dir + "/ml-100k.item")
        try TestData.write("user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n1\t24\tM\ttechnician\t85711\n",
                           to: dir + "/ml-100k.user")
        let out = dir + "/gl"
        try RecBoleAtomic.writeGroupLens100k(from: dir + "/ml-100k", to: out)

        XCTAssertEqual(try String(contentsOfFile: out + "/u.data", encoding: .utf8),
                       "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t1412\t1\t878887116\n")
        func flags(_ on: [Int]) -> String { (0..<19).map { on.contains($0) ? "1" : "0" }.joined(separator: "|") }
        let expectedItems = """
            242|Kolya (1996)|01-Jan-1996|||\(flags([5]))
            302|L.A. Confidential (1997)|01-Jan-1997|||\(flags([6, 10, 13, 16]))
            267|unknown||||\(flags([0]))
            1412|Land Before Time III: The Time of the Great Giving (1995) (V)||||\(flags([3, 4]))
            1633|Á köldum klaka (Cold Fever) (1994)|01-Jan-1994|||\(flags([5, 8]))

            """
        let itemBytes = try Data(contentsOf: URL(fileURLWithPath: out + "/u.item"))
        XCTAssertEqual(itemBytes, expectedItems.data(using: .isoLatin1), "Latin-1, as GroupLens ships it")
        XCTAssertEqual(try String(contentsOfFile: out + "/u.user", encoding: .utf8), "1|24|M|technician|85711\n")
        let genres = try String(contentsOfFile: out + "/u.genre", encoding: .utf8)
        XCTAssertTrue(genres.hasPrefix("unknown|0\nAction|1\n"))
        XCTAssertTrue(genres.hasSuffix("War|17\nWestern|18\n"))
        // And the converted folder loads as ml-100k, titles intact.
        let raw = try DatasetLoader.loadRaw(path: out)
        XCTAssertEqual(raw.catalog["1633"]?.title, "Á köldum klaka (Cold Fever) (1994)")
        XCTAssertEqual(raw.catalog["302"]?.genres, ["Crime", "Film-Noir", "Mystery", "Thriller"])
    }

    /// The shared copy was itself rebuilt from RecBole's files: going GroupLens -> RecBole
    /// (written here from the shared files) -> GroupLens must give the same bytes.
    func testConversionRoundTripsTheSharedCopy() throws {
        let dir = try checkConversionRoundTrips(.ml100k())
        XCTAssertEqual(try sha256(ofFile: dir + "/gl/u.item"), MovieLensFetch.convertedItemSHA256)
    }

    /// The synthetic set's u.item is written as the conversion writes it (dates
    /// `01-Jan-YEAR`), with Latin-1, a comma, quotes and an "unknown" film.
    func testConversionRoundTripsTheSyntheticCopy() throws { _ = try checkConversionRoundTrips(.synthetic()) }

    /// GroupLens -> RecBole atomic files -> GroupLens; returns the scratch folder (`gl/` holds the result).
    func checkConversionRoundTrips(_ d: LayoutDataset) throws -> String {
        let source = d.folder
        let dir = try TestData.scratch(self)
        let data = try String(contentsOfFile: source + "/u.data", encoding: .utf8)
        try TestData.write("user_id:token\titem_id:token\trating:float\ttimestamp:float\n" + data, to: dir + "/ml-100k.inter")
        let itemText = try XCTUnwrap(String(data: Data(contentsOf: URL(fileURLWithPath: source + "/u.item")), encoding: .isoLatin1))
        var atomic = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        for line in itemText.split(separator: "\n") {
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            let genres = zip(MovieLens100k.genres, f[5...]).filter { $1 == "1" }.map(\.0).joined(separator: " ")
            // Split "Title (YEAR)" back into RecBole's title and year columns.
            var title = f[1], year = "unkonwn"
            if f[1] == "unknown" { title = "unkonwn" } else if let open = f[1].range(of: " (", options: .backwards) {
                title = String(f[1][..<open.lowerBound])
                year = String(f[1][open.upperBound...].dropLast())
            }
            atomic += "\(f[0])\t\(title)\t\(year)\t\(genres)\n"
        }
        try TestData.write(atomic, to: dir + "/ml-100k.item")
        try RecBoleAtomic.writeGroupLens100k(from: dir + "/ml-100k", to: dir + "/gl")
        for name in ["u.data", "u.item"] {
            XCTAssertEqual(try sha256(ofFile: dir + "/gl/" + name), try sha256(ofFile: source + "/" + name), name)
        }
        return dir
    }
}
