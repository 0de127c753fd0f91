@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingLinalg
@testable import EmbeddingTrain
@testable import EmbeddingAnalysis
@testable import EmbeddingRender
import Foundation
import XCTest

/// Asserts that `body` throws an EmbtoolError of `kind` whose one-line message contains every string in `parts`.
func assertEmbtoolError<T>(_ kind: EmbtoolError.Kind, _ parts: [String], file: StaticString = #filePath, line: UInt = #line,
                           _ body: () throws -> T) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
        guard let e = error as? EmbtoolError else { return XCTFail("not an EmbtoolError: \(error)", file: file, line: line) }
        XCTAssertEqual(e.kind, kind, e.message, file: file, line: line)
        XCTAssertFalse(e.message.contains("\n"), "one line: \(e.message)", file: file, line: line)
        for part in parts { XCTAssertTrue(e.message.contains(part), "'\(e.message)' lacks '\(part)'", file: file, line: line) }
    }
}

final class DataLoaderTests: XCTestCase {
    // MARK: MovieLens 100k, checked against the files read independently

    func testMovieLens100kCountsMatchTheFiles() throws { try checkCountsMatchTheFiles(.ml100k()) }
    func testSyntheticCountsMatchTheFiles() throws { try checkCountsMatchTheFiles(.synthetic()) }

    func checkCountsMatchTheFiles(_ d: LayoutDataset) throws {
        let folder = d.folder
        // Independent reading: Foundation string splitting, no embtool parser.
        let lines = try String(contentsOfFile: folder + "/u.data", encoding: .utf8).split(separator: "\n")
        let rows = lines.map { $0.split(separator: "\t") }
        let itemText = try XCTUnwrap(String(data: Data(contentsOf: URL(fileURLWithPath: folder + "/u.item")), encoding: .isoLatin1))
        let titleOf = Dictionary(uniqueKeysWithValues: itemText.split(separator: "\n").map { l -> (String, String) in
            let f = l.split(separator: "|", omittingEmptySubsequences: false)
            return (String(f[0]), String(f[1]))
        })
        let users = Set(rows.map { $0[0] }), items = Set(rows.map { $0[1] })
        let titles = Set(items.map { titleOf[String($0)]! })

        let byTitle = try DatasetLoader.load(path: folder, itemKey: .title)
        XCTAssertEqual(byTitle.count, rows.count)
        XCTAssertEqual(byTitle.users.count, users.count + 1)
        XCTAssertEqual(byTitle.items.count, titles.count + 1)
        // Row k of the table is line k of the file.
        for k in [0, 1, rows.count / 2 + 321, rows.count - 1] {
            XCTAssertEqual(byTitle.users[Int(byTitle.user[k])], String(rows[k][0]))
            XCTAssertEqual(byTitle.items[Int(byTitle.item[k])], titleOf[String(rows[k][1])])
            XCTAssertEqual(byTitle.rating[k], Float(String(rows[k][2])))
            XCTAssertEqual(byTitle.timestamp[k], Int64(String(rows[k][3])))
        }
        // The published (or generator's) facts.
        XCTAssertEqual(byTitle.count, d.ratings)
        XCTAssertEqual(byTitle.users.count, d.vocabUsers)
        XCTAssertEqual(byTitle.items.count, d.vocabItemsByTitle)
        let byId = try DatasetLoader.load(path: folder, itemKey: .id)
        XCTAssertEqual(byId.items.count, items.count + 1)
        XCTAssertEqual(byId.items.labels.dropFirst().map { Int($0)! }, items.map { Int($0)! }.sorted())
    }

    func testFastAndGeneralPathsAgreeOnMovieLens() throws { try checkFastAndGeneralPathsAgree(.ml100k()) }
    func testFastAndGeneralPathsAgreeOnSyntheticData() throws { try checkFastAndGeneralPathsAgree(.synthetic()) }

    func checkFastAndGeneralPathsAgree(_ d: LayoutDataset) throws {
        let file = try MappedFile(d.folder + "/u.data")
        let parser = RatingsParser(file: file, layout: MovieLens100k.layout, dataStart: 0, encoding: .utf8)
        let fast = try XCTUnwrap(parser.readFast())
        var general = RawRatings()
        try parser.readGeneral(into: &general)
        XCTAssertEqual(fast.rating, general.rating)
        XCTAssertEqual(fast.timestamp, general.timestamp)
        // Index spaces differ (sorted vs first seen); the ids per row must not.
        XCTAssertEqual(fast.user.map { fast.userIds[Int($0)] }, general.user.map { general.userIds[Int($0)] })
        XCTAssertEqual(fast.item.map { fast.itemIds[Int($0)] }, general.item.map { general.itemIds[Int($0)] })
    }

