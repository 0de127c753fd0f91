import CLapack
import CTrainKernels
import Foundation
import EmbeddingCore

/// Recipe `sparse`: fastai's recipe with sparse gradients, for data too big for
/// the dense Adam pass (which touches every parameter at every batch).
///
/// Same model, initialisation, loss, batch size, one-cycle schedule and Adam
/// hyper-parameters as `fastai`; each step updates only the rows its batch
/// touched. What dense gradients do to a row in the steps it sits out is
/// applied when it is next touched: weight decay and the decay of both moments
/// exactly (products of `1 - lr_t·wd`, of β1_t and of `sqr_mom`, from prefix
/// tables), and the drift its momentum gives it in closed form, as a geometric
/// series that holds the learning rate and β1 of the first missed step and
/// neglects `eps` next to `sqrt(v)`:
///
///     drift = lr / (1 - β1^t) · m / (sqrt(v̂) + eps) · Σ_{n=1..gap} ρ^n,   ρ = β1 / sqrt(sqr_mom)
///
/// Without the drift a row seen once moves a tenth as far as under dense Adam
/// (the momentum would have carried it nine more tenths).
///
/// Row `r` (users, then items at `n_users + i`) owns `rowFloats` contiguous
/// floats: the parameters `[factors, bias]`, Adam's `m`, Adam's `sqrt(v)`
/// (`stride` floats each), then a `RowClock` recording what a catch-up will
/// need, so that catching up reads nothing outside the row. The order of the
/// ratings is `BlockSchedule`'s.
final class SparseAdam: FactorNet {
    let users: Int, items: Int, factors: Int
    let useBias: Bool
    let yRange: ModelMetadata.YRange?
    /// Floats per block of a row: `factors + 1`, rounded up to whole SIMD vectors.
    let stride: Int
    let state: UnsafeMutablePointer<Float>
    var rows: Int { users + items }
    var rowFloats: Int { 3 * stride + 12 }
    var rowBytes: Int { rowFloats * MemoryLayout<Float>.stride }

    /// Parameters drawn as fastai's `Embedding` draws them, in state-dict order.
    init(users: Int, items: Int, factors: Int, useBias: Bool, yRange: ModelMetadata.YRange?, seed: UInt64) {
        self.users = users
        self.items = items
        self.factors = factors
        self.useBias = useBias
        self.yRange = yRange
        stride = (factors + 1 + 7) / 8 * 8
        state = LargeBuffer.allocate(Float.self, count: (users + items) * (3 * stride + 12))
        var rng = SplitMix64(seed: seed)
        func draw() -> Float { rng.nextGaussian().truncatingRemainder(dividingBy: 2) * 0.01 }
        for r in 0..<(users + items) { for f in 0..<factors { params(r)[f] = draw() } }
        if useBias { for r in 0..<(users + items) { params(r)[factors] = draw() } }
    }

    deinit {
        LargeBuffer.free(state)
    }

    @inline(__always) func params(_ r: Int) -> UnsafeMutablePointer<Float> { state + r * rowFloats }

    /// The schedule values a row's next catch-up needs, saved when the row steps.
    struct RowClock {
        /// `weightDecay[t]` and `momentum[t]` at the row's last step `t`.
        var weightDecay: Double
        var momentum: Double
        /// Adam scalars of step `t + 1`, the first step the row may miss.
        var stepSize: Float
        var invSqrtDebias2: Float
        var rho: Float
        /// The last step the row took (0 before its first); catch-ups start there.
        var last: Int32
    }

    @inline(__always) func clock(_ r: Int) -> UnsafeMutablePointer<RowClock> {
        UnsafeMutableRawPointer(params(r) + 3 * stride).assumingMemoryBound(to: RowClock.self)
    }

