import ArgumentParser
import EmbeddingKit
import Foundation

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export factors for the Embedding Projector, as CSV, NumPy or safetensors.",
        discussion: """
        Reads the model (any format --model takes) and writes one or more of:
          --projector DIR     vectors.tsv + metadata.tsv (label, count, bias, genres) for \
        projector.tensorflow.org ("Load data"); fastai's #na# row is left out
          --csv DIR           items.csv (label, count, bias, f0...) and users.csv
          --npy DIR           item_factors.npy, item_bias.npy, item_labels.npy (+ user_*)
          --npz FILE          the same arrays in one archive, as np.savez writes
          --safetensors FILE  an embtool model file: converts a checkpoint once, labels included
        Every file is written atomically and every path written is printed. Each output reads \
        back with --model.

        Examples:
          embtool export --projector exports/projector
          embtool export --model learner.pth --data ~/ml-100k --safetensors ml100k.safetensors
        """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var data: DataOptions

    @Option(name: .long, help: ArgumentHelp("Write vectors.tsv and metadata.tsv for the TensorFlow Embedding Projector into this folder.", valueName: "dir"))
    var projector: String?

    @Option(name: .long, help: ArgumentHelp("Write items.csv (and users.csv) into this folder.", valueName: "dir"))
    var csv: String?

    @Option(name: .long, help: ArgumentHelp("Write one .npy per array into this folder.", valueName: "dir"))
    var npy: String?

    @Option(name: .long, help: ArgumentHelp("Write all arrays into one .npz file.", valueName: "file"))
    var npz: String?

    @Option(name: .long, help: ArgumentHelp("Write an embtool model file (safetensors with fastai's tensor names).", valueName: "file"))
    var safetensors: String?

    @Flag(name: .long, help: "Print one JSON object on stdout: the files written and the model's shape.")
    var json = false

    func validate() throws {
        guard [projector, csv, npy, npz, safetensors].contains(where: { $0 != nil }) else {
            throw ValidationError("say what to write: --projector DIR, --csv DIR, --npy DIR, --npz FILE or --safetensors FILE")
        }
    }

    struct Output: Encodable {
        var files: [String]
        var items: Int
        var factors: Int
        var users: Int?
    }

    func run() throws {
        let m = try model.load(data: data)
        var written: [String] = []
        if let projector { written += try FactorExport.projector(m, to: projector) }
        if let csv { written += try FactorExport.csv(m, to: csv) }
        if let npy { written += try FactorExport.npy(m, to: npy) }
        if let npz { written += try FactorExport.npz(m, to: npz) }
        if let safetensors {
            try ModelFile.save(m, to: safetensors)
            written.append(safetensors)
        }
        if json {
            try printJSON(Output(files: written, items: m.itemCount, factors: m.factors, users: m.userFactors?.rows))
        } else {
            written.forEach { print($0) }
        }
    }
}
