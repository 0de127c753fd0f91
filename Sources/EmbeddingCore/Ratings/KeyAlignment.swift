/// How the rows of a data vocabulary line up with the rows of one side of a
/// model (its items or its users): by key — a title or an id, a user id —
/// never by position, unless the model names no rows at all. Every place that
/// maps data to model rows goes through it, so all of them agree that:
///
/// - fastai's `#na#` matches nothing on either side: it stands for "unknown";
/// - a key the model holds on several rows (two items listed under one
///   title, a label written twice) takes the data's ratings to the first of
///   those rows; every one of them is still labelled from the data;
/// - a data key the model lacks, or a model key the data lacks, matches nothing,
///   and is counted.
///
/// A model without keys (a bare checkpoint) has rows in the order of the
/// vocabulary fastai builds from the training data, so data row `d` is model
/// row `d` (`basis == .position`) — right only when that data is the training data.
public struct KeyAlignment: Equatable, Sendable {
    public enum Basis: Equatable, Sendable {
        /// Rows matched by their keys.
        case keys
        /// The model has no keys: rows matched by index.
        case position
    }

    public let basis: Basis
    /// `modelRow[d]`: the model row that data row `d`'s ratings belong to, or -1.
    public let modelRow: [Int]
    /// `dataRow[m]`: the data row holding model row `m`'s key, or -1.
    public let dataRow: [Int]
    /// Data keys (other than `#na#`) that no model row holds.
    public let dataKeysNotInModel: Int
    /// Model keys (other than `#na#`) that the data does not hold.
    public let modelKeysNotInData: Int
    /// Model rows whose key an earlier row already holds.
    public let repeatedModelKeys: Int

    /// Aligns `data` (a data vocabulary's labels) with `model` (the model
    /// side's keys, one per row, or none) over `modelRows` rows.
    public init(data: [String], model: [String], modelRows: Int) {
        let missing = Vocabulary.missing
        guard !model.isEmpty, model.count == modelRows else {
            basis = .position
            modelRow = data.indices.map { $0 < modelRows && data[$0] != missing ? $0 : -1 }
            dataRow = (0..<modelRows).map { $0 < data.count && data[$0] != missing ? $0 : -1 }
            dataKeysNotInModel = data.indices.filter { $0 >= modelRows && data[$0] != missing }.count
            modelKeysNotInData = max(0, modelRows - data.count)
            repeatedModelKeys = 0
            return
        }
        basis = .keys
        if data == model {
            // The usual case (evaluating on the training data's vocabulary): no lookups.
            let rows = data.indices.map { data[$0] == missing ? -1 : $0 }
            (modelRow, dataRow) = (rows, rows)
            (dataKeysNotInModel, modelKeysNotInData, repeatedModelKeys) = (0, 0, 0)
            return
        }
        var first = [String: Int](minimumCapacity: model.count)
        var repeated = 0
        for (row, key) in model.enumerated() where key != missing {
            if first[key] == nil { first[key] = row } else { repeated += 1 }
        }
        var dataIndex = [String: Int](minimumCapacity: data.count)
        for (row, key) in data.enumerated() where key != missing && dataIndex[key] == nil { dataIndex[key] = row }
        modelRow = data.map { $0 == missing ? -1 : first[$0] ?? -1 }
        dataRow = model.map { $0 == missing ? -1 : dataIndex[$0] ?? -1 }
        dataKeysNotInModel = zip(data, modelRow).filter { $0.0 != missing && $0.1 < 0 }.count
        modelKeysNotInData = zip(model, dataRow).filter { $0.0 != missing && $0.1 < 0 }.count
        repeatedModelKeys = repeated
    }

    /// The model row of one key (a user asked for by id): the first row
    /// holding it, never `#na#`'s; nil when the model has no keys or not this one.
    public static func row(of key: String, in model: [String]) -> Int? {
        guard key != Vocabulary.missing else { return nil }
        return model.firstIndex(of: key)
    }
}
