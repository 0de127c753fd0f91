import ArgumentParser
import EmbeddingKit
import Foundation

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Summarise a ratings dataset: counts, vocabularies, rating histogram.",
        discussion: """
        Reads the data as every other command does (--data, --format, --columns, --item-key) and \
        reports: ratings, users, item ids, distinct titles, the vocabulary sizes a fastai model \
        would have (with #na#), the rating range and histogram, sparsity, ratings per user and \
        per item, and the most-rated items.

        Example (fastbook chapter 8): embtool data --data ../shared/ml-100k --item-key title --json
        gives 100000 ratings, 943 users, 1682 items, 1664 titles, vocabularies 944 and 1665.
        """)

    @OptionGroup var data: DataOptions

    @Option(help: "How many of the most-rated items to list.")
    var top = 10

    @Flag(help: "Print one JSON object on stdout instead of the report.")
    var json = false

    @Flag(help: "Print how long reading, keying and summarising took, on stderr.")
    var time = false

    func validate() throws {
        guard top >= 0 else { throw ValidationError("--top must be 0 or more") }
    }

    func run() throws {
        var clock = Stopwatch(enabled: false)
        let raw = try data.loadRaw()
        let read = clock.lap("read")
        let facts = DatasetSummary.RawFacts(raw)
        let ratings = try data.key(consume raw)
        let keyed = clock.lap("key")
        let summary = DatasetSummary(facts, ratings: ratings, top: top)
        let summarised = clock.lap("summary")
        if time {
            let loaded = read.wall + keyed.wall
            note(String(format: "time: read %.3f s, keyed %.3f s, summary %.3f s wall (cpu %.3f, %.3f, %.3f s); %.1f M ratings/s loaded",
                        read.wall, keyed.wall, summarised.wall, read.cpu, keyed.cpu, summarised.cpu,
                        Double(ratings.count) / loaded / 1e6))
        }
        if json { return try printJSON(summary) }
        print(DataCommand.report(summary))
    }

    static func report(_ s: DatasetSummary) -> String {
        var out = "\(s.name) (\(s.format)): \(s.sources.map(TerminalText.escape).joined(separator: ", "))\n"
        func row(_ label: String, _ value: String, _ detail: String = "") {
            out += "  " + label.padding(toLength: 10, withPad: " ", startingAt: 0) + DataReport.pad(value, 16) + (detail.isEmpty ? "" : "   " + detail) + "\n"
        }
        row("ratings", DataReport.grouped(s.ratings))
        row("users", DataReport.grouped(s.users), "vocabulary \(DataReport.grouped(s.vocabUsers)) with #na#")
        let titles = s.titles.map { "; \(DataReport.grouped($0)) distinct titles" } ?? "; no titles"
        row("items", DataReport.grouped(s.items), "ids\(titles); vocabulary \(DataReport.grouped(s.vocabItems)) keyed by \(s.itemKey.rawValue)")
        row("rating", "\(Crosstab.format(s.ratingMin)) ... \(Crosstab.format(s.ratingMax))", String(format: "mean %.3f", s.ratingMean))
        let cells = Double(s.ratings) / max(1e-300, 1 - s.sparsity)
        row("sparsity", String(format: "%.2f%%", s.sparsity * 100),
            String(format: "%.2f%% of the %@ user x item cells rated", (1 - s.sparsity) * 100, DataReport.grouped(Int(cells.rounded()))))
        row("per user", "\(s.ratingsPerUser.min) / \(s.ratingsPerUser.median) / \(s.ratingsPerUser.max)", "min / median / max")
        row("per item", "\(s.ratingsPerItem.min) / \(s.ratingsPerItem.median) / \(s.ratingsPerItem.max)", "min / median / max")
        if let first = s.firstTimestamp, let last = s.lastTimestamp {
            let f = DateFormatter()
            f.dateFormat = "yyyy-MM-dd"
            f.timeZone = TimeZone(identifier: "UTC")
            row("time span", f.string(from: Date(timeIntervalSince1970: TimeInterval(first))),
                "... " + f.string(from: Date(timeIntervalSince1970: TimeInterval(last))))
        }
        out += "\nrating histogram\n"
        let most = max(1, s.histogram.map(\.count).max() ?? 1)
        for bin in s.histogram {
            let bar = String(repeating: "#", count: Int((Double(bin.count) / Double(most) * 40).rounded()))
            out += "  " + DataReport.pad(Crosstab.format(bin.rating), 5) + "  " + bar.padding(toLength: 40, withPad: " ", startingAt: 0)
                + DataReport.pad(DataReport.grouped(bin.count), 12) + String(format: " %5.1f%%", Double(bin.count) / Double(max(1, s.ratings)) * 100) + "\n"
        }
        if !s.mostRated.isEmpty {
            out += "\nmost-rated items (keyed by \(s.itemKey.rawValue))\n"
            out += "     #   ratings  mean  item\n"
            for (k, item) in s.mostRated.enumerated() {
                out += DataReport.pad(String(k + 1), 6) + DataReport.pad(DataReport.grouped(item.ratings), 10) + String(format: "  %.2f  ", item.mean) + TerminalText.escape(item.item) + "\n"
            }
        }
        return String(out.dropLast())
    }
}

/// Text helpers for the data commands' reports.
enum DataReport {
    /// `25000095` -> `25,000,095`.
    static func grouped(_ n: Int) -> String {
        let digits = String(abs(n))
        var out = ""
        for (k, c) in digits.enumerated() {
            if k > 0 && (digits.count - k) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// `text`, escaped for the terminal, right-aligned in `width` display columns.
    static func pad(_ text: String, _ width: Int) -> String {
        let shown = TerminalText.escape(text)
        return String(repeating: " ", count: max(0, width - TerminalText.width(shown))) + shown
    }
}
