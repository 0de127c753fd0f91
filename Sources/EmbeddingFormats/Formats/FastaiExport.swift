import Foundation
import EmbeddingCore

/// Reads a whole pickled model without running it: fastai's `learn.export()`
/// (what `load_learner` opens and the Hugging Face Hub's fastai integration
/// stores as `model.pkl`) and `torch.save(model)`. Both are `torch.save` zips
/// whose pickle describes objects — the `Learner`, its `DataLoaders`, transforms,
/// callbacks, the model module — by naming their classes.
///
/// The pickle is read in `Pickle.Mode.graph`: every class and function it names
/// becomes an inert placeholder and each construction is only recorded, so no
/// code is imported or executed. From that graph:
/// 1. `findModel`: the `Learner`'s `model` attribute, the root itself when it is
///    a module, else the first module (breadth first) holding `u_weight`/`i_weight`
///    or `embeds`. A torch module is an object whose state has `_parameters` and `_modules`.
/// 2. `moduleTensors`: its parameters and buffers named as `model.state_dict()`
///    names them (`i_weight.weight`, `embeds.1.weight`), so `FactorLoader`'s
///    namings apply; tensors go through the same checked storage path as a `.pth`.
/// 3. `vocabularies`: the categorical columns' labels — `EmbeddingDotBias.classes`
///    (with its `user` and `item` names) or the `Categorify` transform's `classes`,
///    each a `CategoryMap` whose `items` list starts with `#na#` at row 0. fastai's
///    collab learners put the user column first and the item column second.
/// 4. `yRange`: `EmbeddingDotBias.y_range`, or a `SigmoidRange` layer's `low`/`high`.
public enum FastaiExport {
    /// One categorical column's vocabulary, in row order.
    public struct Column: Equatable, Sendable {
        public var name: String
        public var labels: [String]
    }

    /// What the graph holds, before any tensor is read.
    struct Contents {
        var rootClass: String
        var modelClass: String
        /// Where the model was found: `Learner.model`, `the pickled module`, ...
        var location: String
        var tensors: [(name: String, tensor: Pickle.TensorRef)]
        var columns: [Column]
        var userColumn: String?
        var itemColumn: String?
        /// nil when the model records none; `.some(nil)` when it records `y_range=None`.
        var yRange: (low: Float, high: Float)??
        var inertObjects: [String: Int]
    }

    /// The contents of a torch zip whose pickle's root is an object, or nil when
    /// the root is plain data (a state dict, read by the restricted reader instead).
    static func read(_ archive: TorchCheckpoint.Archive) throws -> (Contents, [TensorEntry])? {
        let name = archive.name
        let bytes = try archive.zip.contents(of: archive.pickle)
        let budget = 4 * bytes.count + 1000
        let contents = try Pickle.load(bytes, name: name, mode: .graph) { root -> Contents? in
            guard case .object(let rootObject) = root else { return nil }
            return try interpret(rootObject, name: name, budget: budget)
        }.0
        guard let contents else { return nil }
        return (contents, try archive.tensors(contents.tensors))
    }

    static func interpret(_ root: Pickle.Object, name: String, budget: Int) throws -> Contents {
        let objects = try reachableObjects(from: .object(root), name: name, budget: budget)
        guard let (model, location) = findModel(root: root, objects: objects) else {
            let what = root.className == "fastai.learner.Learner" ? "a fastai Learner without a torch model"
                : "the pickle's root is \(root.className)(…), not a fastai Learner or a torch module"
            throw EmbtoolError.data("\(name): \(what); it was read as data, nothing imported or executed")
        }
        let (tensors, modules) = try moduleTensors(model, name: name, budget: budget)
        var (columns, user, item) = vocabularies(model: model, objects: objects)
        if user == nil, columns.count >= 2 { (user, item) = (columns[0].name, columns[1].name) }
        var inert: [String: Int] = [:]
        for o in objects where !modules.contains(ObjectIdentifier(o)) { inert[o.className, default: 0] += 1 }
        return Contents(rootClass: root.className, modelClass: model.className, location: location, tensors: tensors,
                        columns: columns, userColumn: user, itemColumn: item,
                        yRange: yRange(model, modules: objects.filter { modules.contains(ObjectIdentifier($0)) }), inertObjects: inert)
    }

    // MARK: Graph

