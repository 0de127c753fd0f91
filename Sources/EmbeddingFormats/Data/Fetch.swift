import Foundation
import EmbeddingCore

/// Puts MovieLens 100k into the cache (`$EMBTOOL_HOME/datasets/ml-100k`), from
/// the first source that works:
///
/// 1. `mirror`: a local folder (`$EMBTOOL_MIRROR`) holding `u.data`..., an
///    `ml-100k/` folder, or `ml-100k.zip`;
/// 2. `grouplens`: GroupLens' official `ml-100k.zip`, with curl;
/// 3. `pypi`: the RecBole 1.2.1 wheel, which ships ml-100k as atomic files,
///    converted back to GroupLens' layout (same bytes for `u.data` and `u.item`).
///
/// Each source fills a hidden staging folder beside the cache, which is verified
/// (100,000 ratings, 1,682 items, sha256 of `u.data`) and then renamed into
/// place, so the cache is never half-written.
public struct MovieLensFetch {
    public enum Source: String, CaseIterable, Codable, Sendable {
        case mirror, grouplens, pypi
    }

    /// What the fetcher tells its caller while it works.
    public enum Event {
        /// A new step (`copying from mirror /x`); `total` bytes when known.
        case step(String, total: Int64?)
        /// Bytes done in the current step.
        case progress(Int64)
        /// A source failed; the next one is tried.
        case failed(Source, String)
        /// The fetch is over (the folder is ready, or the error follows).
        case finished
    }

    public struct Result: Codable, Equatable, Sendable {
        public var folder: String
        /// The source used, or nil when the cache already held a verified copy.
        public var source: Source?
        public var ratings: Int
        public var users: Int
        public var items: Int
        public var sha256: String
    }

    /// What a verified copy holds: counts and the sha256 of its `u.data`.
    public struct Expected: Equatable, Sendable {
        public var ratings: Int, users: Int, items: Int
        public var dataSHA256: String
        public init(ratings: Int, users: Int, items: Int, dataSHA256: String) {
            self.ratings = ratings
            self.users = users
            self.items = items
            self.dataSHA256 = dataSHA256
        }
        /// GroupLens' MovieLens 100k.
        public static let ml100k = Expected(ratings: 100_000, users: 943, items: 1682,
                                            dataSHA256: "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490")
    }

    public static let dataset = "ml-100k"
    /// sha256 of the `u.item` that the RecBole conversion writes.
    public static let convertedItemSHA256 = "910d6bba03da6adc1924b87fe6ad453b545ebd91def079b88ba8af8ab762d135"
    public static let groupLensURL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
    /// Size of `ml-100k.zip`, for the progress bar.
    static let groupLensZipBytes: Int64 = 4_924_029
    public static let recBoleRequirement = "recbole==1.2.1"

    /// The cache root (`$EMBTOOL_HOME`); the dataset goes to `home/datasets/ml-100k`.
    public var home: String
    /// `$EMBTOOL_MIRROR`, when set.
    public var mirror: String?
    public var sources: [Source] = Source.allCases
    public var python = "python3"
    public var url = MovieLensFetch.groupLensURL
    /// MovieLens 100k's facts; tests fetch a synthetic dataset in its layout with that one's.
    public var expected = Expected.ml100k
    public var report: (Event) -> Void

    public init(home: String = EmbtoolHome.path, mirror: String? = ProcessInfo.processInfo.environment["EMBTOOL_MIRROR"],
                report: @escaping (Event) -> Void = { _ in }) {
        self.home = home
        self.mirror = mirror?.isEmpty == true ? nil : mirror
        self.report = report
    }

    public var folder: String { home + "/datasets/" + MovieLensFetch.dataset }

