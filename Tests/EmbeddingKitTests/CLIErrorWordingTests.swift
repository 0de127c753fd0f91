@testable import EmbeddingCore
@testable import EmbeddingFormats
import Foundation
import XCTest

/// The library's errors name settings, not flags; the command line words them
/// with its flags (`cliMessage`). These run the binary on small files made here
/// and check the flag named in each one-line error and the exit code.
final class CLIErrorWordingTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = try TestData.scratch(self)
        // MovieLens-latest layout: four rated movies, keyed by title by default.
        try TestData.write("userId,movieId,rating,timestamp\n1,10,4,1\n1,20,3,2\n2,30,5,3\n3,40,2,4\n2,10,1,5\n", to: dir + "/ml/ratings.csv")
        try TestData.write("movieId,title,genres\n10,Ten (1910),Drama\n20,Twenty (1920),Comedy\n30,Thirty (1930),Drama\n40,Forty (1940),Action\n",
                           to: dir + "/ml/movies.csv")
    }

    func run(_ args: [String], status: Int32, says parts: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try EmbtoolCLI.run(args, home: dir + "/home")
        XCTAssertEqual(r.status, status, r.stderr, file: file, line: line)
        let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("embtool:") || $0.hasPrefix("Error:") }
        XCTAssertEqual(lines.count, 1, "one error line: \(r.stderr)", file: file, line: line)
        for part in parts { XCTAssertTrue(r.stderr.contains(part), "'\(r.stderr)' lacks '\(part)'", file: file, line: line) }
    }

    func testStrictNamesItsFlagAndTheWarningSaysHowToRefuse() throws {
        try TestData.write("a,nan,1\nb,inf,-inf\nc,1,2\n", to: dir + "/nan.csv")
        try run(["info", "--model", dir + "/nan.csv", "--strict"], status: 65, says: ["3 in item factors", "--strict"])
        let warned = try EmbtoolCLI.run(["info", "--model", dir + "/nan.csv"], home: dir + "/home")
        XCTAssertEqual(warned.status, 0, warned.stderr)
        XCTAssertTrue(warned.stderr.contains("(--strict refuses such files)"), warned.stderr)
    }

    func testFactorsOfAnotherVocabularySuggestTheOtherItemKey() throws {
        // Seven rows against a vocabulary of five (#na# and four titles).
        try Npy.encode(shape: [7, 2], values: (0..<14).map(Float.init)).write(to: URL(fileURLWithPath: dir + "/seven.npy"))
        try run(["info", "--model", dir + "/seven.npy", "--data", dir + "/ml"], status: 65, says: ["7 item rows", "has 5", "--item-key id"])
        // Spark-style ids against titles.
        try TestData.write("label,f0\n40,1\n10,2\n99,3\n", to: dir + "/ids.csv")
        try run(["info", "--model", dir + "/ids.csv", "--data", dir + "/ml"], status: 65, says: ["none of its 3 item keys", "--item-key id"])
    }

    func testColumnsAndLayoutErrorsNameColumnsAndFormat() throws {
        try run(["data", "--data", dir + "/ml", "--columns", "item,user,rating"], status: 64, says: ["--columns", "--format csv"])
        try TestData.write("a,b,c\n1,2,3\n", to: dir + "/c.csv")
        try run(["data", "--data", dir + "/c.csv"], status: 65, says: ["c.csv:1:", "header", "--columns"])
        try run(["data", "--data", dir + "/c.csv", "--columns", "user,item"], status: 64, says: ["--columns", "rating"])
    }

    func testTrainingSettingsAreNamedByTheirFlags() throws {
        try run(["train", "--data", dir + "/ml", "--bs", "0"], status: 64, says: ["--bs must be at least 1"])
        try run(["train", "--data", dir + "/ml", "--recipe", "best", "--no-bias"], status: 64, says: ["--no-bias"])
    }
}
