import Foundation
import EmbeddingCore
import EmbeddingLinalg

/// fastai's `EmbeddingNN` (`EmbeddingNNShape`) in training mode, trained by
/// fastai's Adam on dense gradients as `Learner` trains it. For a batch of B
/// ratings (u, i, y):
///
///     x₀  = [embeds.0[u] ; embeds.1[i]]                          [B, n_emb]
///     x_{k+1} = BatchNorm1d_k(ReLU(x_k · W_kᵀ))                  [B, layers[k]]   batch statistics
///     s   = x_L · w_outᵀ + b_out                                 [B]
///     ŷ   = sigmoid_range(s, low, high)                          (s without y_range)
///     L   = mean over the batch of (ŷ − y)²                      MSELossFlat
///
/// and the backward pass runs the same layers in reverse (`NN`), ending in
/// ∂L/∂x₀, whose two halves add into the rows of the two embeddings.
///
/// Adam (`AdamStep`) updates every parameter at every step, as fastai does with
/// PyTorch's dense embedding gradients: the rows a batch touched take the full
/// step, the others the zero-gradient one (weight decay and momentum still move
/// them). `Learner(wd_bn_bias=False)` exempts the BatchNorm1d weights and biases
/// and the output layer's bias from weight decay (their `do_wd` is False).
///
/// With two threads, the zero-gradient step over the untouched embedding rows
/// (most of the parameters) runs on a helper thread while this one computes the
/// batch's forward and backward pass (it reads and writes only rows the batch
/// does not touch); then the two share the hidden layers' weight gradients and
/// the rest of Adam (`step`). Every piece is the same arithmetic on either
/// thread, so the model does not depend on the thread count. Adam's updates go
/// through `CTrainKernels` (`AdamKernels.swift`), bit-identical to `AdamStep`'s.
final class EmbeddingNN: MiniBatchNet {
    let shape: EmbeddingNNShape
    let yRange: ModelMetadata.YRange?
    /// `embeds.0` [users, userWidth] and `embeds.1` [items, itemWidth], with Adam's state.
    let userEmbedding, itemEmbedding: ParameterBlock
    let hidden: [HiddenLayer]
    /// The output layer's `Linear(n, 1)`: weight [1, n] and bias [1].
    let outputWeight, outputBias: DenseParameter
    /// Adam's step counter `t`, shared by all parameters.
    private(set) var steps = 0
    let maxBatch: Int
    private let helper: StepHelper
    /// The batch's gathered embeddings x₀ [maxBatch, n_emb].
    private let input: UnsafeMutablePointer<Float>
    /// The output layer's s, then ∂L/∂s [maxBatch].
    private let score: UnsafeMutablePointer<Float>
    /// Two [maxBatch, widest layer] buffers for the gradients flowing back.
    private let gradA, gradB: UnsafeMutablePointer<Float>
    /// The distinct user and item rows of the current batch [maxBatch].
    private let touchedUserRows, touchedItemRows: UnsafeMutablePointer<Int32>
    /// Every tensor Adam updates at every step (the embeddings apart), and
    /// those of them stepped in the shared parts of a step (all but the hidden
    /// layers' weights, which step with their gradient).
    let denseParameters, sharedParameters: [DenseParameter]
    /// Rows of the current batch.
    private var batchRows = 0

    /// One hidden `LinBnDrop`: `Linear(inputs, outputs, bias=False)`, ReLU,
    /// `BatchNorm1d(outputs)`, with the activations of the current batch.
    final class HiddenLayer {
        let inputs: Int, outputs: Int
        /// `layers.k.0.weight` [outputs, inputs]
        let weight: DenseParameter
        /// BatchNorm1d's γ and β [outputs]
        let bnWeight, bnBias: DenseParameter
        let runningMean, runningVar: UnsafeMutablePointer<Float>
        var batchesTracked = 0
        /// ReLU(x · Wᵀ), x̂, the layer's output γ x̂ + β, and ∂L/∂(x · Wᵀ), each [maxBatch, outputs].
        let activated, normalized, output, delta: UnsafeMutablePointer<Float>
        /// The batch's μ and σ² [outputs].
        let mean, variance: UnsafeMutablePointer<Float>

