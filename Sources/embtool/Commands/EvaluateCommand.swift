import ArgumentParser
import EmbeddingKit

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "evaluate", abstract: "Score a model on held-out ratings: MSE, RMSE, MAE.")

    func run() throws { throw notYet("evaluate", issue: 3) }
}
