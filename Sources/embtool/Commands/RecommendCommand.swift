import ArgumentParser
import EmbeddingKit

struct RecommendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "recommend", abstract: "Recommend items for a user, or for a new user from a few liked titles.")

    func run() throws { throw notYet("recommend", issue: 5) }
}
