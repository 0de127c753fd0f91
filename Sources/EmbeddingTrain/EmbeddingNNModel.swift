import Foundation
import EmbeddingCore
import EmbeddingLinalg

/// The sizes of fastai's `EmbeddingNN` as `collab_learner(dls, use_nn=True,
/// layers=layers)` builds it (`fastai/collab.py`, `fastai/tabular/model.py`):
/// one embedding per categorical variable (users, then items), each
/// `get_emb_sz`'s width, and `TabularModel`'s layers
///
///     x   = [embeds.0(u) ; embeds.1(i)]                       n_emb = w_users + w_items
///     x   ← BatchNorm1d(ReLU(x · W_lᵀ))    for each hidden width  (LinBnDrop, lin_first)
///     out = x · w_outᵀ + b_out                                  (the last LinBnDrop: no BatchNorm)
///     ŷ   = sigmoid_range(out, low, high)                       (SigmoidRange, when y_range is set)
///
/// With collab_learner's defaults there is no dropout (`embed_p = 0`, `ps = 0`
/// for every layer) and the BatchNorm1d of the continuous variables,
/// `bn_cont`, has 0 features (collab data has none).
public struct EmbeddingNNShape: Equatable, Sendable {
    /// Vocabulary sizes (`#na#` included) and the embeddings' widths.
    public var users, items, userWidth, itemWidth: Int
    /// Widths of the hidden layers (fastbook chapter 8: [100, 50]).
    public var layers: [Int]

    /// fastai's `get_emb_sz` for `users` and `items` categories (vocabulary sizes, `#na#` included).
    public init(users: Int, items: Int, layers: [Int]) {
        self.init(users: users, items: items, userWidth: Self.embeddingWidth(categories: users),
                  itemWidth: Self.embeddingWidth(categories: items), layers: layers)
    }

    public init(users: Int, items: Int, userWidth: Int, itemWidth: Int, layers: [Int]) {
        (self.users, self.items, self.userWidth, self.itemWidth, self.layers) = (users, items, userWidth, itemWidth, layers)
    }

    /// fastai's `emb_sz_rule`: `min(600, round(1.6 · n^0.56))`, with Python's
    /// `round` (halves to even).
    public static func embeddingWidth(categories n: Int) -> Int {
        min(600, Int((1.6 * pow(Double(n), 0.56)).rounded(.toNearestOrEven)))
    }

    /// `n_emb`: the width of the concatenated embeddings, the first layer's input.
    public var inputWidth: Int { userWidth + itemWidth }

    /// Input and output width of every linear layer, the hidden ones then the output's (1).
    public var linearSizes: [(inputs: Int, outputs: Int)] {
        let sizes = [inputWidth] + layers + [1]
        return (0..<(sizes.count - 1)).map { (sizes[$0], sizes[$0 + 1]) }
    }

    /// `layers` as `--layers` writes it: `100,50`.
    public var layersText: String { layers.map(String.init).joined(separator: ",") }
}

/// A trained fastai `EmbeddingNN` (`EmbeddingNNShape`) in eval mode: every
/// BatchNorm1d normalises by its running statistics. Predictions, the state
/// dict under fastai's names, and the reading of such a state dict.
public struct EmbeddingNNModel: RatingModel {
    /// One `LinBnDrop(inputs, outputs, bn=True, act=ReLU, lin_first=True)`:
    /// `BatchNorm1d(ReLU(x · Wᵀ))`.
    public struct HiddenLayer: Equatable, Sendable {
        /// `layers.k.0.weight` [outputs, inputs]
        public var weight: Matrix
        /// `layers.k.2.weight`, `.bias`, `.running_mean`, `.running_var` [outputs]
        public var bnWeight, bnBias, runningMean, runningVar: [Float]
        /// `layers.k.2.num_batches_tracked`: training batches seen.
        public var batchesTracked: Int

        public var outputs: Int { weight.rows }
        public var inputs: Int { weight.cols }
    }

    public var meta: ModelMetadata
    /// `embeds.0.weight` [users, userWidth], `embeds.1.weight` [items, itemWidth]
    public var userEmbedding, itemEmbedding: Matrix
    public var hidden: [HiddenLayer]
    /// The last `LinBnDrop`'s `Linear(n, 1)`: `layers.L.0.weight` [1, n] and `layers.L.0.bias` [1].
    public var outputWeight: [Float]
    public var outputBias: Float