    /// x̂ = u · i (+ biases) for row `u` and row `i` (an item's row, `n_users + item`).
    @inline(__always)
    func score(_ u: Int, _ i: Int) -> Float {
        let pu = params(u), pi = params(i)
        var acc = SIMD8<Float>.zero
        var f = 0
        while f + 8 <= factors {
            acc += SIMD8.load(pu + f) * SIMD8.load(pi + f)
            f += 8
        }
        var x = acc.sum()
        while f < factors { x += pu[f] * pi[f]; f += 1 }
        if useBias { x += pu[factors] + pi[factors] }
        return x
    }

    /// Per-step quantities, indexed by the 1-based step (entry 0 is a placeholder):
    /// each step's Adam scalars, and prefix sums of logs
    /// `weightDecay[t] = Σ_{s≤t} log(1 - lr_s·wd)`, `momentum[t] = Σ_{s≤t} log β1_s`.
    struct DecayTables {
        var weightDecay: [Double]
        var momentum: [Double]
        var steps: [AdamStep]
        /// `ρ_t = β1_t / sqrt(sqr_mom)`.
        var rho: [Float]
        /// `sqrt(sqr_mom)^n` for the gaps short enough to be common.
        var sqrDecay: [Float]
        let logSqrtSqrMom = Float(0.5 * log(AdamStep.defaultSqrMom))

        init(schedule: OneCycleSchedule, wd: Double, steps count: Int) {
            weightDecay = [0]
            momentum = [0]
            steps = [AdamStep(lr: 0, mom: 0.9, wd: 0, step: 1)]
            rho = [0]
            sqrDecay = (0..<4096).map { Float(pow(AdamStep.defaultSqrMom.squareRoot(), Double($0))) }
            // One step past the end, for the clock of a row that steps last.
            for t in 1...(max(1, count) + 1) {
                let pos = Double(t - 1) / Double(max(1, count))
                let lr = schedule.lr(at: pos), mom = schedule.mom(at: pos)
                weightDecay.append(weightDecay[t - 1] + log(1 - lr * wd))
                momentum.append(momentum[t - 1] + log(mom))
                steps.append(AdamStep(lr: lr, mom: mom, wd: wd, step: t))
                rho.append(Float(mom / AdamStep.defaultSqrMom.squareRoot()))
            }
        }

        /// Raw views for the hot loop; valid while `self` is alive and unchanged.
        func withView<R>(_ body: (View) -> R) -> R {
            weightDecay.withUnsafeBufferPointer { wd in
                momentum.withUnsafeBufferPointer { mom in
                    steps.withUnsafeBufferPointer { st in
                        rho.withUnsafeBufferPointer { rho in
                            sqrDecay.withUnsafeBufferPointer { sq in
                                body(View(weightDecay: wd.baseAddress!, momentum: mom.baseAddress!, steps: st.baseAddress!,
                                          rho: rho.baseAddress!, sqrDecay: sq.baseAddress!, sqrDecayCount: sq.count,
                                          logSqrtSqrMom: logSqrtSqrMom))
                            }
                        }
                    }
                }
            }
        }

        struct View {
            let weightDecay, momentum: UnsafePointer<Double>
            let steps: UnsafePointer<AdamStep>
            let rho, sqrDecay: UnsafePointer<Float>
            let sqrDecayCount: Int
            let logSqrtSqrMom: Float
        }
    }

    /// What steps `last + 1 ..< step` did to a row they did not touch: move `p`
    /// by `-drift · m / (q c + eps)` and scale it by `decay` (the momentum acts
    /// in the first few dozen steps, the decay over all of them), then scale
    /// `m` and `q` (see the type's comment).
    struct Absence {
        var decay: Float = 1, drift: Float = 0, c: Float = 1, momDecay: Float = 1, sqrDecay: Float = 1
        /// Past this many missed steps, β1^gap < 1e-9: the momentum is spent.
        static let spent = 400

