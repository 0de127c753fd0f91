import ArgumentParser
import EmbeddingKit
import Foundation

extension ItemKey: ExpressibleByArgument {}
extension DatasetFormat: ExpressibleByArgument {}

/// Where ratings come from. Without `--data`, the cached MovieLens 100k,
/// fetched on first use.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Ratings folder or file (ml-100k, ml-1m, ml-latest/25m, RecBole, or a user,item,rating CSV).",
        discussion: "Default: MovieLens 100k in the cache, fetched on first use.", valueName: "path"))
    var data: String?

    @Option(name: .long, help: ArgumentHelp(
        "Key items by 'title' (fastbook's choice; merges movies listed twice) or by 'id'.",
        discussion: "Data without titles (a bare CSV) is keyed by id.", valueName: "key"))
    var itemKey: ItemKey = .title

    @Option(name: .long, help: ArgumentHelp(
        "Layout of --data; auto detects it.",
        discussion: "auto looks for u.data, ratings.dat, ratings.csv or *.inter in a folder, and at a file's name and header.",
        valueName: "format"))
    var format: DatasetFormat = .auto

    @Option(name: .long, help: ArgumentHelp(
        "Columns of a CSV/TSV in file order, e.g. item,user,rating or user,-,item,rating,timestamp ('-' skips one).",
        discussion: "Default: the header's names (userId, movie_id, score, ...), else user,item,rating[,timestamp].",
        valueName: "names"))
    var columns: String?

    func validate() throws {
        if let columns {
            do { _ = try RatingsLayout.columns(from: columns) } catch let e as EmbtoolError { throw ValidationError(cliMessage(e)) }
        }
    }

    /// The ratings as written (ids, titles), loading (and fetching when needed) the data.
    func loadRaw() throws -> RawRatings {
        try DatasetLoader.loadRaw(path: resolvedPath(), format: format, columns: columns.map(RatingsLayout.columns(from:)))
    }

    /// The keyed ratings table. Data without titles is keyed by id, with a note.
    func load() throws -> Ratings {
        try key(loadRaw())
    }

    /// Keys `raw` by `--item-key` (by id when it has no titles).
    func key(_ raw: consuming RawRatings) throws -> Ratings {
        if itemKey == .title && raw.catalog.isEmpty {
            note("note: \(raw.sources.first ?? "the data") has no item titles; items are keyed by id")
            return try Ratings(raw, itemKey: .id)
        }
        return try Ratings(raw, itemKey: itemKey)
    }

    /// `--data`, or the cached MovieLens 100k, fetched now if it is not there yet.
    func resolvedPath() throws -> String {
        if let data { return data }
        let fetcher = MovieLensFetch(report: FetchProgress.reporter())
        // The cache was verified when it was installed.
        if FileManager.default.fileExists(atPath: fetcher.folder + "/u.data") { return fetcher.folder }
        note("no --data: fetching MovieLens 100k into \(fetcher.folder) (first use)")
        return try fetcher.fetch().folder
    }
}

/// Prints one JSON document on stdout, as `JSONPolicy` writes it.
func printJSON<T: Encodable>(_ value: T) throws {
    FileHandle.standardOutput.write(try JSONPolicy.encoder().encode(value))
    FileHandle.standardOutput.write(Data("\n".utf8))
}

/// Writes a progress or status line to stderr, keeping stdout for results;
/// escaped for the terminal, as `print` is (TerminalOutput.swift).
func note(_ message: String) {
    FileHandle.standardError.write(Data((terminalLines(message) + "\n").utf8))
}