    /// Every object reachable from `root`, breadth first, each once. `budget`
    /// bounds the nodes visited: shared tuples can make a small pickle describe
    /// an exponentially large tree.
    static func reachableObjects(from root: Pickle.Value, name: String, budget: Int) throws -> [Pickle.Object] {
        var queue: [Pickle.Value] = [root], head = 0, visits = 1
        var seen = Set<ObjectIdentifier>()
        var objects: [Pickle.Object] = []
        func enqueue(_ v: Pickle.Value) throws {
            visits += 1
            guard visits <= budget else { throw EmbtoolError.data("\(name): pickle describes a structure far larger than the file") }
            queue.append(v)
        }
        while head < queue.count {
            let v = queue[head]
            head += 1
            switch v {
            case .tuple(let items, _):
                for item in items { try enqueue(item) }
            case .list(let l):
                guard seen.insert(ObjectIdentifier(l)).inserted else { continue }
                for item in l.items { try enqueue(item) }
            case .dict(let d):
                guard seen.insert(ObjectIdentifier(d)).inserted else { continue }
                for (key, value) in d.entries { try enqueue(key); try enqueue(value) }
            case .object(let o):
                guard seen.insert(ObjectIdentifier(o)).inserted else { continue }
                objects.append(o)
                try enqueue(o.callable)
                for a in o.args { try enqueue(a) }
                if let state = o.state { try enqueue(state) }
                for item in o.listItems { try enqueue(item) }
                for (key, value) in o.dictItems { try enqueue(key); try enqueue(value) }
            default: break
            }
            // Drop what has been visited so the queue holds only the frontier.
            if head > 4096 && head * 2 > queue.count { queue.removeFirst(head); head = 0 }
        }
        return objects
    }

    /// A torch `nn.Module`: its state holds `_parameters` and `_modules` dicts.
    static func isModule(_ o: Pickle.Object) -> Bool {
        if case .dict? = o.attribute("_parameters"), case .dict? = o.attribute("_modules") { return true }
        return false
    }

    static func children(_ o: Pickle.Object) -> [(name: String, module: Pickle.Object)] {
        guard case .dict(let d)? = o.attribute("_modules") else { return [] }
        return d.entries.compactMap { entry in
            guard let key = entry.key.keyText, case .object(let child) = entry.value, isModule(child) else { return nil }
            return (key, child)
        }
    }

    /// A collaborative-filtering model: fastai's `EmbeddingDotBias` (`u_weight`,
    /// `i_weight`) or `EmbeddingNN` (`embeds`).
    static func isCollab(_ o: Pickle.Object) -> Bool {
        let names = Set(children(o).map(\.name))
        return names.isSuperset(of: ["u_weight", "i_weight"]) || names.contains("embeds")
    }

    static func findModel(root: Pickle.Object, objects: [Pickle.Object]) -> (Pickle.Object, String)? {
        if isModule(root) { return (root, "the pickled module") }
        if case .object(let m)? = root.attribute("model"), isModule(m) {
            return (m, "\(root.className.split(separator: ".").last ?? "").model")
        }
        return objects.first { isModule($0) && isCollab($0) }.map { ($0, "a module inside the pickled \(root.className)") }
    }

    /// The module's parameters and buffers under the names `state_dict()` gives
    /// them (own first, then each child's under `child.`, depth first), and the
    /// modules visited.
    static func moduleTensors(_ model: Pickle.Object, name: String, budget: Int) throws
        -> ([(name: String, tensor: Pickle.TensorRef)], Set<ObjectIdentifier>) {
        var out: [(name: String, tensor: Pickle.TensorRef)] = []
        var stack = [(model, "")]
        var seen = Set<ObjectIdentifier>()
        while let (m, prefix) = stack.popLast() {
            guard seen.insert(ObjectIdentifier(m)).inserted else { continue }
            guard prefix.utf8.count <= 4096 else { throw EmbtoolError.data("\(name): modules nested too deeply") }
            for key in ["_parameters", "_buffers"] {
                guard case .dict(let d)? = m.attribute(key) else { continue }
                for entry in d.entries {
                    if let k = entry.key.keyText, case .tensor(let t) = entry.value { out.append((prefix + k, t)) }
                }
            }
            stack += children(m).reversed().map { ($0.module, prefix + $0.name + ".") }
            guard out.count + stack.count <= budget else { throw EmbtoolError.data("\(name): pickle describes a structure far larger than the file") }
        }
        return (out, seen)
    }

    // MARK: Vocabularies

    /// The categorical columns and which are the users and the items, as the
    /// model records them (`EmbeddingDotBias.from_classes` keeps `classes`,
    /// `user`, `item`), else from the first `Categorify` transform.
    static func vocabularies(model: Pickle.Object, objects: [Pickle.Object]) -> ([Column], user: String?, item: String?) {
        if case .dict(let classes)? = model.attribute("classes") {
            var user: String?, item: String?
            if case .string(let u)? = model.attribute("user") { user = u }
            if case .string(let i)? = model.attribute("item") { item = i }
            return (columns(classes), user, item)
        }
        for o in objects where o.className.hasSuffix(".Categorify") {
            if case .dict(let classes)? = o.attribute("classes") { return (columns(classes), nil, nil) }
        }
        return ([], nil, nil)
    }