        @inline(__always)
        init?(last: Int, step: Int, clock: RowClock, _ t: DecayTables.View) {
            let gap = step - 1 - last
            guard gap > 0 else { return nil }
            decay = expf(Float(t.weightDecay[step - 1] - clock.weightDecay))
            guard last > 0 else { return }  // never stepped: m = v = 0, nothing else to do
            sqrDecay = gap < t.sqrDecayCount ? t.sqrDecay[gap] : expf(Float(gap) * t.logSqrtSqrMom)
            // ρ^gap = Π β1 / sqrt(sqr_mom)^gap, with the β1 the schedule actually used.
            var rhoPower: Float = 0
            if gap < Self.spent {
                momDecay = expf(Float(t.momentum[step - 1] - clock.momentum))
                rhoPower = momDecay / sqrDecay
            } else {
                momDecay = 0
            }
            drift = clock.stepSize * clock.rho * (1 - rhoPower) / (1 - clock.rho)
            c = clock.invSqrtDebias2
        }
    }

    /// Records at step `t` what the row's next catch-up needs.
    @inline(__always)
    func stamp(_ r: Int, step t: Int, _ v: DecayTables.View) {
        let next = v.steps[t + 1]
        clock(r).pointee = RowClock(weightDecay: v.weightDecay[t], momentum: v.momentum[t], stepSize: next.stepSize,
                                    invSqrtDebias2: next.invSqrtDebias2, rho: v.rho[t + 1], last: Int32(t))
    }

    /// Per-thread scratch for one batch: the batch's distinct rows and their gradients.
    final class Scratch {
        let slotOf: UnsafeMutablePointer<Int32>
        let slotRow: UnsafeMutablePointer<Int32>
        let grad: UnsafeMutablePointer<Float>
        let stride: Int
        var used = 0

        init(rows: Int, batch: Int, stride: Int) {
            self.stride = stride
            slotOf = LargeBuffer.allocate(Int32.self, count: rows)
            slotOf.update(repeating: -1, count: rows)
            slotRow = .allocate(capacity: 2 * batch)
            slotRow.initialize(repeating: 0, count: 2 * batch)
            grad = .allocate(capacity: 2 * batch * stride)
            grad.initialize(repeating: 0, count: 2 * batch * stride)
        }

        deinit {
            LargeBuffer.free(slotOf)
            slotRow.deallocate()
            grad.deallocate()
        }

        /// The gradient buffer of row `r`, claimed on first use in this batch.
        @inline(__always)
        func slot(_ r: Int) -> UnsafeMutablePointer<Float> {
            var s = Int(slotOf[r])
            if s < 0 {
                s = used
                used += 1
                slotOf[r] = Int32(s)
                slotRow[s] = Int32(r)
            }
            return grad + s * stride
        }
    }

    /// Ratings ahead of the current one whose rows are prefetched.
    static let lookahead = 6

    /// Starts loading every cache line of row `r` (parameters, moments, clock)
    /// and its slot in `scratch`.
    @inline(__always)
    func prefetch(row r: Int, _ scratch: Scratch) {
        let start = UnsafeRawPointer(params(r))
        for offset in Swift.stride(from: 0, to: rowBytes, by: 64) { embtool_prefetch(start + offset) }
        embtool_prefetch(scratch.slotOf + r)
    }

