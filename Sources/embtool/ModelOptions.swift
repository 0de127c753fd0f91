import ArgumentParser
import EmbeddingKit
import Foundation

/// Which model an analysis command reads. Without `--model`, the model trained
/// on the default dataset, trained first when absent.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Model or factor file (embtool/safetensors, PyTorch .pth, .npy/.npz, CSV/TSV, Spark ALS folder, word2vec).",
        discussion: "Default: the model trained on MovieLens 100k, trained first if absent.", valueName: "path"))
    var model: String?

    func load(data: DataOptions) throws -> FactorModel {
        if let model { return try FactorLoader.load(path: model) }
        let path = EmbtoolHome.modelPath(dataset: "ml-100k")
        if FileManager.default.fileExists(atPath: path) { return try ModelFile.load(path: path) }
        throw EmbtoolError.noInput("no model at \(path): run 'embtool train' or pass --model FILE")
    }
}
