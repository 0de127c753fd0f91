import ArgumentParser
import EmbeddingKit

struct CrosstabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "crosstab", abstract: "Show the most active users against the most rated items.")

    func run() throws { throw notYet("crosstab", issue: 2) }
}