    /// One batch at global step `step`: forward, backward into `scratch`, then
    /// each touched row's catch-up and Adam step, fused. Returns the summed
    /// squared error. Rows of the ratings that follow, up to `end`, are
    /// prefetched as it goes: a row not in cache costs more than its arithmetic.
    @inline(__always)
    func step(_ batch: UnsafeBufferPointer<PackedRating>, end: UnsafePointer<PackedRating>, step: Int,
              scratch: Scratch, _ t: DecayTables.View) -> Float {
        let k = factors, users = users
        let scale = 2 / Float(batch.count)
        var loss: Float = 0
        let base = batch.baseAddress!
        for j in 0..<min(Self.lookahead, base.distance(to: end)) {
            prefetch(row: Int(base[j].user), scratch)
            prefetch(row: users + Int(base[j].item), scratch)
        }
        for j in 0..<batch.count {
            let rating = base[j]
            if base + j + Self.lookahead < end {
                let ahead = base[j + Self.lookahead]
                prefetch(row: Int(ahead.user), scratch)
                prefetch(row: users + Int(ahead.item), scratch)
            }
            let u = Int(rating.user), i = users + Int(rating.item)
            let (yHat, slope) = FactorModel.ratingAndSlope(score: score(u, i), yRange: yRange)
            var dx = scale * slope
            let diff = yHat - rating.rating
            loss += diff * diff
            dx *= diff
            let gu = scratch.slot(u), gi = scratch.slot(i)
            let pu = params(u), pi = params(i)
            let d8 = SIMD8<Float>(repeating: dx)
            var f = 0
            while f + 8 <= k {
                (SIMD8.load(gu + f) + d8 * SIMD8.load(pi + f)).store(gu + f)
                (SIMD8.load(gi + f) + d8 * SIMD8.load(pu + f)).store(gi + f)
                f += 8
            }
            while f < k {
                gu[f] += dx * pi[f]
                gi[f] += dx * pu[f]
                f += 1
            }
            if useBias {
                gu[k] += dx
                gi[k] += dx
            }
        }
        let adam = t.steps[step]
        let n = useBias ? k + 1 : k
        for s in 0..<scratch.used {
            let r = Int(scratch.slotRow[s])
            let p = params(r), g = scratch.grad + s * scratch.stride
            let c = clock(r).pointee
            if let absence = Absence(last: Int(c.last), step: step, clock: c, t) {
                catchUpAndStep(p, g, n, absence, adam)
            } else {
                adam.applyWide(params: p, grads: g, gradAvg: p + stride, sqrtSqrAvg: p + 2 * stride, count: n)
            }
            stamp(r, step: step, t)
            scratch.slotOf[r] = -1
        }
        scratch.used = 0
        return loss
    }

    /// `Absence` then `AdamStep.apply`, in one pass over the row's `n` values
    /// (`embtool_adam_catch_up_step`: AVX-512 or AVX where the CPU has it, the
    /// same operations in the same order on every variant).
    @inline(__always)
    private func catchUpAndStep(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ n: Int,
                                _ a: Absence, _ s: AdamStep) {
        var absence = embtool_sparse_absence(decay: a.decay, drift: a.drift, c: a.c, mom_decay: a.momDecay,
                                             sqr_decay: a.sqrDecay)
        var scalars = s.kernelScalars
        embtool_adam_catch_up_step(p, g, p + stride, p + 2 * stride, n, &absence, &scalars)
    }

    /// Brings every row up to `step` (before validating or saving).
    func catchUpAll(to step: Int, _ t: DecayTables.View, threads: Int) {
        let workers = max(1, threads)
        Parallel.run(workers: workers) { w in
            for r in (rows * w / workers)..<(rows * (w + 1) / workers) {
                var k = clock(r).pointee
                guard let a = Absence(last: Int(k.last), step: step + 1, clock: k, t) else { continue }
                let p = params(r), m = p + stride, q = m + stride, eps = AdamStep.defaultEps
                for f in 0...factors {
                    p[f] = (p[f] - a.drift * (m[f] / (q[f] * a.c + eps))) * a.decay
                    m[f] *= a.momDecay
                    q[f] *= a.sqrDecay
                }
                // The clock moves to `step`; the drift coefficients of the first missed step stay.
                k.weightDecay = t.weightDecay[step]
                k.momentum = t.momentum[step]
                if k.last > 0 { k.last = Int32(step) }
                clock(r).pointee = k
            }
        }
    }

    /// The tensors as a model.
    func model(meta: ModelMetadata) -> FactorModel {
        let k = factors
        var uw = [Float](repeating: 0, count: users * k), iw = [Float](repeating: 0, count: items * k)
        for r in 0..<rows {
            let p = params(r)
            for f in 0..<k {
                if r < users { uw[r * k + f] = p[f] } else { iw[(r - users) * k + f] = p[f] }
            }
        }
        return FactorModel(userFactors: Matrix(rows: users, cols: k, data: uw),
                           itemFactors: Matrix(rows: items, cols: k, data: iw),
                           userBias: useBias ? (0..<users).map { params($0)[k] } : nil,
                           itemBias: useBias ? (0..<items).map { params(users + $0)[k] } : nil,
                           meta: meta)
    }

