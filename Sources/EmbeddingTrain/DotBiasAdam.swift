import Foundation
import EmbeddingCore

/// fastai's `EmbeddingDotBias` (or fastbook's `DotProduct` without biases)
/// trained by fastai's Adam on dense gradients, the way `Learner` does it:
///
///     x̂   = u_weight[u] · i_weight[i] + u_bias[u] + i_bias[i]
///     ŷ   = sigmoid_range(x̂, low, high) = low + (high - low) σ(x̂)     (or x̂ without y_range)
///     L   = mean over the batch of (ŷ - y)²                            MSELossFlat
///
/// Storage: the factor columns are cut into `factorBlocks` blocks, each a
/// row-major [n_users + n_items, k_b] matrix of users then items, and the
/// biases form one more [n_users + n_items, 1] block. Each thread owns whole
/// blocks: it computes its part of every dot product, and after one barrier
/// every thread knows ∂L/∂x̂ of each rating and updates its own blocks. Per
/// step, threads exchange only the partial dot products of the batch, not
/// parameter rows. The block layout, not the thread count, fixes the order of
/// the floating-point sums, so one or two threads give the same model.
final class DotBiasAdam: FactorNet {
    static let factorBlocks = 2

    let users: Int, items: Int, factors: Int
    let useBias: Bool
    let yRange: ModelMetadata.YRange?
    let blocks: [ParameterBlock]
    let bias: ParameterBlock?
    /// Adam's step counter `t`, shared by all parameters (they all step every batch).
    private(set) var steps = 0
    private let maxBatch: Int
    /// [blocks + 1][maxBatch]: each block's share of every x̂ in the batch (biases last).
    private let partials: UnsafeMutablePointer<Float>
    /// Per thread, ∂L/∂x̂ of each rating in the batch.
    private let dx: UnsafeMutablePointer<Float>
    private let pool: WorkerPool

    /// Parameters initialised as fastai's `Embedding` does: `trunc_normal_(std=0.01)`,
    /// which draws N(0, 1), folds it into (-2, 2) with `fmod`, and scales by 0.01.
    /// Tensors are drawn in state-dict order (u_weight, i_weight, u_bias, i_bias), row-major.
    convenience init(users: Int, items: Int, factors: Int, useBias: Bool, yRange: ModelMetadata.YRange?,
                     seed: UInt64, maxBatch: Int, pool: WorkerPool) {
        self.init(users: users, items: items, factors: factors, useBias: useBias, yRange: yRange,
                  maxBatch: maxBatch, pool: pool)
        var rng = SplitMix64(seed: seed)
        func draw(_ n: Int) -> [Float] { (0..<n).map { _ in rng.nextGaussian().truncatingRemainder(dividingBy: 2) * 0.01 } }
        let uw = draw(users * factors), iw = draw(items * factors)
        let ub = useBias ? draw(users) : [], ib = useBias ? draw(items) : []
        load(userWeight: uw, itemWeight: iw, userBias: ub, itemBias: ib)
    }

    /// Parameters all zero; `load` fills them.
    init(users: Int, items: Int, factors: Int, useBias: Bool, yRange: ModelMetadata.YRange?,
         maxBatch: Int, pool: WorkerPool) {
        self.users = users
        self.items = items
        self.factors = factors
        self.useBias = useBias
        self.yRange = yRange
        self.maxBatch = maxBatch
        self.pool = pool
        let nb = min(Self.factorBlocks, factors)
        blocks = (0..<nb).map { b in
            ParameterBlock(rows: users + items, width: factors * (b + 1) / nb - factors * b / nb)
        }
        bias = useBias ? ParameterBlock(rows: users + items, width: 1) : nil
        partials = .allocate(capacity: (nb + 1) * maxBatch)
        partials.initialize(repeating: 0, count: (nb + 1) * maxBatch)
        dx = .allocate(capacity: pool.threads * maxBatch)
        dx.initialize(repeating: 0, count: pool.threads * maxBatch)
    }

    deinit {
        partials.deallocate()
        dx.deallocate()
    }

    /// The first factor column of block `b`.
    func firstColumn(_ b: Int) -> Int { factors * b / blocks.count }

