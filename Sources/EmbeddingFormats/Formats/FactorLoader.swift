import Foundation
import EmbeddingCore

/// Loads item (and user) factors from any file format embtool reads, choosing
/// the reader by content (magic bytes) and, for text, by name:
///
/// | input                                   | reader            |
/// |-----------------------------------------|-------------------|
/// | `.safetensors` (embtool's own or any)   | `Safetensors`     |
/// | `torch.save` zip or legacy checkpoint   | `TorchCheckpoint` |
/// | fastai `learn.export()`, `torch.save(model)` | `FastaiExport` |
/// | `.npy`, `.npz` (stored or compressed)   | `Npy`, `Npz`      |
/// | CSV / TSV `label,f0,...`                | `DelimitedFactors`|
/// | folder or file `vectors.tsv` (+ metadata.tsv) | `Projector` |
/// | folder of `part-*.json` (Spark ALS)     | `SparkALS`        |
/// | `ALSModel.save()` folder, `part-*.parquet` | `SparkALSModel` |
/// | word2vec text / binary, GloVe text      | `Word2Vec`        |
///
/// Container formats hold named tensors; which is which follows the naming
/// conventions in `namings` unless `--items-tensor` / `--bias-tensor` say.
public enum FactorLoader {
    public struct Options: Sendable {
        /// The tensor (or `.npz` array) to use as item factors, overriding the naming conventions.
        public var itemsTensor: String?
        /// The tensor to use as item biases (with `itemsTensor`, or to add biases).
        public var biasTensor: String?
        /// A `.npy` vector of item biases, for factors saved without them.
        public var biasFile: String?
        /// Item labels, one per line or a JSON array, one per factor row.
        public var vocabularyFile: String?
        /// Refuse factors holding NaN or infinity instead of warning.
        public var strict = false
        /// Read the user side (factors, biases, labels). Commands that analyse
        /// items only turn it off: a container's user tensors are then listed
        /// but never read, which on a 59k-item / 162k-user model is most of the file.
        public var users = true
        /// Decode the items' genres from embtool's metadata (maps colour and
        /// correlate by them); `similar` and `bias` leave them out.
        public var genres = true
        /// Where warnings go; standard error by default.
        public var warn: @Sendable (String) -> Void = { message in
            FileHandle.standardError.write(Data("embtool: warning: \(message)\n".utf8))
        }
        public init() {}
    }

    /// A naming convention for the tensors of a collaborative-filtering model.
    public struct Naming: Sendable {
        public var name: String
        public var items: [String]
        public var itemBias: [String]
        public var users: [String]
        public var userBias: [String]
        /// False when the user and item vectors do not meet in a dot product
        /// (fastai's EmbeddingNN feeds both to an MLP), so predictions from them mean nothing.
        public var dotProduct: Bool
        /// fastai's collab models squash predictions with `sigmoid_range`; the range
        /// is not saved, so fastbook's (0, 5.5) is assumed.
        public var fastai: Bool
    }

    /// The naming of fastai's `EmbeddingNN`: a model with embeddings but no
    /// biases, whose predictions need its MLP (`EmbeddingNNModel`).
    public static let embeddingNN = "fastai EmbeddingNN / CollabNN"

    public static let namings: [Naming] = [
        Naming(name: "fastai EmbeddingDotBias", items: ["i_weight.weight"], itemBias: ["i_bias.weight"],
               users: ["u_weight.weight"], userBias: ["u_bias.weight"], dotProduct: true, fastai: true),
        Naming(name: "fastbook DotProductBias", items: ["movie_factors", "movie_factors.weight"],
               itemBias: ["movie_bias", "movie_bias.weight"], users: ["user_factors", "user_factors.weight"],
               userBias: ["user_bias", "user_bias.weight"], dotProduct: true, fastai: true),
        Naming(name: embeddingNN, items: ["embeds.1.weight"], itemBias: [],
               users: ["embeds.0.weight"], userBias: [], dotProduct: false, fastai: true),
        Naming(name: "embtool export", items: ["item_factors"], itemBias: ["item_bias"],
               users: ["user_factors"], userBias: ["user_bias"], dotProduct: true, fastai: false),
    ]

