import ArgumentParser
import EmbeddingKit
import Foundation

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write a synthetic MovieLens-shaped dataset with a planted low-rank structure.",
        discussion: """
        Writes ratings.csv (userId,movieId,rating,timestamp; sorted by user, then movie) and \
        movies.csv (movieId,title,genres) in ml-25m's layout, so any command reads it with \
        --data DIR. Ratings are

          clamp(round_to_step(mu + b_u + b_i + p_u . q_i + noise))

        with rank-8 factors, Pareto user activity (at least 20 ratings each), Zipf-like item \
        popularity, every item rated at least once and no (user, item) pair twice. The output \
        depends only on --shape, --scale and --seed (not on the number of cores).

        Shapes: \(SynthShape.all.map { "\($0.name) (\(DataReport.grouped($0.users)) users, \(DataReport.grouped($0.items)) items, \(DataReport.grouped($0.ratings)) ratings)" }.joined(separator: "; ")).
        """)

    @Option(help: ArgumentHelp("Size and rating scale to imitate: \(SynthShape.all.map(\.name).joined(separator: ", ")).", valueName: "name"))
    var shape: String = SynthShape.ml25m.name

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Folder to write ratings.csv and movies.csv into.", valueName: "dir"))
    var output: String

    @Option(help: "Random seed; the same seed writes the same files.")
    var seed: UInt64 = 42

    @Option(help: ArgumentHelp("Multiply users and ratings by F (items by sqrt F), e.g. 0.01 for a quick sample.", valueName: "F"))
    var scale: Double = 1

    @Flag(help: "Print one JSON object (files, users, items, ratings, seconds) on stdout.")
    var json = false

    func validate() throws {
        guard SynthShape.named(shape) != nil else {
            throw ValidationError("unknown shape '\(shape)': use \(SynthShape.all.map(\.name).joined(separator: ", "))")
        }
        guard scale > 0, scale <= 10, scale.isFinite else { throw ValidationError("--scale must be in (0, 10]") }
    }

    func run() throws {
        let target = SynthShape.named(shape)!.scaled(scale)
        let start = Date()
        let synth = try Synth(shape: target, seed: seed)
        note("writing \(DataReport.grouped(target.ratings)) ratings of \(DataReport.grouped(target.users)) users on \(DataReport.grouped(target.items)) items into \(output)")
        let terminal = isatty(2) != 0
        let files = try synth.write(to: output) { written in
            guard terminal else { return }
            let pct = Int(Double(written) / Double(target.ratings) * 100)
            FileHandle.standardError.write(Data("\r  \(pct)% (\(DataReport.grouped(written)) ratings)\u{1B}[K".utf8))
        }
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        let seconds = Date().timeIntervalSince(start)
        if json {
            struct Output: Encodable { var files: [String], shape: String, seed: UInt64, users: Int, items: Int, ratings: Int, seconds: Double }
            return try printJSON(Output(files: files, shape: target.name, seed: seed, users: target.users, items: target.items,
                                        ratings: target.ratings, seconds: (seconds * 1000).rounded() / 1000))
        }
        note(String(format: "done in %.1f s", seconds))
        for file in files { print("wrote \(file)") }
    }
}