    /// The verified cache folder, fetching it unless a verified copy is there (or `force`).
    public func fetch(force: Bool = false) throws -> Result {
        defer { report(.finished) }
        let target = folder
        if !force && FileManager.default.fileExists(atPath: target + "/u.data") {
            if var cached = try? verify(folder: target) {
                cached.source = nil
                return cached
            }
        }
        let datasets = (target as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: datasets, withIntermediateDirectories: true)
        } catch {
            throw EmbtoolError(.cantCreate, "cannot create \(datasets): \(error.localizedDescription)")
        }
        var tried: [String] = []
        for source in sources {
            if source == .mirror && mirror == nil { continue }
            tried.append(source.rawValue)
            let staging = datasets + "/.\(MovieLensFetch.dataset).partial-\(getpid())-\(source.rawValue)"
            try? FileManager.default.removeItem(atPath: staging)
            defer { try? FileManager.default.removeItem(atPath: staging) }
            do {
                try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
                try stage(source, into: staging)
                report(.step("verifying \(MovieLensFetch.dataset)", total: nil))
                var result = try verify(folder: staging)
                if source == .pypi {
                    let itemSHA = try sha256(ofFile: staging + "/u.item")
                    guard itemSHA == MovieLensFetch.convertedItemSHA256 else {
                        throw EmbtoolError.data("converted u.item has sha256 \(itemSHA), expected \(MovieLensFetch.convertedItemSHA256)")
                    }
                }
                try install(staging, as: target)
                result.folder = target
                result.source = source
                return result
            } catch let error as EmbtoolError {
                report(.failed(source, error.message))
            } catch {
                report(.failed(source, "\(error)"))
            }
        }
        throw EmbtoolError(.unavailable, tried.isEmpty ? "\(MovieLensFetch.dataset): no source to fetch from"
            : "\(MovieLensFetch.dataset): every source failed (\(tried.joined(separator: ", "))); see the lines above")
    }

    /// Checks a GroupLens-layout folder against `expected`: counts and the checksum of `u.data`.
    public func verify(folder: String) throws -> Result {
        let sha = try sha256(ofFile: folder + "/u.data")
        guard sha == expected.dataSHA256 else {
            throw EmbtoolError.data("\(folder)/u.data: sha256 \(sha) differs from \(MovieLensFetch.dataset)'s \(expected.dataSHA256)")
        }
        guard FileManager.default.fileExists(atPath: folder + "/u.item") else {
            throw EmbtoolError.noInput("\(folder)/u.item: no such file")
        }
        let raw = try MovieLens100k.load(path: folder)
        let e = expected
        guard raw.count == e.ratings, raw.userIds.count == e.users, raw.catalog.count == e.items else {
            throw EmbtoolError.data("\(folder): \(raw.count) ratings, \(raw.userIds.count) users, \(raw.catalog.count) items; \(MovieLensFetch.dataset) has \(e.ratings), \(e.users), \(e.items)")
        }
        return Result(folder: folder, source: nil, ratings: raw.count, users: raw.userIds.count, items: raw.catalog.count, sha256: sha)
    }

    // MARK: Sources

    func stage(_ source: Source, into staging: String) throws {
        switch source {
        case .mirror: try stageMirror(mirror!, into: staging)
        case .grouplens: try stageGroupLens(into: staging)
        case .pypi: try stagePyPI(into: staging)
        }
    }

    func stageMirror(_ mirror: String, into staging: String) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: mirror, isDirectory: &isDir), isDir.boolValue else {
            throw EmbtoolError.noInput("$EMBTOOL_MIRROR=\(mirror) is not a folder")
        }
        if fm.fileExists(atPath: mirror + "/u.data") { return try copyFolder(mirror, into: staging) }
        if fm.fileExists(atPath: mirror + "/ml-100k/u.data") { return try copyFolder(mirror + "/ml-100k", into: staging) }
        if fm.fileExists(atPath: mirror + "/ml-100k.zip") { return try unpackGroupLensZip(mirror + "/ml-100k.zip", into: staging) }
        throw EmbtoolError.noInput("\(mirror): no u.data, ml-100k/u.data or ml-100k.zip")
    }

    /// Copies the regular files of `source` (not sub-folders), reporting bytes.
    func copyFolder(_ source: String, into staging: String) throws {
        let fm = FileManager.default
        let names = try fm.contentsOfDirectory(atPath: source).sorted().filter { name in
            var isDir: ObjCBool = false
            return fm.fileExists(atPath: source + "/" + name, isDirectory: &isDir) && !isDir.boolValue && !name.hasPrefix(".")
        }
        let sizes = names.map { ((try? fm.attributesOfItem(atPath: source + "/" + $0))?[.size] as? NSNumber)?.int64Value ?? 0 }
        report(.step("copying from \(source)", total: sizes.reduce(0, +)))
        var done: Int64 = 0
        for (name, size) in zip(names, sizes) {
            do {
                try fm.copyItem(atPath: source + "/" + name, toPath: staging + "/" + name)
                // A read-only mirror (a shared folder) should not make the cache read-only.
                try fm.setAttributes([.posixPermissions: 0o644], ofItemAtPath: staging + "/" + name)
            } catch {
                throw EmbtoolError(.ioError, "cannot copy \(source)/\(name): \(error.localizedDescription)")
            }
            done += size
            report(.progress(done))
        }
    }

    func stageGroupLens(into staging: String) throws {
        let zip = staging + "/ml-100k.zip"
        report(.step("downloading \(url)", total: MovieLensFetch.groupLensZipBytes))
        let outcome = try Subprocess.run("curl", ["-sS", "-f", "-L", "--connect-timeout", "10", "--max-time", "300", "-o", zip, url],
                                         timeout: 320) {
            if let size = (try? FileManager.default.attributesOfItem(atPath: zip))?[.size] as? NSNumber {
                report(.progress(size.int64Value))
            }
        }
        guard outcome.status == 0 else {
            throw EmbtoolError(.unavailable, "download failed: \(outcome.lastLine(or: "curl exit \(outcome.status)"))")
        }
        try unpackGroupLensZip(zip, into: staging)
        try? FileManager.default.removeItem(atPath: zip)
    }

    /// Extracts GroupLens' zip (`ml-100k/u.data`, ...) and moves its files into `staging`.
    func unpackGroupLensZip(_ zip: String, into staging: String) throws {
        report(.step("unpacking \((zip as NSString).lastPathComponent)", total: nil))
        let unpacked = staging + "/.unzip"
        try Subprocess.unzip(zip, into: unpacked, python: python)
        let inner = FileManager.default.fileExists(atPath: unpacked + "/ml-100k/u.data") ? unpacked + "/ml-100k" : unpacked
        guard FileManager.default.fileExists(atPath: inner + "/u.data") else {
            throw EmbtoolError.data("\(zip): no ml-100k/u.data inside")
        }
        for name in try FileManager.default.contentsOfDirectory(atPath: inner) {
            try FileManager.default.moveItem(atPath: inner + "/" + name, toPath: staging + "/" + name)
        }
        try? FileManager.default.removeItem(atPath: unpacked)
    }

    func stagePyPI(into staging: String) throws {
        let download = staging + "/.pip"
        report(.step("downloading \(MovieLensFetch.recBoleRequirement) from PyPI (pip)", total: nil))
        let outcome = try Subprocess.run(python, ["-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                                                  "--timeout", "20", "--retries", "2", MovieLensFetch.recBoleRequirement, "-d", download],
                                         timeout: 600)
        guard outcome.status == 0 else {
            throw EmbtoolError(.unavailable, "pip download failed: \(outcome.lastLine(or: "exit \(outcome.status)"))")
        }
        guard let wheel = try FileManager.default.contentsOfDirectory(atPath: download).first(where: { $0.hasSuffix(".whl") }) else {
            throw EmbtoolError(.unavailable, "pip download left no wheel in \(download)")
        }
        report(.step("unpacking \(wheel)", total: nil))
        let unpacked = staging + "/.wheel"
        try Subprocess.unzip(download + "/" + wheel, into: unpacked, python: python)
        let atomic = unpacked + "/recbole/dataset_example/ml-100k"
        report(.step("converting RecBole's atomic files to GroupLens' layout", total: nil))
        try RecBoleAtomic.writeGroupLens100k(from: atomic + "/ml-100k", to: staging)
        try? FileManager.default.removeItem(atPath: download)
        try? FileManager.default.removeItem(atPath: unpacked)
    }

    /// Renames `staging` to `target`, replacing an old copy; if another process
    /// installed a verified copy first, that one is kept.
    func install(_ staging: String, as target: String) throws {
        let fm = FileManager.default
        let old = target + ".old-\(getpid())"
        let hadOld = fm.fileExists(atPath: target)
        if hadOld && rename(target, old) != 0 {
            throw EmbtoolError(.cantCreate, "cannot move the old \(target) aside: \(String(cString: strerror(errno)))")
        }
        if rename(staging, target) != 0 {
            let reason = String(cString: strerror(errno))
            if (try? verify(folder: target)) != nil { return }
            throw EmbtoolError(.cantCreate, "cannot move \(staging) to \(target): \(reason)")
        }
        if hadOld { try? fm.removeItem(atPath: old) }
    }
}

