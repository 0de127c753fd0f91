import Foundation
import EmbeddingCore

/// Writes a model's factors for other tools. Every file is written atomically;
/// each function returns the paths it wrote, in order.
///
/// Labels are the model's display labels; rows keep the model's order, so a
/// file read back gives the same matrix. The Projector export leaves out
/// fastai's `#na#` row (a point nobody rated), the others keep every row.
public enum FactorExport {
    /// `vectors.tsv` and `metadata.tsv` (label, count, bias, genres: whichever are known)
    /// for projector.tensorflow.org's "Load data".
    public static func projector(_ model: FactorModel, to folder: String) throws -> [String] {
        let rows = Array(model.meta.firstItemRow..<model.itemCount)
        let meta = model.meta
        let vectors = folder + "/" + Projector.vectorsFile, metadata = folder + "/" + Projector.metadataFile
        try AtomicFile.write(Projector.encodeVectors(model.itemFactors, rows: rows), to: vectors)
        try AtomicFile.write(Projector.encodeMetadata(
            labels: labels(model), counts: meta.itemCounts.count == model.itemCount ? meta.itemCounts : nil,
            bias: model.itemBias, genres: meta.itemGenres.count == model.itemCount ? meta.itemGenres : nil, rows: rows), to: metadata)
        return [vectors, metadata]
    }

    /// `items.csv` (`label[,count][,bias],f0,...`) and, when the model has user
    /// factors, `users.csv` (`label[,bias],f0,...`). `embtool` and pandas read them back.
    public static func csv(_ model: FactorModel, to folder: String) throws -> [String] {
        let meta = model.meta
        let items = folder + "/items.csv"
        try AtomicFile.write(DelimitedFactors.encode(
            labels: labels(model), factors: model.itemFactors, bias: model.itemBias,
            counts: meta.itemCounts.count == model.itemCount ? meta.itemCounts : nil), to: items)
        guard let users = model.userFactors else { return [items] }
        let path = folder + "/users.csv"
        try AtomicFile.write(DelimitedFactors.encode(labels: userLabels(model), factors: users, bias: model.userBias, counts: nil), to: path)
        return [items, path]
    }

    /// The arrays `np.load` returns: `item_factors` (float32, items x k), `item_bias`,
    /// `item_labels` (str), and the user side when present.
    static func arrays(_ model: FactorModel) -> [(name: String, npy: Data)] {
        var out: [(String, Data)] = [
            ("item_factors", Npy.encode(shape: [model.itemFactors.rows, model.itemFactors.cols], values: model.itemFactors.data)),
        ]
        if let b = model.itemBias { out.append(("item_bias", Npy.encode(shape: [b.count], values: b))) }
        out.append(("item_labels", Npy.encode(strings: labels(model))))
        if let u = model.userFactors {
            out.append(("user_factors", Npy.encode(shape: [u.rows, u.cols], values: u.data)))
            if let b = model.userBias { out.append(("user_bias", Npy.encode(shape: [b.count], values: b))) }
            out.append(("user_labels", Npy.encode(strings: userLabels(model))))
        }
        return out
    }

    /// One `.npy` per array in `folder`.
    public static func npy(_ model: FactorModel, to folder: String) throws -> [String] {
        try arrays(model).map { name, npy in
            let path = folder + "/" + name + ".npy"
            try AtomicFile.write(npy, to: path)
            return path
        }
    }

    /// All arrays in one `.npz` (stored, as `np.savez` writes).
    public static func npz(_ model: FactorModel, to path: String) throws -> [String] {
        try AtomicFile.write(Npz.encode(arrays(model)), to: path)
        return [path]
    }

    static func labels(_ model: FactorModel) -> [String] {
        (0..<model.itemCount).map(model.itemLabel)
    }

    static func userLabels(_ model: FactorModel) -> [String] {
        let rows = model.userFactors?.rows ?? 0
        return model.meta.userLabels.count == rows ? model.meta.userLabels : (0..<rows).map(String.init)
    }
}
