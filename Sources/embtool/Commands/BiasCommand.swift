import ArgumentParser
import EmbeddingKit

struct BiasCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bias", abstract: "Rank items (or users) by learned bias.")

    func run() throws { throw notYet("bias", issue: 5) }
}
