import ArgumentParser
import EmbeddingKit

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "Train fastbook's dot-product-with-bias model and write a model file.")

    func run() throws { throw notYet("train", issue: 3) }
}