    public init(meta: ModelMetadata, userEmbedding: Matrix, itemEmbedding: Matrix, hidden: [HiddenLayer],
                outputWeight: [Float], outputBias: Float) {
        precondition(!hidden.isEmpty && hidden[0].inputs == userEmbedding.cols + itemEmbedding.cols
                     && zip(hidden, hidden.dropFirst()).allSatisfy { $0.outputs == $1.inputs }
                     && outputWeight.count == hidden.last!.outputs, "EmbeddingNNModel: layer sizes do not chain")
        (self.meta, self.userEmbedding, self.itemEmbedding, self.hidden) = (meta, userEmbedding, itemEmbedding, hidden)
        (self.outputWeight, self.outputBias) = (outputWeight, outputBias)
    }

    public var userCount: Int { userEmbedding.rows }
    public var itemCount: Int { itemEmbedding.rows }

    public var shape: EmbeddingNNShape {
        EmbeddingNNShape(users: userCount, items: itemCount, userWidth: userEmbedding.cols, itemWidth: itemEmbedding.cols,
                         layers: hidden.map(\.outputs))
    }

    // MARK: Predictions

    /// Ratings predicted per chunk of pairs (fixed, so a prediction does not depend on the thread count).
    static let chunk = 1024

    /// The network's eval-mode output for every pair, NaN where a row is -1.
    ///
    /// The first layer is linear in the concatenated embeddings, so
    /// `[u ; i] · W₀ᵀ = u · W₀ᵤᵀ + i · W₀ᵢᵀ` (W₀ᵤ, W₀ᵢ: the columns of W₀ that
    /// meet the user and the item part). Both products are computed once per
    /// distinct user and item row of the request (two sgemms), and each pair
    /// adds its two rows: ranking every item for every user costs the layers
    /// after the first, not `n_emb` multiplications per pair more.
    public func predict(users: [Int32], items: [Int32]) -> [Float] {
        precondition(users.count == items.count, "predict: \(users.count) users for \(items.count) items")
        var out = [Float](repeating: .nan, count: users.count)
        let pairs = users.indices.filter { users[$0] >= 0 && items[$0] >= 0 }
        guard !pairs.isEmpty else { return out }
        let first = hidden[0]
        let userPart = firstLayerPart(embedding: userEmbedding, rows: pairs.map { Int(users[$0]) }, column: 0, layer: first)
        let itemPart = firstLayerPart(embedding: itemEmbedding, rows: pairs.map { Int(items[$0]) }, column: userEmbedding.cols, layer: first)
        let chunks = (pairs.count + Self.chunk - 1) / Self.chunk
        let widest = hidden.map(\.outputs).max()!
        out.withUnsafeMutableBufferPointer { outBuffer in
            let outAddress = UInt(bitPattern: outBuffer.baseAddress)
            BLAS.singleThreaded {
                Parallel.pieces(chunks) { c in
                    let out = UnsafeMutablePointer<Float>(bitPattern: outAddress)!
                    let start = c * Self.chunk, end = min(pairs.count, start + Self.chunk), n = end - start
                    let a = UnsafeMutablePointer<Float>.allocate(capacity: n * widest)
                    let b = UnsafeMutablePointer<Float>.allocate(capacity: n * widest)
                    defer { a.deallocate(); b.deallocate() }
                    // Layer 0's linear part: the pair's user row plus its item row.
                    let h0 = first.outputs
                    userPart.values.withUnsafeBufferPointer { up in
                        itemPart.values.withUnsafeBufferPointer { ip in
                            for r in 0..<n {
                                let p = start + r
                                let ur = up.baseAddress! + Int(userPart.slot[p]) * h0, ir = ip.baseAddress! + Int(itemPart.slot[p]) * h0
                                let ar = a + r * h0
                                for j in 0..<h0 { ar[j] = ur[j] + ir[j] }
                            }
                        }
                    }
                    var (x, next) = (a, b)
                    for (k, layer) in hidden.enumerated() {
                        if k > 0 {
                            layer.weight.data.withUnsafeBufferPointer { w in
                                NN.Linear.forward(x, weight: w.baseAddress!, bias: nil, rows: n, inputs: layer.inputs,
                                                  outputs: layer.outputs, into: next)
                            }
                            swap(&x, &next)
                        }
                        NN.ReLU.forward(x, count: n * layer.outputs)
                        NN.BatchNorm1d.evalForward(x, rows: n, features: layer.outputs, weight: layer.bnWeight,
                                                   bias: layer.bnBias, runningMean: layer.runningMean, runningVar: layer.runningVar)
                    }
                    let last = hidden.last!.outputs
                    outputWeight.withUnsafeBufferPointer { w in
                        var bias = outputBias
                        NN.Linear.forward(x, weight: w.baseAddress!, bias: &bias, rows: n, inputs: last, outputs: 1, into: next)
                    }
                    for r in 0..<n {
                        let score = next[r]
                        out[pairs[start + r]] = meta.yRange.map { sigmoidRange(score, low: $0.low, high: $0.high) } ?? score
                    }
                }
            }
        }
        return out
    }