    static func columns(_ classes: Pickle.Dict) -> [Column] {
        classes.entries.compactMap { entry in
            guard let name = entry.key.keyText, let labels = labels(entry.value) else { return nil }
            return Column(name: name, labels: labels)
        }
    }

    /// A `CategoryMap`'s labels: its `items` (a fastcore `L`, read as a list),
    /// each a string or a number as Python's `str` prints it. Nil when any is something else.
    static func labels(_ value: Pickle.Value) -> [String]? {
        var items = value
        if case .object(let o) = value { items = o.attribute("items") ?? .none }
        guard case .list(let list) = items else { return nil }
        var out: [String] = []
        out.reserveCapacity(list.items.count)
        for item in list.items {
            switch item {
            case .string(let s): out.append(s)
            case .int(let i): out.append(String(i))
            case .float(let d): out.append(String(d))  // 1001.0, 0.5: as Python prints them
            case .bool(let b): out.append(b ? "True" : "False")
            default: return nil
            }
        }
        return out
    }

    static func number(_ v: Pickle.Value) -> Float? {
        switch v {
        case .int(let i): return Float(i)
        case .float(let d): return Float(d)
        default: return nil
        }
    }

    /// `EmbeddingDotBias.y_range` (a pair or None), else the first `SigmoidRange` layer's bounds.
    static func yRange(_ model: Pickle.Object, modules: [Pickle.Object]) -> (low: Float, high: Float)?? {
        if let v = model.attribute("y_range") {
            if case .tuple(let t, _) = v, t.count == 2, let low = number(t[0]), let high = number(t[1]) { return .some((low, high)) }
            if case .none = v { return .some(nil) }
        }
        for o in modules where o.className.hasSuffix(".SigmoidRange") {
            if let l = o.attribute("low").flatMap(number), let h = o.attribute("high").flatMap(number) { return .some((l, h)) }
        }
        return nil
    }
}

extension FactorLoader {
    /// A `FactorModel` from a pickled Learner or module: the factors by the
    /// usual namings, labels and `y_range` from the file itself.
    static func model(export contents: FastaiExport.Contents, tensors: [TensorEntry], archive: TorchCheckpoint.Archive,
                      options: Options) throws -> FactorModel {
        let path = archive.name
        let isLearner = contents.rootClass == "fastai.learner.Learner"
        let format = isLearner ? "fastai learn.export() (PyTorch zip)" : "whole pickled module, torch.save(model) (PyTorch zip)"
        var m = try model(tensors: tensors, labels: [:], metadata: [:], path: path, format: format, options: options)
        var notes = m.source?.notes.filter { !$0.hasPrefix("y_range is not stored") } ?? []
        notes.insert("model: \(contents.modelClass) (\(contents.location)); read as data, nothing imported or executed", at: 0)
        switch contents.yRange {
        case .some(.some(let r)): m.meta.yRange = ModelMetadata.YRange(low: r.low, high: r.high)
        case .some(.none): m.meta.yRange = nil
        case .none:
            if m.meta.yRange != nil { notes.append("the model records no y_range; assuming fastbook's (0, 5.5) for predictions") }
        }

        // Labels: the item column's vocabulary when it has one label per factor row.
        let byName = Dictionary(contents.columns.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var entries = m.source?.entries ?? []
        if options.itemsTensor == nil, let name = contents.itemColumn, let column = byName[name] {
            if column.labels.count == m.itemCount {
                m.meta.itemKeys = column.labels
                m.meta.itemLabels = column.labels
                m.meta.itemKey = column.labels.dropFirst().allSatisfy { Int64($0) != nil } ? .id : .title
            } else {
                notes.append("the '\(name)' vocabulary has \(column.labels.count) labels for \(m.itemCount) item rows: labels are row numbers")
            }
        }
        if let users = m.userFactors, let name = contents.userColumn, let column = byName[name], column.labels.count == users.rows {
            m.meta.userLabels = column.labels
        }
        for column in contents.columns {
            let role: FactorSource.Role? = column.name == contents.itemColumn && m.meta.itemKeys == column.labels ? .itemLabels
                : column.name == contents.userColumn && m.meta.userLabels == column.labels ? .userLabels : nil
            entries.append(.init(name: "classes['\(column.name)']", shape: [column.labels.count], dtype: "text", role: role))
        }
        if contents.columns.isEmpty { notes.append("no categorical vocabulary (Categorify classes) in the file: labels are row numbers") }

        var versions = ["fastai and torch versions: not recorded in the file"]
        if let v = archive.text("version") { versions.append("torch zip serialization format \(v)") }
        notes.append(versions.joined(separator: "; "))
        m.source?.entries = entries
        m.source?.notes = notes
        m.source?.inertObjects = contents.inertObjects
        return m
    }
}