    // MARK: Fixtures per format

    func testMovieLens100kLatin1TitlesGenresAndYears() throws {
        let dir = try TestData.scratch(self)
        try TestData.write("1\t10\t4\t881250949\n2\t20\t5\t881250950\r\n1\t20\t3\t881250951\n", to: dir + "/u.data")
        let flags10 = (0..<19).map { $0 == 5 || $0 == 14 ? "1" : "0" }.joined(separator: "|")
        let flags20 = (0..<19).map { $0 == 8 ? "1" : "0" }.joined(separator: "|")
        try TestData.write("10|Amélie (2001)|01-Jan-2001|||\(flags10)\n20|Misérables, Les (1995)||||\(flags20)\n",
                           to: dir + "/u.item", encoding: .isoLatin1)
        let r = try DatasetLoader.load(path: dir, itemKey: .title)
        XCTAssertEqual(r.items.labels, ["#na#", "Amélie (2001)", "Misérables, Les (1995)"])
        let raw = try DatasetLoader.loadRaw(path: dir)
        XCTAssertEqual(raw.format, .ml100k)
        XCTAssertEqual(raw.catalog["10"], ItemMeta(title: "Amélie (2001)", genres: ["Comedy", "Romance"], year: 2001))
        XCTAssertEqual(raw.catalog["20"]?.genres, ["Drama"])
        XCTAssertEqual(raw.catalog["20"]?.year, 1995, "year from the title when the date is blank")
        XCTAssertEqual(r.rating, [4, 5, 3])
    }

    func testMovieLens1m() throws {
        let dir = try TestData.scratch(self)
        try TestData.write("1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n", to: dir + "/ratings.dat")
        try TestData.write("661::James and the Giant Peach (1996)::Animation|Children's|Musical\n1193::Être et avoir (2002)::Documentary\n",
                           to: dir + "/movies.dat", encoding: .isoLatin1)
        let raw = try DatasetLoader.loadRaw(path: dir)
        XCTAssertEqual(raw.format, .ml1m)
        XCTAssertEqual(raw.name, (dir as NSString).lastPathComponent)
        XCTAssertEqual(raw.catalog["1193"]?.title, "Être et avoir (2002)")
        XCTAssertEqual(raw.catalog["661"]?.genres, ["Animation", "Children's", "Musical"])
        let r = try Ratings(raw, itemKey: .title)
        XCTAssertEqual(r.items.labels, ["#na#", "James and the Giant Peach (1996)", "Être et avoir (2002)"])
        XCTAssertEqual(r.item.map { r.items[Int($0)] }, ["Être et avoir (2002)", "James and the Giant Peach (1996)", "Être et avoir (2002)"])
    }

    func testMovieLensLatestQuotedTitles() throws {
        let dir = try TestData.scratch(self)
        try TestData.write("userId,movieId,rating,timestamp\n1,11,4.5,1147880044\n1,2,0.5,1147868817\n3,11,3.0,1147868828\n", to: dir + "/ratings.csv")
        try TestData.write("""
            movieId,title,genres
            2,"Jumanji, The ""Game"" (1995)",Adventure|Children|Fantasy
            11,"American President, The (1995)",Comedy|Drama|Romance
            12,Nothing Rated (2000),(no genres listed)

            """, to: dir + "/movies.csv")
        let raw = try DatasetLoader.loadRaw(path: dir)
        XCTAssertEqual(raw.format, .mlLatest)
        XCTAssertEqual(raw.catalog["11"]?.title, "American President, The (1995)")
        XCTAssertEqual(raw.catalog["2"]?.title, "Jumanji, The \"Game\" (1995)")
        XCTAssertEqual(raw.catalog["12"]?.genres, [])
        XCTAssertEqual(raw.rating, [4.5, 0.5, 3.0])
        // The file alone is recognised by its header, and finds movies.csv beside it.
        let viaFile = try DatasetLoader.load(path: dir + "/ratings.csv", itemKey: .title)
        XCTAssertEqual(viaFile.itemKey, .title)
        XCTAssertEqual(viaFile.items.labels, ["#na#", "American President, The (1995)", "Jumanji, The \"Game\" (1995)"])
    }