    /// `e · W₀[:, column ..< column + e.cols]ᵀ` for each distinct row of `rows`
    /// (one sgemm), and for each entry of `rows` the slot of its product.
    func firstLayerPart(embedding: Matrix, rows: [Int], column: Int, layer: HiddenLayer) -> (values: [Float], slot: [Int32]) {
        var slotOf = [Int32](repeating: -1, count: embedding.rows)
        var distinct: [Int] = []
        let slot = rows.map { r -> Int32 in
            precondition(r < embedding.rows, "predict: row \(r) of an embedding with \(embedding.rows) rows")
            if slotOf[r] < 0 {
                slotOf[r] = Int32(distinct.count)
                distinct.append(r)
            }
            return slotOf[r]
        }
        let gathered = embedding.gathering(distinct)
        var values = [Float](repeating: 0, count: distinct.count * layer.outputs)
        gathered.data.withUnsafeBufferPointer { e in
            layer.weight.data.withUnsafeBufferPointer { w in
                values.withUnsafeMutableBufferPointer { v in
                    BLAS.gemm(transB: true, m: distinct.count, n: layer.outputs, k: embedding.cols, a: e.baseAddress!, lda: embedding.cols,
                              b: w.baseAddress! + column, ldb: layer.inputs, c: v.baseAddress!, ldc: layer.outputs)
                }
            }
        }
        return (values, slot)
    }

    // MARK: State dict

    public static let userEmbeddingName = "embeds.0.weight"
    public static let itemEmbeddingName = "embeds.1.weight"
    /// The BatchNorm1d of the continuous variables: `collab_learner` data has none, so its tensors are empty.
    static let continuousNorm = "bn_cont"

    /// The tensors of fastai's `EmbeddingNN.state_dict()`, in its order:
    /// `embeds.0.weight`, `embeds.1.weight`, `bn_cont.*` (0 features), then per
    /// hidden layer k `layers.k.0.weight` and `layers.k.2.{weight, bias,
    /// running_mean, running_var, num_batches_tracked}`, and the output layer's
    /// `layers.L.0.weight`, `layers.L.0.bias`. `num_batches_tracked` is an int64 scalar.
    public var stateDict: [Tensor] {
        var t = [Tensor(name: Self.userEmbeddingName, shape: [userCount, userEmbedding.cols], values: userEmbedding.data),
                 Tensor(name: Self.itemEmbeddingName, shape: [itemCount, itemEmbedding.cols], values: itemEmbedding.data)]
        t += Self.batchNormTensors(Self.continuousNorm, weight: [], bias: [], runningMean: [], runningVar: [], batchesTracked: 0)
        for (k, layer) in hidden.enumerated() {
            t.append(Tensor(name: "layers.\(k).0.weight", shape: [layer.outputs, layer.inputs], values: layer.weight.data))
            t += Self.batchNormTensors("layers.\(k).2", weight: layer.bnWeight, bias: layer.bnBias, runningMean: layer.runningMean,
                                       runningVar: layer.runningVar, batchesTracked: layer.batchesTracked)
        }
        let L = hidden.count
        t.append(Tensor(name: "layers.\(L).0.weight", shape: [1, outputWeight.count], values: outputWeight))
        t.append(Tensor(name: "layers.\(L).0.bias", shape: [1], values: [outputBias]))
        return t
    }