        init(inputs: Int, outputs: Int, weight: [Float], maxBatch: Int) {
            (self.inputs, self.outputs) = (inputs, outputs)
            self.weight = DenseParameter(weight, decays: true)
            // fastai's `BatchNorm` (layers.py `_get_norm`): weight 1, bias 1e-3.
            bnWeight = DenseParameter([Float](repeating: 1, count: outputs), decays: false)
            bnBias = DenseParameter([Float](repeating: 1e-3, count: outputs), decays: false)
            func buffer(_ n: Int, _ value: Float = 0) -> UnsafeMutablePointer<Float> {
                let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
                p.initialize(repeating: value, count: n)
                return p
            }
            runningMean = buffer(outputs)
            runningVar = buffer(outputs, 1)
            activated = buffer(maxBatch * outputs)
            normalized = buffer(maxBatch * outputs)
            output = buffer(maxBatch * outputs)
            delta = buffer(maxBatch * outputs)
            mean = buffer(outputs)
            variance = buffer(outputs)
        }

        deinit {
            for p in [runningMean, runningVar, activated, normalized, output, delta, mean, variance] { p.deallocate() }
        }
    }

    /// A fresh network initialised as PyTorch and fastai initialise it, drawn
    /// from one seeded stream in state-dict order: the embeddings by fastai's
    /// `trunc_normal_(std=0.01)` (N(0, 1) folded into (-2, 2) by `fmod`, times
    /// 0.01), each `nn.Linear` weight (and the output bias) by PyTorch's
    /// default, uniform on [-1/√fan_in, 1/√fan_in) (`kaiming_uniform_(a=√5)`);
    /// BatchNorm1d weight 1, bias 1e-3, running mean 0 and variance 1.
    convenience init(shape: EmbeddingNNShape, yRange: ModelMetadata.YRange?, seed: UInt64, maxBatch: Int, helper: StepHelper) {
        var rng = SplitMix64(seed: seed)
        func normal(_ n: Int) -> [Float] { (0..<n).map { _ in rng.nextGaussian().truncatingRemainder(dividingBy: 2) * 0.01 } }
        func uniform(_ n: Int, fanIn: Int) -> [Float] {
            let bound = 1 / Float(fanIn).squareRoot()
            return (0..<n).map { _ in (2 * rng.nextFloat() - 1) * bound }
        }
        let users = normal(shape.users * shape.userWidth), items = normal(shape.items * shape.itemWidth)
        let weights = shape.linearSizes.map { uniform($0.inputs * $0.outputs, fanIn: $0.inputs) }
        let bias = uniform(1, fanIn: shape.linearSizes.last!.inputs)
        self.init(shape: shape, yRange: yRange, userEmbedding: users, itemEmbedding: items, weights: weights,
                  outputBias: bias[0], maxBatch: maxBatch, helper: helper)
    }

    /// A network with the given parameters: embeddings row-major, `weights` one
    /// per linear layer ([outputs, inputs] each, the output layer's last).
    init(shape: EmbeddingNNShape, yRange: ModelMetadata.YRange?, userEmbedding users: [Float], itemEmbedding items: [Float],
         weights: [[Float]], outputBias bias: Float, maxBatch: Int, helper: StepHelper) {
        precondition(!shape.layers.isEmpty && shape.layers.allSatisfy { $0 >= 1 }, "EmbeddingNN needs at least one hidden layer")
        precondition(maxBatch >= 2, "BatchNorm1d needs batches of at least 2")
        let sizes = shape.linearSizes
        precondition(weights.count == sizes.count && zip(weights, sizes).allSatisfy { $0.count == $1.inputs * $1.outputs })
        self.shape = shape
        self.yRange = yRange
        self.maxBatch = maxBatch
        self.helper = helper
        userEmbedding = ParameterBlock(rows: shape.users, width: shape.userWidth)
        itemEmbedding = ParameterBlock(rows: shape.items, width: shape.itemWidth)
        precondition(users.count == shape.users * shape.userWidth && items.count == shape.items * shape.itemWidth)
        userEmbedding.params.update(from: users, count: users.count)
        itemEmbedding.params.update(from: items, count: items.count)
        hidden = zip(sizes.dropLast(), weights).map { size, w in
            HiddenLayer(inputs: size.inputs, outputs: size.outputs, weight: w, maxBatch: maxBatch)
        }
        outputWeight = DenseParameter(weights.last!, decays: true)
        outputBias = DenseParameter([bias], decays: false)
        let widest = max(shape.inputWidth, shape.layers.max()!)
        input = .allocate(capacity: maxBatch * shape.inputWidth)
        score = .allocate(capacity: maxBatch)
        gradA = .allocate(capacity: maxBatch * widest)
        gradB = .allocate(capacity: maxBatch * widest)
        touchedUserRows = .allocate(capacity: maxBatch)
        touchedItemRows = .allocate(capacity: maxBatch)
        denseParameters = hidden.flatMap { [$0.weight, $0.bnWeight, $0.bnBias] } + [outputWeight, outputBias]
        sharedParameters = hidden.flatMap { [$0.bnWeight, $0.bnBias] } + [outputWeight, outputBias]
    }