    func testCSVWithoutHeaderKeysByIdAndKeepsTokens() throws {
        let dir = try TestData.scratch(self)
        try TestData.write("alice,Matrix,5\nbob,Matrix,3.5\nalice,Alien,4\n", to: dir + "/r.csv")
        let r = try DatasetLoader.load(path: dir + "/r.csv", itemKey: .title)
        XCTAssertEqual(r.itemKey, .id, "no titles: keyed by id")
        XCTAssertEqual(r.users.labels, ["#na#", "alice", "bob"])
        XCTAssertEqual(r.items.labels, ["#na#", "Alien", "Matrix"])
        XCTAssertEqual(r.rating, [5, 3.5, 4])
        XCTAssertEqual(r.timestamp, [0, 0, 0])
    }

    func testCSVWithHeaderInAnyOrder() throws {
        let dir = try TestData.scratch(self)
        try TestData.write("\u{FEFF}movie_id;stars;user_id;when\n7;4;100;5\n8;2;200;6\n", to: dir + "/r.txt")
        let raw = try DatasetLoader.loadRaw(path: dir + "/r.txt")
        XCTAssertEqual(raw.user.map { raw.userIds[Int($0)] }, ["100", "200"])
        XCTAssertEqual(raw.item.map { raw.itemIds[Int($0)] }, ["7", "8"])
        XCTAssertEqual(raw.rating, [4, 2])
        XCTAssertEqual(raw.timestamp, [0, 0], "'when' is not a timestamp name; it is skipped")
    }

    func testColumnsOptionNamesAndReorders() throws {
        let dir = try TestData.scratch(self)
        try TestData.write("10\t3.5\t1\t99\n20\t4\t2\t98\n", to: dir + "/r.tsv")
        let columns = try RatingsLayout.columns(from: "item,rating,user,timestamp")
        let raw = try DatasetLoader.loadRaw(path: dir + "/r.tsv", columns: columns)
        XCTAssertEqual(raw.format, .tsv)
        XCTAssertEqual(raw.user.map { raw.userIds[Int($0)] }, ["1", "2"])
        XCTAssertEqual(raw.item.map { raw.itemIds[Int($0)] }, ["10", "20"])
        XCTAssertEqual(raw.rating, [3.5, 4])
        XCTAssertEqual(raw.timestamp, [99, 98])
        // A skipped column, and a header that --columns overrides.
        try TestData.write("a,b,c,d\n1,x,2,5\n", to: dir + "/h.csv")
        let skipped = try DatasetLoader.loadRaw(path: dir + "/h.csv", columns: RatingsLayout.columns(from: "user,-,item,rating"))
        XCTAssertEqual(skipped.itemIds, ["2"])
        XCTAssertEqual(skipped.rating, [5])
        assertEmbtoolError(.usage, ["rating"]) { try RatingsLayout.columns(from: "user,item") }
        assertEmbtoolError(.usage, ["twice"]) { try RatingsLayout.columns(from: "user,item,rating,user") }
        // --columns names the columns of a generic CSV/TSV, not of a known layout.
        try TestData.write("1\t10\t4\t881250949\n", to: dir + "/ml/u.data")
        assertEmbtoolError(.usage, ["generic CSV/TSV"]) { try DatasetLoader.loadRaw(path: dir + "/ml", columns: columns) }
    }

    func testRecBoleAtomicFiles() throws {
        let dir = try TestData.scratch(self)
        try TestData.write("user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t1412\t4\t881250950.0\n",
                           to: dir + "/toy.inter")
        try TestData.write("""
            item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq
            242\tKolya\t1996\tComedy
            302\tL.A. Confidential\t1997\tCrime Film-Noir Mystery Thriller
            1412\tLand Before Time III: The Time of the Great Giving (1995)\tV\tAnimation Children's
            267\tunkonwn\tunkonwn\tunknown

            """, to: dir + "/toy.item")
        let raw = try DatasetLoader.loadRaw(path: dir)
        XCTAssertEqual(raw.format, .recbole)
        XCTAssertEqual(raw.name, "toy")
        XCTAssertEqual(raw.catalog["242"], ItemMeta(title: "Kolya (1996)", genres: ["Comedy"], year: 1996))
        XCTAssertEqual(raw.catalog["302"]?.genres, ["Crime", "Film-Noir", "Mystery", "Thriller"])
        XCTAssertEqual(raw.catalog["1412"]?.title, "Land Before Time III: The Time of the Great Giving (1995) (V)")
        XCTAssertEqual(raw.catalog["267"]?.title, "unknown")
        XCTAssertEqual(raw.timestamp, [881250949, 891717742, 881250950])
        let r = try Ratings(raw, itemKey: .title)
        XCTAssertEqual(r.users.labels, ["#na#", "186", "196"])
        XCTAssertEqual(r.items.count, 4)
    }

