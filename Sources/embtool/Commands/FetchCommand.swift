import ArgumentParser
import EmbeddingKit

struct FetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fetch", abstract: "Download a dataset (ml-100k) into the cache and verify it.")

    func run() throws { throw notYet("fetch", issue: 2) }
}