/// sha256 of a file, hex.
func sha256(ofFile path: String) throws -> String {
    let file = try MappedFile(path, allowEmpty: true)
    var hash = SHA256()
    hash.update(file.bytes)
    return hash.hexDigest()
}

/// Runs helper programs (curl, pip, unzip) with a time limit, capturing the
/// last line of what they print on stderr for a one-line error.
enum Subprocess {
    struct Outcome {
        var status: Int32
        var stderr: String

        func lastLine(or fallback: String) -> String {
            let lines = stderr.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            return lines.last ?? fallback
        }
    }

    /// Runs `tool` (found on PATH) with `arguments`; `tick` is called ten times a second.
    static func run(_ tool: String, _ arguments: [String], timeout: TimeInterval, tick: () -> Void = {}) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let errorPath = NSTemporaryDirectory() + "embtool-\(getpid())-\(UUID().uuidString).stderr"
        defer { try? FileManager.default.removeItem(atPath: errorPath) }
        guard FileManager.default.createFile(atPath: errorPath, contents: nil),
              let errorHandle = FileHandle(forWritingAtPath: errorPath) else {
            throw EmbtoolError(.cantCreate, "cannot create \(errorPath)")
        }
        process.standardError = errorHandle
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw EmbtoolError(.unavailable, "cannot run \(tool): \(error.localizedDescription)")
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                process.waitUntilExit()
                throw EmbtoolError(.unavailable, "\(tool) took longer than \(Int(timeout)) s; stopped")
            }
            tick()
            usleep(100_000)
        }
        tick()
        try? errorHandle.close()
        let stderr = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        // env exits 127 when the tool is not on PATH.
        if process.terminationStatus == 127 && stderr.contains("No such file") {
            throw EmbtoolError(.unavailable, "\(tool) is not installed")
        }
        return Outcome(status: process.terminationStatus, stderr: stderr)
    }

    /// Extracts a zip with `unzip`, or Python's zipfile module where unzip is missing.
    static func unzip(_ zip: String, into folder: String, python: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var outcome = try? run("unzip", ["-q", "-o", zip, "-d", folder], timeout: 120)
        if outcome?.status != 0 {
            outcome = try run(python, ["-m", "zipfile", "-e", zip, folder], timeout: 120)
        }
        guard let outcome, outcome.status == 0 else {
            throw EmbtoolError.data("\(zip): cannot unpack: \(outcome?.lastLine(or: "unzip failed") ?? "unzip failed")")
        }
    }
}