    deinit {
        for p in [input, score, gradA, gradB] { p.deallocate() }
        touchedUserRows.deallocate()
        touchedItemRows.deallocate()
    }

    // MARK: One step

    /// One optimiser step on the ratings `rows` (indices into `user`, `item`,
    /// `rating`): forward and backward pass in training mode, then Adam over
    /// every parameter. Returns the batch MSE.
    ///
    /// While this thread computes the pass (all but the hidden layers' weight
    /// gradients), the helper (`StepHelper`) takes chunks of the zero-gradient
    /// step of the untouched embedding rows; then the two share the rest: each
    /// hidden layer's weight gradient with its Adam step, and Adam on the
    /// batch's rows and the other tensors. Every chunk is the same arithmetic
    /// whichever thread runs it.
    func step(rows: UnsafeBufferPointer<Int32>, user: UnsafePointer<Int32>, item: UnsafePointer<Int32>,
              rating: UnsafePointer<Float>, adam: AdamStep) -> Float {
        precondition(rows.count >= 2 && rows.count <= maxBatch)
        steps += 1
        let touchedUsers = userEmbedding.markRows(rows.lazy.map { Int(user[Int($0)]) }, into: touchedUserRows)
        let touchedItems = itemEmbedding.markRows(rows.lazy.map { Int(item[Int($0)]) }, into: touchedItemRows)
        var loss: Float = 0
        let (userChunks, itemChunks) = (Self.chunks(userEmbedding), Self.chunks(itemEmbedding))
        helper.run(chunks: userChunks + itemChunks, own: { loss = forwardBackward(rows: rows, user: user, item: item, rating: rating) }) { k in
            let (table, part, parts) = k < userChunks ? (userEmbedding, k, userChunks) : (itemEmbedding, k - userChunks, itemChunks)
            table.stepUntouchedRows(adam, rows: (table.rows * part / parts)..<(table.rows * (part + 1) / parts))
        }
        let users = UnsafeBufferPointer(start: touchedUserRows, count: touchedUsers)
        let items = UnsafeBufferPointer(start: touchedItemRows, count: touchedItems)
        let layers = hidden.count, parts = Self.finishingChunks
        helper.run(chunks: layers + parts) { k in
            guard k >= layers else {
                hiddenWeightGradient(k)
                hidden[k].weight.step(adam)
                return
            }
            func share(_ n: Int) -> Range<Int> { (n * (k - layers) / parts)..<(n * (k - layers + 1) / parts) }
            userEmbedding.stepRows(UnsafeBufferPointer(rebasing: users[share(touchedUsers)]), adam)
            itemEmbedding.stepRows(UnsafeBufferPointer(rebasing: items[share(touchedItems)]), adam)
            for p in sharedParameters { p.step(adam, elements: share(p.count)) }
        }
        return loss
    }

    /// Chunks of an embedding's zero-gradient step: about 16k parameters each (~10 µs).
    static func chunks(_ table: ParameterBlock) -> Int { max(1, min(table.rows, table.rows * table.width / 16_384)) }
    /// Chunks of the rest of Adam (touched rows and the tensors other than the hidden weights, each cut into this many parts).
    static let finishingChunks = 4

