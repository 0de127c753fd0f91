import ArgumentParser
import EmbeddingKit

struct SimilarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "similar", abstract: "Find the items closest to one item.")

    func run() throws { throw notYet("similar", issue: 5) }
}