    // MARK: Bad input: one line, the file and the line, the right exit code

    func testBadInputNamesFileAndLine() throws {
        let dir = try TestData.scratch(self)
        assertEmbtoolError(.noInput, [dir + "/nope"]) { try DatasetLoader.load(path: dir + "/nope") }
        try FileManager.default.createDirectory(atPath: dir + "/empty-folder", withIntermediateDirectories: true)
        assertEmbtoolError(.noInput, ["no ratings file"]) { try DatasetLoader.load(path: dir + "/empty-folder") }

        try TestData.write("", to: dir + "/e/u.data")
        assertEmbtoolError(.dataError, [dir + "/e/u.data", "empty"]) { try DatasetLoader.load(path: dir + "/e") }

        try TestData.write("1\t10\t4\t1\n\n2\t10\tfive\t2\n", to: dir + "/n/u.data")
        assertEmbtoolError(.dataError, [dir + "/n/u.data:3:", "'five'", "not a number"]) { try DatasetLoader.load(path: dir + "/n") }

        try TestData.write("1\t10\t4\t1\n2\t10\n", to: dir + "/f/u.data")
        assertEmbtoolError(.dataError, [dir + "/f/u.data:2:", "expected 4 fields", "found 2"]) { try DatasetLoader.load(path: dir + "/f") }

        try TestData.write("1\t10\t4\t1\n2\t10\t4\tlate\n", to: dir + "/t/u.data")
        assertEmbtoolError(.dataError, ["u.data:2:", "timestamp 'late'"]) { try DatasetLoader.load(path: dir + "/t") }

        try TestData.write("1\t10\t4\t1\n2\t11\t4\t1\n3\t12\t4\t1\n", to: dir + "/i/u.data")
        try TestData.write("10|Ten (1990)|||\n12|Twelve (1992)|||\n", to: dir + "/i/u.item")
        assertEmbtoolError(.dataError, [dir + "/i/u.data:2:", "item 11", "u.item"]) { try DatasetLoader.load(path: dir + "/i") }

        try TestData.write("userId,movieId,rating,timestamp\n", to: dir + "/h/ratings.csv")
        assertEmbtoolError(.dataError, ["ratings.csv", "no ratings"]) { try DatasetLoader.load(path: dir + "/h") }

        try TestData.write("userId,movieId,rating,timestamp\n1,2,3,4\n", to: dir + "/q/ratings.csv")
        try TestData.write("movieId,title,genres\n2,\"Open (1990),Drama\n", to: dir + "/q/movies.csv")
        assertEmbtoolError(.dataError, [dir + "/q/movies.csv:2:", "quoted"]) { try DatasetLoader.load(path: dir + "/q") }

        try TestData.write("1::2::x::4\n", to: dir + "/m/ratings.dat")
        assertEmbtoolError(.dataError, ["ratings.dat:1:", "'x'"]) { try DatasetLoader.load(path: dir + "/m") }

        try TestData.write("a,b,c\n1,2,3\n", to: dir + "/c.csv")
        assertEmbtoolError(.dataError, ["c.csv:1:", "header", "names no"]) { try DatasetLoader.load(path: dir + "/c.csv") }
    }