    /// The forward pass (training mode: batch statistics, running statistics
    /// updated) and the backward pass of the batch `rows`: sets the gradient
    /// of every dense parameter but the hidden layers' weights (their ∂L/∂(x·Wᵀ)
    /// is kept for `hiddenWeightGradient`) and adds into the embedding rows'
    /// gradients. Returns the batch MSE.
    func forwardBackward(rows: UnsafeBufferPointer<Int32>, user: UnsafePointer<Int32>, item: UnsafePointer<Int32>,
                         rating: UnsafePointer<Float>) -> Float {
        let n = rows.count
        batchRows = n
        let (uw, iw, w0) = (shape.userWidth, shape.itemWidth, shape.inputWidth)
        gatherInput(rows: rows, user: user, item: item)
        var x = UnsafePointer(input)
        for layer in hidden {
            NN.Linear.forward(x, weight: layer.weight.value, bias: nil, rows: n, inputs: layer.inputs, outputs: layer.outputs,
                              into: layer.activated)
            NN.ReLU.forward(layer.activated, count: n * layer.outputs)
            NN.BatchNorm1d.trainForward(layer.activated, rows: n, features: layer.outputs, weight: layer.bnWeight.value,
                                        bias: layer.bnBias.value, mean: layer.mean, variance: layer.variance,
                                        normalized: layer.normalized, into: layer.output)
            NN.BatchNorm1d.updateRunningStatistics(mean: layer.mean, variance: layer.variance, rows: n, features: layer.outputs,
                                                   runningMean: layer.runningMean, runningVar: layer.runningVar)
            layer.batchesTracked += 1
            x = UnsafePointer(layer.output)
        }
        let last = hidden.last!.outputs
        NN.Linear.forward(x, weight: outputWeight.value, bias: outputBias.value, rows: n, inputs: last, outputs: 1, into: score)
        let loss = lossGradient(rows: rows, rating: rating)

        // Backward: the output layer, then each hidden layer in reverse.
        NN.Linear.backward(score, x: x, weight: outputWeight.value, rows: n, inputs: last, outputs: 1,
                           dWeight: outputWeight.grad, dBias: outputBias.grad, dX: gradA)
        var (dOut, spare) = (gradA, gradB)
        for (k, layer) in hidden.enumerated().reversed() {
            NN.BatchNorm1d.backward(dOut, normalized: layer.normalized, variance: layer.variance, weight: layer.bnWeight.value,
                                    rows: n, features: layer.outputs, dWeight: layer.bnWeight.grad, dBias: layer.bnBias.grad,
                                    dA: layer.delta)
            NN.ReLU.backward(layer.delta, output: layer.activated, count: n * layer.outputs)
            NN.Linear.backward(layer.delta, x: layerInput(k), weight: layer.weight.value, rows: n, inputs: layer.inputs,
                               outputs: layer.outputs, dWeight: nil, dBias: nil, dX: spare)
            swap(&dOut, &spare)
        }
        // dOut is ∂L/∂x₀: its halves go to the rows' gradients (repeated rows add up).
        for r in 0..<n {
            let j = Int(rows[r])
            let d = dOut + r * w0
            let gu = userEmbedding.grad + Int(user[j]) * uw, gi = itemEmbedding.grad + Int(item[j]) * iw
            for c in 0..<uw { gu[c] += d[c] }
            for c in 0..<iw { gi[c] += d[uw + c] }
        }
        return loss
    }

    /// `∂L/∂W_k = δ_kᵀ · x_k` for hidden layer k of the batch `forwardBackward` last computed.
    func hiddenWeightGradient(_ k: Int) {
        let layer = hidden[k]
        NN.Linear.weightGradient(layer.delta, x: layerInput(k), rows: batchRows, inputs: layer.inputs, outputs: layer.outputs,
                                 into: layer.weight.grad)
    }

    /// x_k, hidden layer k's input in the current batch: x₀ or the layer before's output.
    private func layerInput(_ k: Int) -> UnsafePointer<Float> {
        k == 0 ? UnsafePointer(input) : UnsafePointer(hidden[k - 1].output)
    }

