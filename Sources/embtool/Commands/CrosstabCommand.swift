import ArgumentParser
import EmbeddingKit
import Foundation

struct CrosstabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crosstab",
        abstract: "Show the most active users against the most rated items.",
        discussion: """
        The table fastbook chapter 8 opens with: rows are the users with the most ratings, \
        columns the items with the most ratings, each cell that user's rating (blank when there \
        is none; the mean when keying by title merged two ids). Ties are broken by vocabulary order.
        """)

    @OptionGroup var data: DataOptions

    @Option(help: "Number of users (rows), most active first.")
    var users = 15

    @Option(help: "Number of items (columns), most rated first.")
    var items = 15

    @Option(help: ArgumentHelp("Also write the table as CSV (header: user, then item labels; blank = unrated).", valueName: "file"))
    var csv: String?

    @Flag(help: "Print one JSON object (users, items, ratings with null for blanks) on stdout.")
    var json = false

    func validate() throws {
        guard users > 0, items > 0 else { throw ValidationError("--users and --items must be at least 1") }
    }

    func run() throws {
        let table = Crosstab(try data.load(), users: users, items: items)
        if let csv { try AtomicFile.write(table.csv(), to: csv) }
        if json {
            struct Output: Encodable {
                var users: [String], items: [String], itemRatings: [Int], ratings: [[Float?]], csv: String?
            }
            return try printJSON(Output(users: table.userLabels, items: table.itemLabels, itemRatings: table.itemCounts,
                                        ratings: table.cells, csv: csv))
        }
        print(CrosstabCommand.render(table))
        if let csv { print("wrote \(csv)") }
    }

    /// Numbered columns with a legend below: titles are too long for column headers.
    static func render(_ t: Crosstab) -> String {
        let userWidth = max(4, t.userLabels.map { TerminalText.width(TerminalText.escape($0)) }.max() ?? 4)
        var out = DataReport.pad("user", userWidth) + t.itemRows.indices.map { DataReport.pad(String($0 + 1), 6) }.joined() + "\n"
        for (u, row) in t.cells.enumerated() {
            out += DataReport.pad(t.userLabels[u], userWidth) + row.map { DataReport.pad($0.map(Crosstab.format) ?? "", 6) }.joined() + "\n"
        }
        out += "\n"
        for (i, label) in t.itemLabels.enumerated() {
            out += DataReport.pad(String(i + 1), userWidth) + "  " + TerminalText.escape(label) + "  (\(DataReport.grouped(t.itemCounts[i])) ratings)\n"
        }
        return String(out.dropLast())
    }
}
