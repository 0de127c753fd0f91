import ArgumentParser
import EmbeddingKit

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "List a factor file's tensors and what embtool uses them as.")

    func run() throws { throw notYet("info", issue: 4) }
}