    /// x₀: row r is `[embeds.0[u_r] ; embeds.1[i_r]]`.
    private func gatherInput(rows: UnsafeBufferPointer<Int32>, user: UnsafePointer<Int32>, item: UnsafePointer<Int32>) {
        let (uw, iw, w0) = (shape.userWidth, shape.itemWidth, shape.inputWidth)
        for (r, j) in rows.enumerated() {
            (input + r * w0).update(from: userEmbedding.params + Int(user[Int(j)]) * uw, count: uw)
            (input + r * w0 + uw).update(from: itemEmbedding.params + Int(item[Int(j)]) * iw, count: iw)
        }
    }

    /// The batch MSE of ŷ = sigmoid_range(s), and ∂L/∂s in place of s:
    /// `2 (ŷ − y) / B · (high − low) σ(s) (1 − σ(s))` (without y_range, `2 (s − y) / B`).
    private func lossGradient(rows: UnsafeBufferPointer<Int32>, rating: UnsafePointer<Float>) -> Float {
        let n = rows.count, scale = 2 / Float(n)
        var loss: Float = 0
        for r in 0..<n {
            let (yHat, slope) = FactorModel.ratingAndSlope(score: score[r], yRange: yRange)
            let diff = yHat - rating[Int(rows[r])]
            loss += diff * diff
            score[r] = scale * diff * slope
        }
        return loss / Float(n)
    }

    // MARK: The model

    var isFinite: Bool {
        func finite(_ p: UnsafeMutablePointer<Float>, _ n: Int) -> Bool { UnsafeBufferPointer(start: p, count: n).allSatisfy(\.isFinite) }
        return finite(userEmbedding.params, shape.users * shape.userWidth) && finite(itemEmbedding.params, shape.items * shape.itemWidth)
            && denseParameters.allSatisfy { finite($0.value, $0.count) }
            && hidden.allSatisfy { finite($0.runningMean, $0.outputs) && finite($0.runningVar, $0.outputs) }
    }

    /// The current parameters and running statistics as an eval-mode model.
    func model(meta: ModelMetadata) -> EmbeddingNNModel {
        func array(_ p: UnsafeMutablePointer<Float>, _ n: Int) -> [Float] { Array(UnsafeBufferPointer(start: p, count: n)) }
        let layers = hidden.map { h in
            EmbeddingNNModel.HiddenLayer(weight: Matrix(rows: h.outputs, cols: h.inputs, data: h.weight.values),
                                         bnWeight: h.bnWeight.values, bnBias: h.bnBias.values,
                                         runningMean: array(h.runningMean, h.outputs), runningVar: array(h.runningVar, h.outputs),
                                         batchesTracked: h.batchesTracked)
        }
        var meta = meta
        meta.yRange = yRange
        return EmbeddingNNModel(meta: meta,
                                userEmbedding: Matrix(rows: shape.users, cols: shape.userWidth, data: array(userEmbedding.params, shape.users * shape.userWidth)),
                                itemEmbedding: Matrix(rows: shape.items, cols: shape.itemWidth, data: array(itemEmbedding.params, shape.items * shape.itemWidth)),
                                hidden: layers, outputWeight: outputWeight.values, outputBias: outputBias.value[0])
    }

    /// MSE of the current model's (eval-mode) predictions; NaN for none.
    func meanSquaredError(user: [Int32], item: [Int32], rating: [Float]) -> Double {
        Evaluation.score(predictions: model(meta: ModelMetadata()).predict(users: user, items: item), ratings: rating).mse
    }
}

/// A parameter tensor updated at every step, with its gradient and Adam's
/// state (`m` and `sqrt(v)`, see `AdamStep`).
final class DenseParameter {
    let count: Int
    let value, grad, gradAvg, sqrtSqrAvg: UnsafeMutablePointer<Float>
    /// fastai's `do_wd`: false for BatchNorm and bias parameters (`Learner(wd_bn_bias=False)`).
    let decays: Bool

