import ArgumentParser
import EmbeddingKit
import Foundation

extension MovieLensFetch.Source: ExpressibleByArgument {}

struct FetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download a dataset (ml-100k) into the cache and verify it.",
        discussion: """
        Puts MovieLens 100k into $EMBTOOL_HOME/datasets/ml-100k ($EMBTOOL_HOME defaults to \
        $XDG_CACHE_HOME/embtool, else ~/.cache/embtool) and prints that folder on stdout. \
        Sources, tried in order until one works (each failure is one line on stderr):

          mirror     $EMBTOOL_MIRROR: a folder with u.data, ml-100k/ or ml-100k.zip
          grouplens  GroupLens' ml-100k.zip (curl)
          pypi       the RecBole 1.2.1 wheel (pip), converted to GroupLens' layout

        The copy is verified (100,000 ratings, 943 users, 1,682 items, sha256 of u.data) in a \
        staging folder and only then moved into place. Commands given no --data fetch on first use.
        """)

    @Argument(help: "Dataset to fetch (only ml-100k is redistributable this way).")
    var dataset: String = MovieLensFetch.dataset

    @Flag(help: "Fetch again even when a verified copy is cached.")
    var force = false

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp(
        "Sources to try, in order (default: mirror grouplens pypi).", valueName: "source"))
    var source: [MovieLensFetch.Source] = []

    @Flag(help: "Print one JSON object (folder, source, counts, sha256) on stdout.")
    var json = false

    func validate() throws {
        guard dataset == MovieLensFetch.dataset else {
            throw ValidationError("unknown dataset '\(dataset)': embtool fetches ml-100k; pass other data with --data")
        }
    }

    func run() throws {
        var fetcher = MovieLensFetch(report: FetchProgress.reporter())
        if !source.isEmpty { fetcher.sources = source }
        if source.contains(.mirror) && fetcher.mirror == nil {
            throw EmbtoolError.usage("--source mirror needs $EMBTOOL_MIRROR (a folder with ml-100k)")
        }
        let result = try fetcher.fetch(force: force)
        if let used = result.source {
            note("fetched \(MovieLensFetch.dataset) from \(used.rawValue): \(result.ratings) ratings, \(result.users) users, \(result.items) items, u.data sha256 ok")
        } else {
            note("\(MovieLensFetch.dataset) is already in the cache (verified); --force fetches again")
        }
        if json {
            struct Output: Encodable {
                var dataset: String, folder: String, source: String?, cached: Bool
                var ratings: Int, users: Int, items: Int, sha256: String
            }
            try printJSON(Output(dataset: MovieLensFetch.dataset, folder: result.folder, source: result.source?.rawValue,
                                 cached: result.source == nil, ratings: result.ratings, users: result.users,
                                 items: result.items, sha256: result.sha256))
        } else {
            print(result.folder)
        }
    }
}

/// Progress on stderr: a redrawn bar on a terminal, one line per step otherwise
/// (logs and CI stay readable).
final class FetchProgress {
    private let isTerminal = isatty(2) != 0
    private var step = ""
    private var total: Int64?
    private var lastDraw = Date.distantPast
    private var drawn = false

    static func reporter() -> (MovieLensFetch.Event) -> Void {
        let progress = FetchProgress()
        return { progress.handle($0) }
    }

    func handle(_ event: MovieLensFetch.Event) {
        switch event {
        case .step(let name, let total):
            finishLine()
            step = name
            self.total = total
            if isTerminal { draw(nil) } else { note(name) }
        case .progress(let done):
            let complete = total.map { done >= $0 } ?? false
            guard isTerminal, complete || Date().timeIntervalSince(lastDraw) > 0.05 else { return }
            lastDraw = Date()
            draw(done)
        case .failed(let source, let message):
            finishLine()
            note("\(source.rawValue): \(message)")
        case .finished:
            finishLine()
        }
    }

    private func draw(_ done: Int64?) {
        var line = "\r\(step) "
        if let done, let total, total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let width = 30, filled = Int(fraction * Double(width))
            line += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            line += String(format: "%3d%% ", Int(fraction * 100))
        }
        if let done { line += String(format: "%.1f MB", Double(done) / 1e6) }
        line += "\u{1B}[K"
        FileHandle.standardError.write(Data(line.utf8))
        drawn = true
    }

    private func finishLine() {
        if drawn { FileHandle.standardError.write(Data("\n".utf8)); drawn = false }
    }

    deinit { finishLine() }
}
