import ArgumentParser
import EmbeddingKit

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "data", abstract: "Summarise a ratings dataset: counts, vocabularies, rating histogram.")

    func run() throws { throw notYet("data", issue: 2) }
}
