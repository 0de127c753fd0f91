import ArgumentParser
import EmbeddingKit
import Foundation

extension ItemKey: ExpressibleByArgument {}

/// Where ratings come from. Without `--data`, the cached MovieLens 100k.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Ratings folder or file (ml-100k, ml-1m, ml-latest/25m, RecBole, or a user,item,rating CSV).",
        discussion: "Default: MovieLens 100k in the cache, fetched on first use.", valueName: "path"))
    var data: String?

    @Option(name: .long, help: ArgumentHelp(
        "Key items by 'title' (fastbook's choice; merges movies listed twice) or by 'id'.", valueName: "key"))
    var itemKey: ItemKey = .title

    /// The ratings table, loading (and fetching when needed) the data.
    func load() throws -> Ratings {
        try DatasetLoader.load(path: resolvedPath(), itemKey: itemKey)
    }

    func resolvedPath() throws -> String {
        if let data { return data }
        let cached = EmbtoolHome.datasetFolder("ml-100k")
        if FileManager.default.fileExists(atPath: cached + "/u.data") { return cached }
        throw EmbtoolError.noInput("no data: run 'embtool fetch ml-100k' or pass --data DIR")
    }
}

/// Prints one JSON document on stdout, keys sorted so output diffs cleanly.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    FileHandle.standardOutput.write(try encoder.encode(value))
    FileHandle.standardOutput.write(Data("\n".utf8))
}

/// Writes a progress or status line to stderr, keeping stdout for results.
func note(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// The message a command gives until its issue is delivered.
func notYet(_ command: String, issue: Int) -> EmbtoolError {
    EmbtoolError(.unavailable, "'embtool \(command)' is not available yet (issue #\(issue))")
}
