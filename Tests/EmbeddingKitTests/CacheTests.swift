@testable import EmbeddingCore
@testable import EmbeddingFormats
import Foundation
import XCTest

/// Where the cache lives, and first uses that share it.
final class CacheTests: XCTestCase {
    /// A cache folder whose `datasets/ml-100k` holds the committed synthetic
    /// set, as `fetch` would have installed it, and no model yet.
    func cacheWithData(_ cache: String) throws {
        let folder = cache + "/datasets/ml-100k"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for name in ["u.data", "u.item", "u.genre"] {
            try FileManager.default.copyItem(atPath: Fixtures.path("ml100k-synthetic/" + name), toPath: folder + "/" + name)
        }
    }

    /// XDG order: `$EMBTOOL_HOME`, `$XDG_CACHE_HOME/embtool`, `$HOME/.cache/embtool`,
    /// and only then the password database's home.
    func testCacheFollowsHomeThenXDG() throws {
        let scratch = try TestData.scratch(self)
        let home = scratch + "/home"
        try cacheWithData(home + "/.cache/embtool")
        let unset = ["EMBTOOL_HOME": "", "XDG_CACHE_HOME": "", "HOME": home]
        let r = try EmbtoolCLI.run(["similar", "Planted Saga", "--top", "3", "--json"], home: "", env: unset)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: home + "/.cache/embtool/models/ml-100k.safetensors"), r.stderr)
        XCTAssertTrue(r.stderr.contains(home + "/.cache/embtool/models/ml-100k.safetensors"), r.stderr)

        // XDG_CACHE_HOME wins over HOME.
        let xdg = scratch + "/xdg"
        try cacheWithData(xdg + "/embtool")
        let x = try EmbtoolCLI.run(["similar", "Planted Saga", "--top", "3", "--json"], home: "", env: unset.merging(["XDG_CACHE_HOME": xdg]) { $1 })
        XCTAssertEqual(x.status, 0, x.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: xdg + "/embtool/models/ml-100k.safetensors"), x.stderr)
    }

    /// Four first uses at once train the default model once: the others wait on
    /// the lock, say so, and read the model the first one wrote.
    func testConcurrentFirstUsesTrainOnce() throws {
        let cache = try TestData.scratch(self)
        try cacheWithData(cache)
        // All four started before any is waited for (a thread pool would run only as many as there are cores).
        let binary = try EmbtoolCLI.binary()
        let started = try (0..<4).map { _ -> (Process, Pipe, Pipe) in
            let p = Process(), out = Pipe(), err = Pipe()
            p.executableURL = binary
            p.arguments = ["similar", "Planted Saga", "--top", "5"]
            p.environment = ProcessInfo.processInfo.environment.merging(["EMBTOOL_HOME": cache]) { $1 }
            p.standardOutput = out
            p.standardError = err
            try p.run()
            return (p, out, err)
        }
        // Outputs are a few hundred bytes: no child blocks on a full pipe while another is read.
        let done = started.map { p, out, err -> EmbtoolCLI.Result in
            let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return EmbtoolCLI.Result(status: p.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                                     stderr: String(decoding: stderr, as: UTF8.self))
        }
        for r in done { XCTAssertEqual(r.status, 0, r.stderr) }
        let stderr = done.map(\.stderr).joined()
        XCTAssertEqual(stderr.components(separatedBy: "training the default model on").count - 1, 1, stderr)
        XCTAssertEqual(stderr.components(separatedBy: "wrote ").count - 1, 1, stderr)
        // Each waiting process says so at most once.
        for r in done { XCTAssertLessThanOrEqual(r.stderr.components(separatedBy: "waiting for another embtool").count - 1, 1, r.stderr) }
        XCTAssertEqual(Set(done.map(\.stdout)).count, 1, "all four print the same neighbours")
        XCTAssertTrue(done[0].stdout.contains("Planted Saga"), done[0].stdout)
        // Nothing but the model and its lock file in the models folder (no temporary file left).
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache + "/models").sorted(),
                       ["ml-100k.safetensors", "ml-100k.safetensors.lock"])
    }

    /// A lock held by another process makes `withExclusive` wait and say so once.
    func testFileLockWaitsForItsHolder() throws {
        let path = try TestData.scratch(self) + "/x.lock"
        // flock locks belong to the open file description: a second open in this
        // process conflicts with the first, as another process's would.
        let fd = open(path, O_RDWR | O_CREAT, 0o644)
        XCTAssertEqual(flock(fd, LOCK_EX), 0)
        var waited = 0
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { close(fd) }
        let start = Date()
        let value = try FileLock.withExclusive(path, waiting: { waited += 1 }) { 42 }
        XCTAssertEqual(value, 42)
        XCTAssertEqual(waited, 1)
        XCTAssertGreaterThan(Date().timeIntervalSince(start), 0.2)
        // Free now: no wait.
        _ = try FileLock.withExclusive(path, waiting: { waited += 1 }) { () }
        XCTAssertEqual(waited, 1)
    }
}

