import ArgumentParser
import EmbeddingKit
import Foundation

@main
struct Embtool: ParsableCommand {
    /// Before a first release every build says so; model files record their producer, not this.
    static let version = "0.1.0-dev"

    static let configuration = CommandConfiguration(
        commandName: "embtool",
        abstract: "Train, load, interpret and export collaborative-filtering embeddings.",
        discussion: """
        fastbook chapter 8 without Python: a user and a movie are learned vectors, a rating is \
        their dot product plus two biases. embtool trains that model, loads factors trained \
        elsewhere, and explains them: bias rankings, PCA maps, nearest neighbours.

        First steps:
          embtool fetch ml-100k           download MovieLens 100k into the cache
          embtool train                   train fastbook's model (about a second)
          embtool similar "Star Wars"     movies closest to Star Wars (1977)
          embtool pca --svg pca.svg       the PCA scatter of the 1000 most-rated movies
        """,
        version: "embtool \(Embtool.version)\nBLAS: \(BLASCore.summary())",
        subcommands: [
            FetchCommand.self, DataCommand.self, CrosstabCommand.self, SynthCommand.self,
            TrainCommand.self, LRFindCommand.self, EvaluateCommand.self, InfoCommand.self,
            BiasCommand.self, PCACommand.self, AxesCommand.self, UMAPCommand.self, TSNECommand.self,
            SimilarCommand.self, RecommendCommand.self, ExploreCommand.self, ExportCommand.self,
            CompareCommand.self,
        ]
    )

    /// Library errors become one line on stderr and a sysexits code; the line
    /// may quote a file's content, so it is escaped for the terminal.
    static func main() {
        BLASKernels.useTheCPUsVectorWidth()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as EmbtoolError {
            FileHandle.standardError.write(Data("embtool: \(TerminalText.escape(cliMessage(error)))\n".utf8))
            Foundation.exit(error.exitCode)
        } catch {
            exit(withError: error)
        }
    }
}
