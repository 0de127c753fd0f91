import ArgumentParser
import EmbeddingKit

struct PCACommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pca", abstract: "Project item factors onto their principal components; plot them.")

    func run() throws { throw notYet("pca", issue: 5) }
}