    var isFinite: Bool {
        // x − x is 0 for a finite x and NaN for ±∞ or NaN, so one sum over the
        // table answers (a branch per value took 35 ms of the 25M epoch).
        let n = factors + 1
        var lanes = SIMD8<Float>(), rest: Float = 0
        for r in 0..<rows {
            let p = params(r)
            var f = 0
            while f + 8 <= n {
                let x = SIMD8.load(p + f)
                lanes += x - x
                f += 8
            }
            while f < n { rest += p[f] - p[f]; f += 1 }
        }
        return lanes.sum() + rest == 0
    }
}

/// One rating, 12 bytes, so that an epoch reads the ratings in memory order.
struct PackedRating {
    var user: Int32
    var item: Int32
    var rating: Float
}

/// The order in which recipe `sparse` visits the ratings: stratified blocks, as
/// in DSGD (Gemulla et al., KDD 2011) and LIBMF's FPSGD.
///
/// Users and items are shuffled once and cut into `parts` parts each; a part
/// into cells' worth of rows: user groups small enough for a core's L2 cache,
/// item blocks for a share of L3. Each epoch visits `parts` strata, in random
/// order; stratum `s` pairs user part `i` with item part `σ(i + s)` for a
/// random permutation `σ`, so the strata of an epoch cover every rating once.
/// Within a pair of parts, the cells (user group x item block) come in random
/// order, each cell's ratings shuffled and cut into batches. A random batch of
/// the whole table would touch rows that are in no cache; in a cell, the rows
/// come from a few megabytes.
///
/// The pairs of a stratum share no row, so threads run them at once without
/// locks, and the result equals one thread running them one after another:
/// the model depends on the seed only, not on the thread count or timing. Steps
/// are numbered as if the pairs' batches were merged by their relative position
/// in each pair, so all pairs move through the learning-rate schedule together.
struct BlockSchedule {
    /// Eight strata keep the order close to a plain shuffle (two cost ml-100k 0.005 RMSE).
    static let maxParts = 8
    static let userGroupBytes = 512 << 10
    static let itemBlockBytes = 8 << 20

    /// Ratings of cell `g * itemBlocks + b` are `sorted[cellStart[cell] ..< cellStart[cell + 1]]` of the
    /// ratings `init` sorted.
    let cellStart: [Int]
    let parts: Int
    let itemBlocks: Int
    /// User groups of user part `p`, item blocks of item part `p`.
    let userGroupsOf: [Range<Int>], itemBlocksOf: [Range<Int>]
    let batchSize: Int
    let seed: UInt64