    /// Sets the parameters from row-major state-dict tensors.
    func load(userWeight: [Float], itemWeight: [Float], userBias: [Float], itemBias: [Float]) {
        precondition(userWeight.count == users * factors && itemWeight.count == items * factors)
        for (b, block) in blocks.enumerated() {
            let c0 = firstColumn(b), w = block.width
            for r in 0..<(users + items) {
                let (source, row) = r < users ? (userWeight, r) : (itemWeight, r - users)
                for c in 0..<w { block.params[r * w + c] = source[row * factors + c0 + c] }
            }
        }
        if let bias {
            precondition(userBias.count == users && itemBias.count == items)
            for (r, v) in (userBias + itemBias).enumerated() { bias.params[r] = v }
        }
    }

    /// One optimiser step on the ratings `rows` (indices into `user`, `item`,
    /// `rating`): forward, backward, and Adam over every parameter. Returns the
    /// batch MSE.
    ///
    /// With `e = 2 (ŷ - y) / B` and `s = σ(x̂)`, the chain rule gives
    /// `∂L/∂x̂ = e (high - low) s (1 - s)` (just `e` without y_range), and
    /// `∂x̂/∂u_weight[u] = i_weight[i]`, `∂x̂/∂i_weight[i] = u_weight[u]`,
    /// `∂x̂/∂u_bias[u] = ∂x̂/∂i_bias[i] = 1`. Rows repeated in a batch accumulate.
    func step(rows: UnsafeBufferPointer<Int32>, user: UnsafePointer<Int32>, item: UnsafePointer<Int32>,
              rating: UnsafePointer<Float>, adam: AdamStep) -> Float {
        precondition(rows.count <= maxBatch)
        steps += 1
        let n = rows.count, nb = blocks.count, users = users
        let scale = 2 / Float(n)
        var loss: Float = 0
        pool.run { worker in
            let mine = stride(from: worker, to: nb, by: pool.threads)
            let ownsBias = worker == 0 && bias != nil
            // Forward: this thread's share of every x̂.
            for b in mine {
                let block = blocks[b], out = partials + b * maxBatch
                for j in 0..<n {
                    let r = Int(rows[j])
                    out[j] = block.dot(Int(user[r]), users + Int(item[r]))
                }
            }
            if ownsBias, let bias {
                let out = partials + nb * maxBatch
                for j in 0..<n {
                    let r = Int(rows[j])
                    out[j] = bias.params[Int(user[r])] + bias.params[users + Int(item[r])]
                }
            }
            pool.barrier()
            // Every thread derives the same ∂L/∂x̂ from the same partial sums.
            let d = dx + worker * maxBatch
            var batchLoss: Float = 0
            for j in 0..<n {
                var x: Float = 0
                for b in 0..<nb { x += partials[b * maxBatch + j] }
                if bias != nil { x += partials[nb * maxBatch + j] }
                let (yHat, slope) = FactorModel.ratingAndSlope(score: x, yRange: yRange)
                let grad = scale * slope
                let diff = yHat - rating[Int(rows[j])]
                batchLoss += diff * diff
                d[j] = grad * diff
            }
            if worker == 0 { loss = batchLoss / Float(n) }
            // Backward into this thread's blocks, then Adam on them.
            for b in mine {
                let block = blocks[b]
                for j in 0..<n {
                    let r = Int(rows[j])
                    block.accumulateOuter(d[j], Int(user[r]), users + Int(item[r]))
                }
                block.step(adam)
            }
            if ownsBias, let bias {
                for j in 0..<n {
                    let r = Int(rows[j])
                    let u = Int(user[r]), i = users + Int(item[r])
                    bias.grad[u] += d[j]
                    bias.grad[i] += d[j]
                    bias.touched[u] = 1
                    bias.touched[i] = 1
                }
                bias.step(adam)
            }
        }
        return loss
    }

    /// True when every parameter is a finite number.
    var isFinite: Bool { blocks.allSatisfy(\.isFinite) && (bias?.isFinite ?? true) }

    /// The parameters, Adam's moments and step count: what a trial run (`LRFinder`)
    /// puts back, as fastai's `learn.load(..., with_opt=True)` does.
    struct State: Equatable {
        /// Per block (biases last): parameters, then m, then sqrt(v).
        var blocks: [[Float]]
        var steps: Int
    }

    var state: State {
        State(blocks: (blocks + [bias].compactMap { $0 }).map { $0.saved() }, steps: steps)
    }

    func restore(_ state: State) {
        for (block, saved) in zip(blocks + [bias].compactMap { $0 }, state.blocks) { block.restore(saved) }
        steps = state.steps
    }

