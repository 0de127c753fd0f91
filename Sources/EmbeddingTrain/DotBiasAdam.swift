import CLapack
import CTrainKernels
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
/// `LazyAdamBlock` of users then items (`n_users + n_items` rows), the biases
/// an extra column of the last block. Each thread owns whole blocks: it
/// computes its part of every dot product, and after one barrier every thread
/// knows ∂L/∂x̂ of each rating and updates its own blocks. Per step, threads
/// exchange only the partial dot products of the batch, not parameter rows.
/// The block layout, not the thread count, fixes the order of the
/// floating-point sums, so one or two threads give the same model.
///
/// Every parameter takes Adam's step at every batch, as with PyTorch's dense
/// gradients; the rows a batch does not touch take theirs lazily, replayed
/// when the row is next read (see `LazyAdamBlock`: the same bits as stepping
/// every row every time).
final class DotBiasAdam: FactorNet {
    static let factorBlocks = 2
    /// Ratings ahead of the current one whose rows the forward pass prefetches.
    static let lookahead = 2

    let users: Int, items: Int, factors: Int
    let useBias: Bool
    let yRange: ModelMetadata.YRange?
    /// Factor blocks; the last also holds the biases (its column `factors`) when `useBias`.
    let blocks: [LazyAdamBlock]
    /// Adam's step counter `t`, shared by all parameters (they all step every batch).
    private(set) var steps = 0
    /// `stepScalars[t]`: the Adam scalars of step `t` (entry 0 unused), kept for rows' catch-ups.
    private var stepScalars = [embtool_adam_scalars()]
    private let maxBatch: Int
    /// [blocks + 1][maxBatch]: each block's share of every x̂ in the batch (biases last).
    private let partials: UnsafeMutablePointer<Float>
    /// The batch's parameter rows (user `u`, item `n_users + i`) and ratings, gathered
    /// once per step: independent loads overlap, the workers then read them in order.
    private let batchUser, batchItem: UnsafeMutablePointer<Int>
    private let batchRating: UnsafeMutablePointer<Float>
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
            LazyAdamBlock(rows: users + items, factors: factors * (b + 1) / nb - factors * b / nb,
                          hasBias: useBias && b == nb - 1, maxBatch: maxBatch)
        }
        partials = .allocate(capacity: (nb + 1) * maxBatch)
        partials.initialize(repeating: 0, count: (nb + 1) * maxBatch)
        dx = .allocate(capacity: pool.threads * maxBatch)
        dx.initialize(repeating: 0, count: pool.threads * maxBatch)
        batchUser = .allocate(capacity: maxBatch)
        batchUser.initialize(repeating: 0, count: maxBatch)
        batchItem = .allocate(capacity: maxBatch)
        batchItem.initialize(repeating: 0, count: maxBatch)
        batchRating = .allocate(capacity: maxBatch)
        batchRating.initialize(repeating: 0, count: maxBatch)
    }

    deinit {
        partials.deallocate()
        dx.deallocate()
        batchUser.deallocate()
        batchItem.deallocate()
        batchRating.deallocate()
    }

    /// The first factor column of block `b`.
    func firstColumn(_ b: Int) -> Int { factors * b / blocks.count }

    /// Sets the parameters from row-major state-dict tensors (Adam's state stays as it is).
    func load(userWeight: [Float], itemWeight: [Float], userBias: [Float], itemBias: [Float]) {
        precondition(userWeight.count == users * factors && itemWeight.count == items * factors)
        precondition(!useBias || (userBias.count == users && itemBias.count == items))
        catchUpAll()
        for (b, block) in blocks.enumerated() {
            let c0 = firstColumn(b)
            for r in 0..<(users + items) {
                let (source, row) = r < users ? (userWeight, r) : (itemWeight, r - users)
                let p = block.params(r)
                for c in 0..<block.factors { p[c] = source[row * factors + c0 + c] }
                if block.hasBias { p[block.factors] = r < users ? userBias[r] : itemBias[r - users] }
            }
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
        stepScalars.append(adam.kernelScalars)
        let t = steps, n = rows.count, nb = blocks.count, users = users
        let scale = 2 / Float(n)
        var loss: Float = 0
        let bu = batchUser, bi = batchItem, by = batchRating
        for j in 0..<n {
            let r = Int(rows[j])
            bu[j] = Int(user[r])
            bi[j] = users + Int(item[r])
            by[j] = rating[r]
        }
        stepScalars.withUnsafeBufferPointer { history in
            let history = history.baseAddress!
            pool.run { worker in
                let mine = stride(from: worker, to: nb, by: pool.threads)
                // Forward: this thread's share of every x̂, from rows brought up to step t - 1
                // (rows a few ratings ahead prefetched: a catch-up waiting for memory costs more than its arithmetic).
                for b in mine {
                    let block = blocks[b], out = partials + b * maxBatch
                    for j in 0..<min(Self.lookahead, n) {
                        block.prefetch(row: bu[j])
                        block.prefetch(row: bi[j])
                    }
                    for j in 0..<n {
                        if j + Self.lookahead < n {
                            block.prefetch(row: bu[j + Self.lookahead])
                            block.prefetch(row: bi[j + Self.lookahead])
                        }
                        block.catchUp(row: bu[j], to: t - 1, history)
                        block.catchUp(row: bi[j], to: t - 1, history)
                        out[j] = block.dot(bu[j], bi[j])
                    }
                    if block.hasBias {
                        let out = partials + nb * maxBatch
                        for j in 0..<n { out[j] = block.biasSum(bu[j], bi[j]) }
                    }
                }
                pool.barrier()
                // Every thread derives the same ∂L/∂x̂ from the same partial sums.
                let d = dx + worker * maxBatch
                var batchLoss: Float = 0
                for j in 0..<n {
                    var x: Float = 0
                    for b in 0..<nb { x += partials[b * maxBatch + j] }
                    if useBias { x += partials[nb * maxBatch + j] }
                    let (yHat, slope) = FactorModel.ratingAndSlope(score: x, yRange: yRange)
                    let grad = scale * slope
                    let diff = yHat - by[j]
                    batchLoss += diff * diff
                    d[j] = grad * diff
                }
                if worker == 0 { loss = batchLoss / Float(n) }
                // Backward into this thread's blocks, then Adam on the rows the batch touched.
                for b in mine {
                    let block = blocks[b]
                    for j in 0..<n { block.accumulate(d[j], bu[j], bi[j], step: t) }
                    block.stepTouched(adam)
                }
            }
        }
        return loss
    }

    /// Brings every row to the current step (before the parameters are read),
    /// on as many threads as the pool has (through `Parallel`: the model is
    /// also read after training, when the pool has stopped).
    private func catchUpAll() {
        let t = steps, nb = blocks.count, threads = pool.threads
        stepScalars.withUnsafeBufferPointer { history in
            Parallel.run(workers: threads) { w in
                for b in stride(from: w, to: nb, by: threads) { blocks[b].catchUpAll(to: t, history.baseAddress!) }
            }
        }
    }

    /// True when every parameter is a finite number.
    var isFinite: Bool {
        catchUpAll()
        return blocks.allSatisfy(\.isFinite)
    }

    /// The parameters, Adam's moments and step count: what a trial run (`LRFinder`)
    /// puts back, as fastai's `learn.load(..., with_opt=True)` does.
    struct State: Equatable {
        /// Per block: parameters, then m, then sqrt(v) (the last block's rows end with the bias).
        var blocks: [[Float]]
        var steps: Int
    }

    var state: State {
        catchUpAll()
        return State(blocks: blocks.map { $0.saved() }, steps: steps)
    }

    func restore(_ state: State) {
        for (block, saved) in zip(blocks, state.blocks) {
            block.restore(saved)
            block.setCurrent(state.steps)
        }
        steps = state.steps
        stepScalars.removeSubrange((steps + 1)...)
    }

    /// The trained tensors as a model (`meta` supplies vocabularies and provenance).
    func model(meta: ModelMetadata) -> FactorModel {
        catchUpAll()
        var uw = [Float](repeating: 0, count: users * factors)
        var iw = [Float](repeating: 0, count: items * factors)
        var biases = [Float](repeating: 0, count: useBias ? users + items : 0)
        for (b, block) in blocks.enumerated() {
            let c0 = firstColumn(b)
            for r in 0..<(users + items) {
                let p = block.params(r)
                for c in 0..<block.factors {
                    if r < users { uw[r * factors + c0 + c] = p[c] } else { iw[(r - users) * factors + c0 + c] = p[c] }
                }
                if block.hasBias { biases[r] = p[block.factors] }
            }
        }
        return FactorModel(
            userFactors: Matrix(rows: users, cols: factors, data: uw),
            itemFactors: Matrix(rows: items, cols: factors, data: iw),
            userBias: useBias ? Array(biases[..<users]) : nil,
            itemBias: useBias ? Array(biases[users...]) : nil,
            meta: meta)
    }
}