    /// Cuts `train` into cells and writes its ratings to `sorted`, cell by cell:
    /// the caller owns them (each epoch shuffles every cell in place), so no
    /// copy of the table is held beside them (25M ratings: 300 MB).
    init(_ train: Ratings, rowBytes: Int, batchSize: Int, seed: UInt64, sorted: inout [PackedRating]) {
        self.batchSize = batchSize
        self.seed = seed
        let parts = max(1, min(Self.maxParts, train.users.count, train.items.count))
        self.parts = parts
        var rng = SplitMix64(seed: seed ^ 0x424C_4F43_4B53)
        /// Rows shuffled, cut into `parts` parts, each part into groups of at most `perGroup` rows.
        func cut(_ n: Int, perGroup: Int) -> (group: [Int32], groupsOf: [Range<Int>]) {
            let order = (0..<n).shuffled(using: &rng)
            var group = [Int32](repeating: 0, count: n)
            var groupsOf: [Range<Int>] = []
            var next = 0
            for p in 0..<parts {
                let lo = n * p / parts, hi = n * (p + 1) / parts
                let groups = max(1, (hi - lo + perGroup - 1) / max(1, perGroup))
                for position in lo..<hi { group[order[position]] = Int32(next + (position - lo) * groups / max(1, hi - lo)) }
                groupsOf.append(next..<(next + groups))
                next += groups
            }
            return (group, groupsOf)
        }
        let (userGroup, ugOf) = cut(train.users.count, perGroup: max(1, Self.userGroupBytes / rowBytes))
        let (itemBlock, ibOf) = cut(train.items.count, perGroup: max(1, Self.itemBlockBytes / rowBytes))
        userGroupsOf = ugOf
        itemBlocksOf = ibOf
        let ib = ibOf.last!.upperBound, cells = ugOf.last!.upperBound * ib
        itemBlocks = ib
        // Counting sort of the ratings by cell.
        var start = [Int](repeating: 0, count: cells + 1)
        let cellOf = (0..<train.count).map { Int(userGroup[Int(train.user[$0])]) * ib + Int(itemBlock[Int(train.item[$0])]) }
        for c in cellOf { start[c + 1] += 1 }
        for c in 0..<cells { start[c + 1] += start[c] }
        var fill = start
        sorted = [PackedRating](repeating: PackedRating(user: 0, item: 0, rating: 0), count: train.count)
        for j in 0..<train.count {
            let c = cellOf[j]
            sorted[fill[c]] = PackedRating(user: train.user[j], item: train.item[j], rating: train.rating[j])
            fill[c] += 1
        }
        cellStart = start
    }

    func batches(inCell c: Int) -> Int { (cellStart[c + 1] - cellStart[c] + batchSize - 1) / batchSize }

    /// Batches per epoch: every cell's ratings, the last batch of a cell possibly short.
    var batchesPerEpoch: Int { (0..<(cellStart.count - 1)).reduce(0) { $0 + batches(inCell: $1) } }

    /// Epoch `epoch`'s strata in visiting order; each lists its pairs' cells,
    /// the pairs in user-part order, each pair's cells in visiting order.
    func strata(epoch: Int) -> [[[Int]]] {
        var rng = SplitMix64(seed: seed &+ UInt64(epoch + 1) &* 0x9E37_79B9_7F4A_7C15)
        let sigma = (0..<parts).shuffled(using: &rng)
        return (0..<parts).shuffled(using: &rng).map { s in
            (0..<parts).map { i in
                var cells: [Int] = []
                for b in itemBlocksOf[sigma[(i + s) % parts]].shuffled(using: &rng) {
                    for g in userGroupsOf[i].shuffled(using: &rng) { cells.append(g * itemBlocks + b) }
                }
                return cells
            }
        }
    }

    /// The random stream that shuffles cell `c` in epoch `epoch`.
    func cellStream(epoch: Int, cell c: Int) -> SplitMix64 {
        var g = SplitMix64(seed: seed ^ (UInt64(epoch) &* 0xD1B5_4A32_D192_ED03))
        return SplitMix64(seed: g.next() &+ UInt64(c))
    }

    /// The 0-based position within its stratum of batch `b` of pair `p`, when
    /// the pairs' batches (`counts[q]` each) are merged by relative position
    /// `(b + 1/2) / counts[p]`, ties going to the lower pair.
    static func mergedIndex(_ b: Int, pair p: Int, counts: [Int]) -> Int {
        var index = b
        let x = 2 * b + 1, np = counts[p]
        for (q, nq) in counts.enumerated() where q != p && nq > 0 {
            // Batches c of pair q with (2c + 1) / nq before (2b + 1) / np.
            let before = q < p ? (x * nq / np + 1) / 2 : ((x * nq + np - 1) / np) / 2
            index += min(nq, before)
        }
        return index
    }
}