    static func batchNormTensors(_ prefix: String, weight: [Float], bias: [Float], runningMean: [Float], runningVar: [Float],
                                 batchesTracked: Int) -> [Tensor] {
        [Tensor(name: prefix + ".weight", shape: [weight.count], values: weight),
         Tensor(name: prefix + ".bias", shape: [bias.count], values: bias),
         Tensor(name: prefix + ".running_mean", shape: [runningMean.count], values: runningMean),
         Tensor(name: prefix + ".running_var", shape: [runningVar.count], values: runningVar),
         Tensor(name: prefix + ".num_batches_tracked", shape: [], values: [Float(batchesTracked)], storedType: "I64")]
    }

    /// True when `names` (a file's tensor names) hold an `EmbeddingNN` state dict:
    /// both embeddings and a first linear layer.
    public static func isStateDict(_ names: some Sequence<String>) -> Bool {
        let set = Set(names)
        return set.isSuperset(of: [userEmbeddingName, itemEmbeddingName, "layers.0.0.weight"])
    }

    /// Reads an `EmbeddingNN` state dict in the layout `stateDict` writes (any
    /// number of hidden layers). Every shape is checked against the others;
    /// `meta` supplies the vocabularies and the y-range.
    public init(stateDict tensors: [Tensor], meta: ModelMetadata, file: String) throws {
        var byName: [String: Tensor] = [:]
        for t in tensors { byName[t.name] = t }
        func bad(_ why: String) -> EmbtoolError { .data("\(file): not a fastai EmbeddingNN state dict embtool reads: \(why)") }
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let t = byName[name] else { throw bad("no tensor \(name)") }
            guard t.shape == shape else { throw bad("\(name) has shape \(t.shape), expected \(shape)") }
            return t.values
        }
        func matrix(_ name: String) throws -> Matrix {
            guard let t = byName[name], t.shape.count == 2 else { throw bad("\(name) is missing or not a matrix") }
            return Matrix(rows: t.shape[0], cols: t.shape[1], data: t.values)
        }
        let users = try matrix(Self.userEmbeddingName), items = try matrix(Self.itemEmbeddingName)
        var hidden: [HiddenLayer] = []
        var inputs = users.cols + items.cols
        // Hidden layers hold a BatchNorm1d at index 2; the output layer is the first without one.
        while byName["layers.\(hidden.count).2.weight"] != nil {
            let k = hidden.count
            let weight = try matrix("layers.\(k).0.weight")
            guard weight.cols == inputs else { throw bad("layers.\(k).0.weight takes \(weight.cols) inputs, the layer before gives \(inputs)") }
            let n = weight.rows
            let tracked = try tensor("layers.\(k).2.num_batches_tracked", [])
            hidden.append(HiddenLayer(weight: weight, bnWeight: try tensor("layers.\(k).2.weight", [n]),
                                      bnBias: try tensor("layers.\(k).2.bias", [n]), runningMean: try tensor("layers.\(k).2.running_mean", [n]),
                                      runningVar: try tensor("layers.\(k).2.running_var", [n]), batchesTracked: Int(tracked[0])))
            inputs = n
        }
        guard !hidden.isEmpty else { throw bad("no hidden layer (layers.0.2.weight, its BatchNorm1d)") }
        let L = hidden.count
        let outputWeight = try tensor("layers.\(L).0.weight", [1, inputs])
        let outputBias = try tensor("layers.\(L).0.bias", [1])
        guard byName["layers.\(L + 1).0.weight"] == nil else { throw bad("layers.\(L) has no BatchNorm1d but is not the last layer") }
        for t in tensors where !t.values.allSatisfy(\.isFinite) { throw bad("\(t.name) holds NaN or infinity") }
        guard meta.userLabels.isEmpty || meta.userLabels.count == users.rows else {
            throw bad("metadata lists \(meta.userLabels.count) users but \(Self.userEmbeddingName) has \(users.rows) rows")
        }
        guard meta.itemKeys.isEmpty || meta.itemKeys.count == items.rows else {
            throw bad("metadata lists \(meta.itemKeys.count) items but \(Self.itemEmbeddingName) has \(items.rows) rows")
        }
        self.init(meta: meta, userEmbedding: users, itemEmbedding: items, hidden: hidden, outputWeight: outputWeight, outputBias: outputBias[0])
    }
}