    init(_ initial: [Float], decays: Bool) {
        let count = initial.count
        self.count = count
        self.decays = decays
        func zeros() -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(1, count))
            p.initialize(repeating: 0, count: max(1, count))
            return p
        }
        (value, grad, gradAvg, sqrtSqrAvg) = (zeros(), zeros(), zeros(), zeros())
        value.update(from: initial, count: count)
    }

    deinit {
        for p in [value, grad, gradAvg, sqrtSqrAvg] { p.deallocate() }
    }

    var values: [Float] { Array(UnsafeBufferPointer(start: value, count: count)) }

    /// Adam's step on `elements` (all by default; weight decay only when
    /// `decays`); clears their gradient.
    func step(_ adam: AdamStep, elements: Range<Int>? = nil) {
        var adam = adam
        if !decays { adam.decay = 1 }
        let e = elements ?? 0..<count, o = e.lowerBound
        adam.applyWide(params: value + o, grads: grad + o, gradAvg: gradAvg + o, sqrtSqrAvg: sqrtSqrAvg + o, count: e.count)
    }
}

extension ParameterBlock {
    /// Adam's zero-gradient step on every row of `range` (all rows by default)
    /// the current batch does not touch, a run of consecutive rows at a time
    /// (`ParameterBlock.step`'s second half).
    func stepUntouchedRows(_ adam: AdamStep, rows range: Range<Int>? = nil) {
        let range = range ?? 0..<rows
        var r = range.lowerBound
        while r < range.upperBound {
            guard touched[r] == 0 else { r += 1; continue }
            var end = r + 1
            while end < range.upperBound && touched[end] == 0 { end += 1 }
            let o = r * width
            adam.applyZeroGradientWide(params: params + o, gradAvg: gradAvg + o, sqrtSqrAvg: sqrtSqrAvg + o, count: (end - r) * width)
            r = end
        }
    }

    /// Marks the rows `rows` touched and writes each distinct one once into
    /// `list`; returns how many there are.
    func markRows(_ rows: some Sequence<Int>, into list: UnsafeMutablePointer<Int32>) -> Int {
        var n = 0
        for r in rows where touched[r] == 0 {
            touched[r] = 1
            list[n] = Int32(r)
            n += 1
        }
        return n
    }

    /// Adam's full step on the touched rows `list`, clearing their gradient
    /// and their mark (`ParameterBlock.step`'s first half).
    func stepRows(_ list: UnsafeBufferPointer<Int32>, _ adam: AdamStep) {
        for r in list {
            let o = Int(r) * width
            adam.applyWide(params: params + o, grads: grad + o, gradAvg: gradAvg + o, sqrtSqrAvg: sqrtSqrAvg + o, count: width)
            touched[Int(r)] = 0
        }
    }
}

/// `collab_learner(dls, use_nn=True, layers=layers, y_range=y_range)` then
/// `learn.fit_one_cycle(epochs, lr, wd=wd)`: recipe fastai's loop
/// (`FastaiRecipe.fit`: sampling, one-cycle schedule, Adam, smoothed loss,
/// divergence checks) on an `EmbeddingNN` sized by `get_emb_sz`.
enum EmbeddingNNRecipe {
    static func train(_ train: Ratings, valid: Ratings?, config: TrainConfig,
                      progress: ((TrainProgress) -> Void)?) throws -> (EmbeddingNN, [EpochStats]) {
        _ = try FastaiRecipe.batchCount(train, config.batchSize)  // before allocating buffers of batch size
        // One thread computes the batch, a helper decays the embedding rows it does not touch.
        let helper = StepHelper(helper: config.threads >= 2)
        defer { helper.shutdown() }
        let shape = EmbeddingNNShape(users: train.users.count, items: train.items.count, layers: config.layers)
        let net = EmbeddingNN(shape: shape, yRange: config.yRange, seed: config.seed, maxBatch: config.batchSize, helper: helper)
        var sampler = EpochSampler(config.sampling, seed: config.seed)
        // The batches' sgemms are far too small to share: OpenBLAS threads would only contend with the helper.
        let stats = try BLAS.singleThreaded {
            try FastaiRecipe.fit(net, train, valid: valid, config: config, progress: progress) { _, order in sampler.next(&order) }
        }
        return (net, stats)
    }
}