/// The training loop of recipe `sparse`.
enum SparseRecipe {
    static func train(_ train: Ratings, valid: Ratings?, config: TrainConfig,
                      progress: ((TrainProgress) -> Void)?) throws -> (SparseAdam, [EpochStats]) {
        let batchSize = config.batchSize
        let net = SparseAdam(users: train.users.count, items: train.items.count, factors: config.factors,
                             useBias: config.useBias, yRange: config.yRange, seed: config.seed)
        var ratings: [PackedRating] = []
        let schedule = BlockSchedule(train, rowBytes: net.rowBytes, batchSize: batchSize, seed: config.seed, sorted: &ratings)
        let threads = max(1, min(config.threads, schedule.parts))
        let perEpoch = schedule.batchesPerEpoch
        let tables = SparseAdam.DecayTables(schedule: OneCycleSchedule(lrMax: Double(config.lr)), wd: Double(config.wd),
                                            steps: config.epochs * perEpoch)
        let scratch = (0..<threads).map { _ in SparseAdam.Scratch(rows: net.rows, batch: batchSize, stride: net.stride) }
        // The untrained model's error on (up to) the first 100k training ratings.
        let sample = min(train.count, 100_000)
        var divergence = DivergenceWatch(initialLoss: net.meanSquaredError(
            user: Array(train.user[..<sample]), item: Array(train.item[..<sample]), rating: Array(train.rating[..<sample])))
        var stats: [EpochStats] = []
        // Squared errors per pair, summed in pair order so the thread count cannot change the total.
        var losses = [Double](repeating: 0, count: schedule.parts)

        for epoch in 0..<config.epochs {
            let started = DispatchTime.now().uptimeNanoseconds
            var base = epoch * perEpoch
            for i in losses.indices { losses[i] = 0 }
            let strata = schedule.strata(epoch: epoch)
            for (done, stratum) in strata.enumerated() {
                let counts = stratum.map { $0.reduce(0) { $0 + schedule.batches(inCell: $1) } }
                ratings.withUnsafeMutableBufferPointer { data in
                    losses.withUnsafeMutableBufferPointer { losses in
                        tables.withView { view in
                            Parallel.forEach(stratum.count, threads: threads) { worker, pair in
                                var sum = 0.0, b = 0
                                for cell in stratum[pair] {
                                    let lo = schedule.cellStart[cell], hi = schedule.cellStart[cell + 1]
                                    var rng = schedule.cellStream(epoch: epoch, cell: cell)
                                    var cellRatings = UnsafeMutableBufferPointer(rebasing: data[lo..<hi])
                                    cellRatings.shuffle(using: &rng)
                                    var start = lo
                                    while start < hi {
                                        let end = min(start + batchSize, hi)
                                        let step = base + 1 + BlockSchedule.mergedIndex(b, pair: pair, counts: counts)
                                        sum += Double(net.step(UnsafeBufferPointer(rebasing: data[start..<end]),
                                                               end: UnsafePointer(data.baseAddress! + hi), step: step,
                                                               scratch: scratch[worker], view))
                                        start = end
                                        b += 1
                                    }
                                }
                                losses[pair] += sum
                            }
                        }
                    }
                }
                base += counts.reduce(0, +)
                progress?(TrainProgress(epoch: epoch, epochs: config.epochs,
                                        fraction: Double(done + 1) / Double(strata.count), finished: nil))
            }
            tables.withView { net.catchUpAll(to: (epoch + 1) * perEpoch, $0, threads: threads) }
            let trainLoss = losses.reduce(0, +) / Double(train.count)
            try divergence.check(epochLoss: trainLoss, epoch: epoch)
            guard net.isFinite else { throw DivergenceWatch.diverged(epoch: epoch, why: "a parameter became infinite or NaN") }
            let validLoss = valid.flatMap { $0.count == 0 ? nil : net.meanSquaredError(user: $0.user, item: $0.item, rating: $0.rating) }
            let row = EpochStats(epoch: epoch, trainLoss: trainLoss, validLoss: validLoss,
                                 seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
            stats.append(row)
            progress?(TrainProgress(epoch: epoch, epochs: config.epochs, fraction: 1, finished: row))
        }
        return (net, stats)
    }
}
