import ArgumentParser
import EmbeddingKit

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Export factors for the Embedding Projector or as CSV.")

    func run() throws { throw notYet("export", issue: 5) }
}