    /// A file large enough to be cut into many chunks parsed in parallel: rows
    /// stay in file order across blank lines, and an error deep inside reports
    /// its exact line.
    func testParallelChunksKeepOrderAndLineNumbers() throws {
        let dir = try TestData.scratch(self)
        var text = "userId,movieId,rating,timestamp\n"
        var expected: [(Int, Int, Float)] = []
        var rng = SplitMix64(seed: 5)
        for k in 0..<120_000 {
            let u = Int(rng.next() % 5000), i = Int(rng.next() % 3000) + 1, r = Float(rng.next() % 10 + 1) / 2
            text += "\(u),\(i),\(r),\(1_000_000 + k)\n"
            if k % 9973 == 0 { text += "\n" }
            expected.append((u, i, r))
        }
        try TestData.write(text, to: dir + "/big.csv")
        let raw = try DatasetLoader.loadRaw(path: dir + "/big.csv")
        XCTAssertEqual(raw.count, expected.count)
        XCTAssertEqual(raw.user.map { Int(raw.userIds[Int($0)])! }, expected.map(\.0))
        XCTAssertEqual(raw.item.map { Int(raw.itemIds[Int($0)])! }, expected.map(\.1))
        XCTAssertEqual(raw.rating, expected.map(\.2))
        XCTAssertEqual(raw.timestamp, (0..<expected.count).map { Int64(1_000_000 + $0) })
        XCTAssertEqual(raw.userIds.map { Int($0)! }, Set(expected.map(\.0)).sorted())

        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        lines[100_001] = "7,8,abc,9"
        lines[110_000] = "7,8"
        try TestData.write(lines.joined(separator: "\n"), to: dir + "/bad.csv")
        assertEmbtoolError(.dataError, ["bad.csv:100002:", "'abc'"]) { try DatasetLoader.loadRaw(path: dir + "/bad.csv") }
    }

    func testTokensSendTheWholeFileToTheGeneralPath() throws {
        let dir = try TestData.scratch(self)
        var text = ""
        for k in 0..<50_000 { text += "\(k % 300)\t\(k % 70)\t\(k % 5 + 1)\n" }
        text += "u-x\t3\t2\n"
        try TestData.write(text, to: dir + "/r.tsv")
        let raw = try DatasetLoader.loadRaw(path: dir + "/r.tsv")
        XCTAssertEqual(raw.count, 50_001)
        XCTAssertEqual(raw.userIds.count, 301)
        XCTAssertEqual(raw.userIds[Int(raw.user[50_000])], "u-x")
        XCTAssertEqual(raw.userIds[Int(raw.user[299])], "299")
        let r = try Ratings(raw, itemKey: .id)
        XCTAssertEqual(r.users.labels.last, "u-x", "mixed ids sort as strings")
    }

    func testIdVocabulariesSortNumbersNumericallyAndKeepOddLabels() {
        let (unsorted, rows) = Ratings.vocabulary(["3", "10", "7"])
        XCTAssertEqual(unsorted.labels, ["#na#", "3", "7", "10"])
        XCTAssertEqual(rows, [1, 3, 2])
        let (ascending, identity) = Ratings.vocabulary(["3", "7", "10"])
        XCTAssertEqual(ascending.labels, ["#na#", "3", "7", "10"])
        XCTAssertEqual(identity, [1, 2, 3])
        // "007" is not a canonical integer: all ids sort as strings, each keeps its own row.
        let (mixed, mixedRows) = Ratings.vocabulary(["7", "007", "a"])
        XCTAssertEqual(mixed.labels, ["#na#", "007", "7", "a"])
        XCTAssertEqual(mixedRows, [2, 1, 3])
    }

    func testExoticNumbersParseAsTheCLibraryDoes() {
        for text in ["4", "4.5", "0.5", "3.7", "1e0", "  2.25 ", "-1", "123456789.5", "0.1234567891"] {
            var bytes = Array(text.utf8)
            let parsed = bytes.withUnsafeMutableBufferPointer { TextScan.float(UnsafeBufferPointer($0)) }
            XCTAssertEqual(parsed, Float(text.trimmingCharacters(in: .whitespaces)), text)
        }
        for text in ["nan", "inf", "", "4,5", "x"] {
            var bytes = Array(text.utf8)
            XCTAssertNil(bytes.withUnsafeMutableBufferPointer { TextScan.float(UnsafeBufferPointer($0)) }, text)
        }
    }

    func testNewlineCounterMatchesANaiveCount() {
        var rng = SplitMix64(seed: 3)
        for length in [0, 1, 15, 16, 17, 255 * 16 + 3, 100_000] {
            let bytes = (0..<length).map { _ in rng.next() % 7 == 0 ? UInt8(ascii: "\n") : UInt8(ascii: "a") }
            let counted = bytes.withUnsafeBufferPointer { TextScan.countNewlines($0) }
            XCTAssertEqual(counted, bytes.filter { $0 == UInt8(ascii: "\n") }.count, "length \(length)")
        }
    }
}