/// Numbers a ratings file cannot hold say why: out of range, or not finite, or not a number.
final class NumberWordingTests: XCTestCase {
    func testOutOfRangeIsNotCalledNotANumber() throws {
        let dir = try TestData.scratch(self)
        let cases: [(field: String, says: String)] = [
            ("1e308", "rating '1e308' is out of range"),
            ("-4e38", "rating '-4e38' is out of range"),
            ("nan", "rating 'nan' is not a finite number"),
            ("inf", "rating 'inf' is not a finite number"),
            ("five", "rating 'five' is not a number"),
        ]
        for (k, c) in cases.enumerated() {
            // Enough rows for the fast chunked path as well as the line parser.
            var text = "user,item,rating\n"
            for i in 0..<2000 { text += "\(i % 50),\(i % 70),4\n" }
            text += "7,8,\(c.field)\n"
            let path = dir + "/r\(k).csv"
            try TestData.write(text, to: path)
            assertEmbtoolError(.dataError, [path + ":2002:", c.says]) { try DatasetLoader.loadRaw(path: path) }
            // A 3.4e38 still fits a Float: accepted.
        }
        try TestData.write("user,item,rating\n1,2,3.4e38\n", to: dir + "/max.csv")
        XCTAssertEqual(try DatasetLoader.loadRaw(path: dir + "/max.csv").rating.first, Float("3.4e38"))

        try TestData.write("1\t2\t4\t1e20\n", to: dir + "/t/u.data")
        assertEmbtoolError(.dataError, ["u.data:1:", "timestamp '1e20' is out of range"]) { try DatasetLoader.load(path: dir + "/t") }
        try TestData.write("1\t2\t4\tsoon\n", to: dir + "/s/u.data")
        assertEmbtoolError(.dataError, ["u.data:1:", "timestamp 'soon' is not a number"]) { try DatasetLoader.load(path: dir + "/s") }
    }

    /// Factor files keep such a number as infinity (counted, warned about,
    /// refused with --strict), and the message says out of range.
    func testFactorFileOutOfRange() throws {
        let dir = try TestData.scratch(self)
        try TestData.write("label,f0,f1\na,1,2\nb,1e39,3\nc,0.5,1\n", to: dir + "/f.csv")
        let strict = try EmbtoolCLI.run(["info", "--model", dir + "/f.csv", "--strict"], home: dir + "/home")
        XCTAssertEqual(strict.status, 65, strict.stderr)
        XCTAssertTrue(strict.stderr.contains("NaN, infinite or out-of-range values (1 in item factors)"), strict.stderr)
        let lenient = try EmbtoolCLI.run(["info", "--model", dir + "/f.csv"], home: dir + "/home")
        XCTAssertEqual(lenient.status, 0, lenient.stderr)
        XCTAssertTrue(lenient.stderr.contains("out-of-range values (1 in item factors)"), lenient.stderr)
    }

    /// The command line says the same, one line, exit 65.
    func testCLIOutOfRange() throws {
        let dir = try TestData.scratch(self)
        try TestData.write("user,item,rating\n1,2,4\n3,4,1e308\n", to: dir + "/r.csv")
        let r = try EmbtoolCLI.run(["data", "--data", dir + "/r.csv"], home: dir + "/home")
        XCTAssertEqual(r.status, 65)
        XCTAssertEqual(r.stderr, "embtool: \(dir)/r.csv:3: rating '1e308' is out of range (a rating is a 32-bit float, at most ±3.4e38)\n")
    }
}