    /// The trained tensors as a model (`meta` supplies vocabularies and provenance).
    func model(meta: ModelMetadata) -> FactorModel {
        var uw = [Float](repeating: 0, count: users * factors)
        var iw = [Float](repeating: 0, count: items * factors)
        for (b, block) in blocks.enumerated() {
            let c0 = firstColumn(b), w = block.width
            for r in 0..<(users + items) {
                for c in 0..<w {
                    let v = block.params[r * w + c]
                    if r < users { uw[r * factors + c0 + c] = v } else { iw[(r - users) * factors + c0 + c] = v }
                }
            }
        }
        let biases = bias.map { Array(UnsafeBufferPointer(start: $0.params, count: users + items)) }
        return FactorModel(
            userFactors: Matrix(rows: users, cols: factors, data: uw),
            itemFactors: Matrix(rows: items, cols: factors, data: iw),
            userBias: biases.map { Array($0[..<users]) },
            itemBias: biases.map { Array($0[users...]) },
            meta: meta)
    }
}

/// A [rows, width] slice of parameters with Adam's state and the gradient of
/// the current batch, plus which rows that batch touched.
final class ParameterBlock {
    let rows: Int, width: Int
    let params, grad, gradAvg: UnsafeMutablePointer<Float>
    /// Adam's `sqrt(v)` (see `AdamStep`).
    let sqrtSqrAvg: UnsafeMutablePointer<Float>
    let touched: UnsafeMutablePointer<UInt8>

    init(rows: Int, width: Int) {
        self.rows = rows
        self.width = width
        func zeros() -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(1, rows * width))
            p.initialize(repeating: 0, count: max(1, rows * width))
            return p
        }
        params = zeros()
        grad = zeros()
        gradAvg = zeros()
        sqrtSqrAvg = zeros()
        touched = .allocate(capacity: rows)
        touched.initialize(repeating: 0, count: rows)
    }

    deinit {
        for p in [params, grad, gradAvg, sqrtSqrAvg] { p.deallocate() }
        touched.deallocate()
    }

    /// `params[a] · params[b]` over this block's columns.
    @inline(__always)
    func dot(_ a: Int, _ b: Int) -> Float {
        let pa = params + a * width, pb = params + b * width
        var s: Float = 0
        for c in 0..<width { s += pa[c] * pb[c] }
        return s
    }

    /// `grad[a] += d · params[b]` and `grad[b] += d · params[a]`: the gradient
    /// of `d · (params[a] · params[b])`.
    @inline(__always)
    func accumulateOuter(_ d: Float, _ a: Int, _ b: Int) {
        let pa = params + a * width, pb = params + b * width
        let ga = grad + a * width, gb = grad + b * width
        for c in 0..<width {
            ga[c] += d * pb[c]
            gb[c] += d * pa[c]
        }
        touched[a] = 1
        touched[b] = 1
    }

    /// Adam over every row: touched rows take the full step (which also clears
    /// their gradient), runs of untouched rows the zero-gradient step.
    func step(_ adam: AdamStep) {
        var r = 0
        while r < rows {
            if touched[r] != 0 {
                let o = r * width
                adam.applyWide(params: params + o, grads: grad + o, gradAvg: gradAvg + o, sqrtSqrAvg: sqrtSqrAvg + o, count: width)
                touched[r] = 0
                r += 1
            } else {
                var end = r + 1
                while end < rows && touched[end] == 0 { end += 1 }
                let o = r * width
                adam.applyZeroGradientWide(params: params + o, gradAvg: gradAvg + o, sqrtSqrAvg: sqrtSqrAvg + o, count: (end - r) * width)
                r = end
            }
        }
    }

    var isFinite: Bool {
        for j in 0..<(rows * width) where !params[j].isFinite { return false }
        return true
    }

    /// Parameters, m and sqrt(v), one after the other. Between steps the
    /// gradient is zero and no row is marked touched, so this is the whole state.
    func saved() -> [Float] {
        let n = rows * width
        let parts: [UnsafeMutablePointer<Float>] = [params, gradAvg, sqrtSqrAvg]
        return parts.flatMap { Array(UnsafeBufferPointer(start: $0, count: n)) }
    }

    func restore(_ saved: [Float]) {
        let n = rows * width
        precondition(saved.count == 3 * n)
        saved.withUnsafeBufferPointer { s in
            let parts: [UnsafeMutablePointer<Float>] = [params, gradAvg, sqrtSqrAvg]
            for (k, p) in parts.enumerated() { p.update(from: s.baseAddress! + k * n, count: n) }
        }
    }
}