    /// Prefixes that wrap a state dict: fastai's `{'model': ..., 'opt': ...}`,
    /// DataParallel's `module.`, torch.compile's `_orig_mod.`, Lightning's `state_dict.`.
    static let wrapperPrefixes = ["model.", "module.", "_orig_mod.", "state_dict."]

    static let itemLabelArrays = ["item_labels", "items", "labels"]
    static let userLabelArrays = ["user_labels", "users"]

    public static func load(path: String, options: Options = Options()) throws -> FactorModel {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw EmbtoolError.noInput("\(path): no such file or folder")
        }
        var model = isDir.boolValue ? try loadFolder(path) : try loadFile(path, options: options)
        if let biasFile = options.biasFile { try attachBias(biasFile, to: &model) }
        guard model.itemCount > 0, model.factors > 0 else {
            throw EmbtoolError.data("\(path): item factors of shape \(model.itemCount) x \(model.factors): nothing to analyse")
        }
        if let vocabularyFile = options.vocabularyFile { try attachLabels(vocabularyFile, to: &model) }
        try checkFinite(&model, options: options)
        try ModelFile.validate(model, file: path)
        return model
    }

    /// Every tensor of a safetensors file, a PyTorch state-dict checkpoint or a
    /// fastai `learn.export()` (read as `loadFile` reads them), named as the
    /// model names them (wrappers such as fastai's `model.` removed): what a
    /// model other than factors (`EmbeddingNNModel`) is read from.
    public static func stateDict(path: String) throws -> [Tensor] {
        let data = try readInputFile(path)
        let entries: [TensorEntry]
        if ZipArchive.looksLike(data), let (_, tensors) = try FastaiExport.read(TorchCheckpoint.Archive(data: data, name: path)) {
            entries = tensors
        } else if ZipArchive.looksLike(data) || TorchCheckpoint.looksLikeLegacy(data) {
            entries = try TorchCheckpoint.read(data: data, name: path).tensors
        } else if Safetensors.looksLike(data) {
            entries = try Safetensors.index(data: data, name: path).tensors
        } else {
            throw EmbtoolError.data("\(path): a model's state dict is read from safetensors or a PyTorch checkpoint")
        }
        return try entries.map { entry in
            var t = try entry.load()
            t.name = unwrapped(t.name)
            return t
        }
    }

    // MARK: Folders

    static func loadFolder(_ path: String) throws -> FactorModel {
        let fm = FileManager.default
        if SparkALS.isFactorFolder(path) {
            return model(items: try SparkALS.read(folder: path), users: nil, path: path, format: "Spark ALS JSON",
                         itemsName: (path as NSString).lastPathComponent + "/part-*.json", usersName: nil)
        }
        if SparkALSModel.isModelFolder(path) { return try loadSparkModel(path) }
        if SparkALSModel.isFactorFolder(path) {
            return model(items: try SparkALSModel.readFactors(folder: path), users: nil, path: path, format: "Spark ALS Parquet",
                         itemsName: (path as NSString).lastPathComponent + "/part-*.parquet", usersName: nil)
        }
        let itemFolder = path + "/itemFactors", userFolder = path + "/userFactors"
        if SparkALS.isFactorFolder(itemFolder) {
            let users = SparkALS.isFactorFolder(userFolder) ? try SparkALS.read(folder: userFolder) : nil
            return model(items: try SparkALS.read(folder: itemFolder), users: users, path: path, format: "Spark ALS JSON",
                         itemsName: "itemFactors/part-*.json", usersName: users == nil ? nil : "userFactors/part-*.json")
        }
        if fm.fileExists(atPath: path + "/" + Projector.vectorsFile) {
            return try loadProjector(vectors: path + "/" + Projector.vectorsFile)
        }
        throw EmbtoolError.data("\(path): a folder, but it holds neither Spark ALS factors (a saved ALSModel's metadata/ and itemFactors/, part-*.json, part-*.parquet) "
            + "nor an Embedding Projector \(Projector.vectorsFile)")
    }

    /// A saved Spark `ALSModel`: rank and parameters from `metadata/`, both factor tables.
    static func loadSparkModel(_ path: String) throws -> FactorModel {
        let metadata = try SparkALSModel.readMetadata(folder: path)
        let items = try SparkALSModel.readFactors(folder: path + "/itemFactors", rank: metadata.rank)
        let userFolder = path + "/userFactors"
        let users = SparkALSModel.isFactorFolder(userFolder) ? try SparkALSModel.readFactors(folder: userFolder, rank: metadata.rank) : nil
        var m = model(items: items, users: users, path: path, format: "Spark ALSModel",
                      itemsName: "itemFactors/part-*.parquet", usersName: users == nil ? nil : "userFactors/part-*.parquet")
        for i in m.source?.entries.indices ?? 0..<0 { m.source?.entries[i].dtype = "float32" }
        let params = metadata.params.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        m.source?.notes.append("Spark \(metadata.sparkVersion) ALSModel \(metadata.uid), rank \(metadata.rank.map(String.init) ?? "?")"
            + (params.isEmpty ? "" : "; \(params)"))
        return m
    }

    static func loadProjector(vectors: String) throws -> FactorModel {
        let metadata = ((vectors as NSString).deletingLastPathComponent as NSString).appendingPathComponent(Projector.metadataFile)
        let hasMetadata = FileManager.default.fileExists(atPath: metadata)
        let table = try Projector.read(vectors: vectors, metadata: hasMetadata ? metadata : nil)
        var m = model(items: table, users: nil, path: vectors, format: "Embedding Projector TSV",
                      itemsName: Projector.vectorsFile, usersName: nil, keyed: hasMetadata)
        if hasMetadata {
            m.source?.entries.append(.init(name: Projector.metadataFile, shape: [table.labels.count], dtype: "text", role: .itemLabels))
        } else {
            m.source?.notes.append("no \(Projector.metadataFile) beside \(Projector.vectorsFile): labels are row numbers")
        }
        return m
    }

    /// A model from table-shaped factors: the labels become the item keys
    /// (so `--data` maps them by key), counts, biases and genres come along.
    static func model(items: FactorTable, users: FactorTable?, path: String, format: String,
                      itemsName: String, usersName: String?, keyed: Bool = true) -> FactorModel {
        var meta = ModelMetadata()
        meta.dataset = path
        meta.yRange = nil
        // Integer labels are ids (Spark's always are); anything else reads as titles.
        meta.itemKey = items.labels.allSatisfy { Int64($0) != nil } ? .id : .title
        if keyed { meta.itemKeys = items.labels }
        meta.itemLabels = items.labels
        meta.itemCounts = items.counts ?? []
        meta.itemGenres = items.genres ?? []
        if let users { meta.userLabels = users.labels }
        var entries = [FactorSource.Entry(name: itemsName, shape: [items.factors.rows, items.factors.cols], dtype: "text", role: .itemFactors)]
        if items.bias != nil { entries.append(.init(name: "bias column", shape: [items.factors.rows], dtype: "text", role: .itemBias)) }
        if let users, let usersName {
            entries.append(.init(name: usersName, shape: [users.factors.rows, users.factors.cols], dtype: "text", role: .userFactors))
        }
        var m = FactorModel(userFactors: users?.factors, itemFactors: items.factors, userBias: users?.bias, itemBias: items.bias, meta: meta)
        m.source = FactorSource(path: path, format: format, entries: entries)
        return m
    }

    // MARK: Files

    static func loadFile(_ path: String, options: Options) throws -> FactorModel {
        let data = try readInputFile(path)
        let fileName = (path as NSString).lastPathComponent
        let ext = (path as NSString).pathExtension.lowercased()

        if ZipArchive.looksLike(data) {
            let zip = try ZipArchive(data: data, name: path)
            if zip.entries.contains(where: { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }) {
                // A pickled object (a fastai Learner, a whole module) is read as an inert graph;
                // a state dict by the restricted reader.
                let archive = try TorchCheckpoint.Archive(data: data, name: path)
                if let (contents, tensors) = try FastaiExport.read(archive) {
                    return try model(export: contents, tensors: tensors, archive: archive, options: options)
                }
                let (format, tensors) = try TorchCheckpoint.read(data: data, name: path)
                return try model(tensors: tensors, labels: [:], metadata: [:], path: path, format: format, options: options)
            }
            let arrays = try Npz.read(data: data, name: path)
            var tensors: [TensorEntry] = [], labels: [String: (Npy.Array, [String])] = [:]
            for (name, array) in arrays {
                if case .number = array.kind {
                    tensors.append(TensorEntry(name: name, shape: array.shape, dtype: array.dtype) { try array.floats(name: "\(path)[\(name)]") })
                } else {
                    labels[name] = (array, try array.strings(name: "\(path)[\(name)]"))
                }
            }
            return try model(tensors: tensors, labels: labels, metadata: [:], path: path, format: "NumPy .npz", options: options)
        }
        if TorchCheckpoint.looksLikeLegacy(data) {
            let (format, tensors) = try TorchCheckpoint.read(data: data, name: path)
            return try model(tensors: tensors, labels: [:], metadata: [:], path: path, format: format, options: options)
        }
        if Npy.looksLike(data) {
            let array = try Npy.read(data: data, name: path)
            let tensor = TensorEntry(name: fileName, shape: array.shape, dtype: array.dtype) { try array.floats(name: path) }
            var o = options
            o.itemsTensor = fileName
            return try model(tensors: [tensor], labels: [:], metadata: [:], path: path, format: "NumPy .npy", options: o)
        }
        if ext == "safetensors" || Safetensors.looksLike(data) {
            let file = try Safetensors.index(data: data, name: path)
            return try model(tensors: file.tensors, labels: [:], metadata: file.metadata, path: path, format: "safetensors", options: options)
        }
        if data.starts(with: Array("PAR1".utf8)) {
            // One Parquet file of Spark-shaped factors (`id`, `features`).
            var ids: [Int64] = [], values: [Float] = [], width = -1
            try SparkALSModel.readFactors(file: ParquetFile(data: data, name: path), ids: &ids, values: &values, width: &width)
            guard !ids.isEmpty else { throw EmbtoolError.data("\(path): no factor rows") }
            return model(items: try SparkALS.table(ids: ids, values: values, width: width, folder: path), users: nil, path: path,
                         format: "Parquet id/features", itemsName: fileName, usersName: nil)
        }
        if data.first == 0x80 {
            throw EmbtoolError.data("\(path): a Python pickle but not a torch.save checkpoint; embtool reads PyTorch's zip and legacy formats only")
        }
        if data.count > 262, data[data.startIndex + 257..<data.startIndex + 262].elementsEqual(Array("ustar".utf8)) {
            throw EmbtoolError.data("\(path): a tar archive (PyTorch's pre-0.4 format?); re-save it with a current torch.save")
        }
        if data.prefix(4096).contains(0) && ext != "bin" {
            throw EmbtoolError.data("\(path): not a factor format embtool reads (safetensors, PyTorch .pth/.pt, .npy, .npz, "
                + "CSV/TSV, Projector vectors.tsv, Spark ALS folder or Parquet, word2vec)")
        }

        // Text formats.
        if fileName == Projector.vectorsFile { return try loadProjector(vectors: path) }
        let table: FactorTable, format: String
        if ext == "bin" {
            (table, format) = (try Word2Vec.readBinary(data: data, name: path), "word2vec binary")
        } else if Word2Vec.hasHeader(data) {
            (table, format) = (try Word2Vec.readText(data: data, name: path), "word2vec text")
        } else if ext == "csv" || ext == "tsv" || firstLine(data).contains(where: { $0 == 0x2C || $0 == 0x09 }) {
            (table, format) = (try DelimitedFactors.read(data: data, name: path), ext == "tsv" || firstLine(data).contains(0x09) ? "TSV" : "CSV")
        } else {
            (table, format) = (try Word2Vec.readText(data: data, name: path), "GloVe / word2vec text without header")
        }
        return model(items: table, users: nil, path: path, format: format, itemsName: fileName, usersName: nil)
    }

    static func firstLine(_ data: Data) -> Data { data.prefix(4096).split(separator: 0x0A, maxSplits: 1).first ?? Data() }

    // MARK: Named tensors

    /// The entry called `name`, or whose name is `name` once wrapper prefixes
    /// (`model.`, `module.`, ...) are removed.
    static func find(_ name: String, in tensors: [TensorEntry]) -> TensorEntry? {
        if let t = tensors.first(where: { $0.name == name }) { return t }
        return tensors.first { unwrapped($0.name) == name }
    }

    static func find(any names: [String], in tensors: [TensorEntry]) -> TensorEntry? {
        names.lazy.compactMap { find($0, in: tensors) }.first
    }

    /// The first naming convention whose item tensor the file holds, and that tensor.
    static func matchNaming(_ tensors: [TensorEntry]) -> (Naming, TensorEntry)? {
        for n in namings {
            if let t = find(any: n.items, in: tensors) { return (n, t) }
        }
        return nil
    }

    static func unwrapped(_ name: String) -> String {
        var n = Substring(name)
        while let p = wrapperPrefixes.first(where: { n.hasPrefix($0) }) { n = n.dropFirst(p.count) }
        return String(n)
    }

    static func matrix(_ t: Tensor, path: String) throws -> Matrix {
        guard t.shape.count == 2 else {
            throw EmbtoolError.data("\(path): tensor '\(t.name)' has shape \(t.shape); factors need rows x factors")
        }
        return t.matrix!
    }

    static func vector(_ t: Tensor, rows: Int, what: String, path: String) throws -> [Float] {
        guard (t.shape.count == 1 || (t.shape.count == 2 && t.shape[1] == 1)) && t.shape[0] == rows else {
            throw EmbtoolError.data("\(path): \(what) '\(t.name)' has shape \(t.shape); expected [\(rows)] or [\(rows), 1] to match the factors")
        }
        return t.values
    }

    static func model(tensors: [TensorEntry], labels: [String: (Npy.Array, [String])], metadata: Safetensors.Metadata,
                      path: String, format: String, options: Options) throws -> FactorModel {
        var roles: [String: FactorSource.Role] = [:]
        var notes: [String] = []
        var naming: Naming?
        var itemsEntry: TensorEntry, itemBiasEntry: TensorEntry?, usersEntry: TensorEntry?, userBiasEntry: TensorEntry?
        // The user factors' tensor even when they are not read: its row count checks the posterior's user side.
        var userFactorsInFile: TensorEntry?

        func listing() -> String {
            tensors.prefix(20).map { "\($0.name) \($0.shape)" }.joined(separator: ", ") + (tensors.count > 20 ? ", ..." : "")
        }
        if let name = options.itemsTensor {
            guard let t = find(name, in: tensors) else {
                throw EmbtoolError.data("\(path): no tensor '\(name)'; it holds \(listing())")
            }
            itemsEntry = t
        } else if let (n, t) = matchNaming(tensors) {
            (naming, itemsEntry) = (n, t)
            itemBiasEntry = find(any: n.itemBias, in: tensors)
            let users = find(any: n.users, in: tensors)
            if n.dotProduct {
                userFactorsInFile = users
                usersEntry = options.users ? users : nil
                userBiasEntry = find(any: n.userBias, in: tensors)
            } else if let users {
                notes.append("\(users.name) holds user embeddings, but \(n.name) feeds them to an MLP, not a dot product: not used as user factors")
            }
        } else {
            let matrices = tensors.filter { $0.shape.count == 2 && !unwrapped($0.name).hasPrefix("opt.") }
            guard matrices.count == 1, let only = matrices.first else {
                throw EmbtoolError.data("\(path): no tensor is named like item factors (fastai i_weight.weight, fastbook movie_factors, "
                    + "embeds.1.weight, item_factors); it holds \(listing())", reason: .itemsTensorUnknown)
            }
            itemsEntry = only
            notes.append("no known naming; '\(only.name)' is the only matrix, used as item factors")
        }
        if let name = options.biasTensor {
            guard let t = find(name, in: tensors) else {
                throw EmbtoolError.data("\(path): no tensor '\(name)' for the item biases; it holds \(listing())", reason: .biasTensorMissing(name))
            }
            itemBiasEntry = t
        }

        let items = try matrix(try itemsEntry.load(), path: path)
        roles[itemsEntry.name] = .itemFactors
        var itemBias: [Float]?
        if let e = itemBiasEntry {
            itemBias = try vector(try e.load(), rows: items.rows, what: "item bias", path: path)
            roles[e.name] = .itemBias
        }
        var users: Matrix?, userBias: [Float]?
        if let e = usersEntry {
            users = try matrix(try e.load(), path: path)
            roles[e.name] = .userFactors
            if let b = userBiasEntry {
                userBias = try vector(try b.load(), rows: users!.rows, what: "user bias", path: path)
                roles[b.name] = .userBias
            }
        }

        var meta: ModelMetadata
        if try metadata.value("producer") == "embtool" {
            meta = try ModelFile.metadata(from: metadata, file: path, users: options.users, genres: options.genres)
            guard meta.itemKeys.isEmpty || meta.itemKeys.count == items.rows else {
                throw EmbtoolError.data("\(path): metadata lists \(meta.itemKeys.count) items but the factors have \(items.rows) rows")
            }
            if let users, !meta.userLabels.isEmpty, meta.userLabels.count != users.rows {
                throw EmbtoolError.data("\(path): metadata lists \(meta.userLabels.count) users but the user factors have \(users.rows) rows")
            }
        } else {
            meta = ModelMetadata()
            meta.dataset = path
            if naming?.fastai == true {
                notes.append("y_range is not stored in checkpoints; assuming fastbook's (0, 5.5) for predictions")
            } else {
                meta.yRange = nil
            }
        }
        // Text arrays in an .npz label the rows.
        var entries = tensors.map { FactorSource.Entry(name: $0.name, shape: $0.shape, dtype: $0.dtype, role: roles[$0.name]) }
        for (name, (array, strings)) in labels.sorted(by: { $0.key < $1.key }) {
            var role: FactorSource.Role?
            if itemLabelArrays.contains(name), strings.count == items.rows, meta.itemKeys.isEmpty {
                meta.itemKeys = strings
                meta.itemLabels = strings
                role = .itemLabels
            } else if userLabelArrays.contains(name), let users, strings.count == users.rows, meta.userLabels.isEmpty {
                meta.userLabels = strings
                role = .userLabels
            }
            entries.append(.init(name: name, shape: array.shape, dtype: array.dtype, role: role))
        }
        if meta.itemLabels.count != items.rows { meta.itemLabels = (0..<items.rows).map(String.init) }

        var m = FactorModel(userFactors: users, itemFactors: items, userBias: userBias, itemBias: itemBias, meta: meta)
        if let userRows = users?.rows ?? userFactorsInFile?.shape.first {
            m.posterior = try posterior(tensors, items: items, users: userRows, path: path, roles: &roles)
            for j in entries.indices where entries[j].role == nil { entries[j].role = roles[entries[j].name] }
        }
        var source = FactorSource(path: path, format: format, naming: naming?.name, entries: entries)
        source.notes = notes
        m.source = source
        return m
    }

    /// The posterior tensors of a sampled model (`Posterior`), when the file
    /// holds them: all four sd vectors or none, each matching its side's rows;
    /// the samples, when present, `[S, items, k]`.
    static func posterior(_ tensors: [TensorEntry], items: Matrix, users: Int, path: String,
                          roles: inout [String: FactorSource.Role]) throws -> Posterior? {
        let found = Posterior.sdNames.map { find($0, in: tensors) }
        guard found.contains(where: { $0 != nil }) else { return nil }
        guard found.allSatisfy({ $0 != nil }) else {
            throw EmbtoolError.data("\(path): holds some posterior sd tensors but not all of \(Posterior.sdNames.joined(separator: ", "))")
        }
        var sds: [[Float]] = []
        for (entry, rows) in zip(found.map { $0! }, [items.rows, users, items.rows, users]) {
            sds.append(try vector(try entry.load(), rows: rows, what: "posterior sd", path: path))
            roles[entry.name] = .posteriorSD
        }
        var result = Posterior(itemBiasSD: sds[0], userBiasSD: sds[1], itemNormSD: sds[2], userNormSD: sds[3])
        if let entry = find(Posterior.itemSamplesName, in: tensors) {
            guard entry.shape.count == 3, entry.shape[1] == items.rows, entry.shape[2] == items.cols else {
                throw EmbtoolError.data("\(path): '\(entry.name)' has shape \(entry.shape); expected [samples, \(items.rows), \(items.cols)]")
            }
            result.itemSamples = try entry.load().values
            result.sampleCount = entry.shape[0]
            roles[entry.name] = .posteriorSamples
        }
        return result
    }

    // MARK: Options applied after reading

    static func attachBias(_ path: String, to model: inout FactorModel) throws {
        let array = try Npy.read(path: path)
        let values = try array.floats(name: path)
        let rows = model.itemCount
        guard (array.shape.count == 1 || (array.shape.count == 2 && array.shape[1] == 1)) && array.shape[0] == rows else {
            throw EmbtoolError.data("\(path): bias of shape \(array.shape); expected [\(rows)] to match the \(rows) item rows")
        }
        model.itemBias = values
        // The file's posterior describes the biases it held, not these.
        model.posterior = nil
        model.source?.entries.append(.init(name: (path as NSString).lastPathComponent, shape: array.shape, dtype: array.dtype, role: .itemBias))
        model.source?.entries.indices.forEach { i in
            if model.source?.entries[i].role == .itemBias && model.source?.entries[i].name != (path as NSString).lastPathComponent {
                model.source?.entries[i].role = nil
            }
        }
    }

    /// Item labels, one per line (a final line break ends the last), or a JSON array.
    public static func readVocabulary(_ path: String) throws -> [String] {
        let data = try readInputFile(path)
        if data.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) == UInt8(ascii: "[") {
            guard let array = try? JSONSerialization.jsonObject(with: data) as? [Any] else {
                throw EmbtoolError.data("\(path): starts with '[' but is not a JSON array")
            }
            return try array.enumerated().map { i, v in
                if let s = v as? String { return s }
                if let n = v as? NSNumber { return n.stringValue }
                throw EmbtoolError.data("\(path): element \(i) is neither a string nor a number")
            }
        }
        return data.withUnsafeBytes { raw in Projector.lines(raw).map { TextField.text(UnsafeRawBufferPointer(rebasing: raw[$0])) } }
    }

    static func attachLabels(_ path: String, to model: inout FactorModel) throws {
        let labels = try readVocabulary(path)
        let rows = model.itemCount
        guard labels.count == rows else {
            let hint = labels.count + 1 == rows ? " (fastai's vocabulary starts with '#na#' for row 0; is it missing?)" : ""
            throw EmbtoolError.data("\(path): \(labels.count) labels for \(rows) item rows\(hint)")
        }
        model.meta.itemKeys = labels
        model.meta.itemLabels = labels
        model.source?.entries.append(.init(name: (path as NSString).lastPathComponent, shape: [labels.count], dtype: "text", role: .itemLabels))
    }

    /// Counts NaN and infinite values per role (a text file's number beyond
    /// Float's ±3.4e38 reads as infinite): a warning, or with `strict` an error.
    static func checkFinite(_ model: inout FactorModel, options: Options) throws {
        func count(_ values: [Float]?) -> Int { values?.reduce(0) { $1.isFinite ? $0 : $0 + 1 } ?? 0 }
        let counts: [(FactorSource.Role, Int)] = [
            (.itemFactors, count(model.itemFactors.data)), (.itemBias, count(model.itemBias)),
            (.userFactors, count(model.userFactors?.data)), (.userBias, count(model.userBias)),
        ].filter { $0.1 > 0 }
        guard !counts.isEmpty else { return }
        let path = model.source?.path ?? model.meta.dataset
        let summary = counts.map { "\($0.1) in \($0.0.rawValue)" }.joined(separator: ", ")
        if options.strict {
            throw EmbtoolError.data("\(path): NaN, infinite or out-of-range values (\(summary)); refusing them", reason: .nonFinite)
        }
        options.warn("\(path): NaN, infinite or out-of-range values (\(summary)); results involving those rows are meaningless")
        for (role, n) in counts { model.source?.nonFinite[role] = n }
    }

    // MARK: Vocabulary from ratings

    /// Labels, counts and genres from the ratings the factors were trained on.
    ///
    /// Factors whose rows carry keys (CSV labels, Spark ids, an embtool model)
    /// are matched key by key against the ratings' item vocabulary. Factors with
    /// bare rows (a fastai checkpoint) take the vocabulary fastai would build
    /// from the same ratings, row for row; its size must equal the row count.
    public static func attachVocabulary(_ model: FactorModel, ratings: Ratings,
                                        warn: @Sendable (String) -> Void = { FileHandle.standardError.write(Data("embtool: warning: \($0)\n".utf8)) }) throws -> FactorModel {
        var m = model
        let name = model.source?.path ?? model.meta.dataset
        guard model.meta.itemKeys.isEmpty || model.meta.itemKeys.count == model.itemCount else {
            throw EmbtoolError.data("\(name): \(model.meta.itemKeys.count) item keys for \(model.itemCount) rows")
        }
        m.meta.itemLabels = (0..<model.itemCount).map(model.itemLabel)
        let counts = ratings.itemCounts()
        if model.meta.itemKeys.isEmpty {
            guard ratings.items.count == model.itemCount else {
                let other: ItemKey = ratings.itemKey == .title ? .id : .title
                throw EmbtoolError.data("\(name) has \(model.itemCount) item rows but the vocabulary fastai builds from \(ratings.name) "
                    + "(items keyed by \(ratings.itemKey.rawValue)) has \(ratings.items.count); were the factors trained with items keyed by \(other.rawValue)?",
                    reason: .itemKey(other))
            }
            m.meta.itemKeys = ratings.items.labels
            m.meta.itemLabels = ratings.itemLabels
            m.meta.itemCounts = counts
            m.meta.itemGenres = ratings.itemGenres
        } else {
            var labels = m.meta.itemLabels, rowCounts = [Int](repeating: 0, count: model.itemCount)
            var genres = [[String]](repeating: [], count: model.itemCount)
            let alignment = KeyAlignment(data: ratings.items.labels, model: model.meta.itemKeys, modelRows: model.itemCount)
            for (row, r) in alignment.dataRow.enumerated() where r >= 0 {
                labels[row] = ratings.itemLabels[r]
                rowCounts[row] = counts[r]
                genres[row] = ratings.itemGenres[r]
            }
            let missing = alignment.modelKeysNotInData
            guard missing < model.itemCount - (model.meta.firstItemRow) else {
                throw EmbtoolError.data("\(name): none of its \(model.itemCount) item keys (e.g. '\(model.meta.itemKeys.last ?? "")') is an item of \(ratings.name) "
                    + "keyed by \(ratings.itemKey.rawValue)\(ratings.itemKey == .title ? "; ids (Spark) need items keyed by id" : "")",
                    reason: ratings.itemKey == .title ? .itemKey(.id) : nil)
            }
            if missing > 0 { warn("\(name): \(missing) of \(model.itemCount) item keys are not in \(ratings.name); they keep their keys as labels") }
            m.meta.itemLabels = labels
            m.meta.itemCounts = rowCounts
            m.meta.itemGenres = genres
        }
        m.meta.itemKey = ratings.itemKey
        if m.meta.dataset == name || m.meta.dataset.isEmpty { m.meta.dataset = ratings.name }
        if let users = model.userFactors, model.meta.userLabels.isEmpty {
            guard users.rows == ratings.users.count else {
                throw EmbtoolError.data("\(name) has \(users.rows) user rows but \(ratings.name) has \(ratings.users.count) users (with fastai's '#na#')")
            }
            m.meta.userLabels = ratings.users.labels
        }
        return m
    }
}
