@testable import EmbeddingCore
@testable import EmbeddingTrain
import CTrainKernels
import XCTest

/// `DotBiasAdam` steps the rows a batch does not touch lazily, replaying their
/// zero-gradient steps when the row is next read. The truth here is the plain
/// dense update, written out below with `AdamStep.apply` / `applyZeroGradient`
/// (Swift, not the C kernels) on every row at every step.
final class TrainLazyAdamTests: XCTestCase {
    /// A plain `EmbeddingDotBias` trained densely: every parameter steps every batch.
    struct DenseReference {
        let users: Int, factors: Int, blocks: [Range<Int>]
        /// [users + items][factors + 1] (the bias last): parameters, m, sqrt(v), gradient.
        var p, m, q, g: [Float]
        var width: Int { factors + 1 }

        init(users: Int, items: Int, factors: Int, blocks: Int, initial: [Float]) {
            self.users = users
            self.factors = factors
            self.blocks = (0..<blocks).map { b in (factors * b / blocks)..<(factors * (b + 1) / blocks) }
            p = initial
            (m, q, g) = ([Float](repeating: 0, count: p.count), [Float](repeating: 0, count: p.count), [Float](repeating: 0, count: p.count))
        }

        /// x̂ of parameter rows `u` and `i`: each block's dot product summed in
        /// column order, the blocks' sums in block order, then the two biases
        /// (the order `DotBiasAdam` defines).
        func score(_ u: Int, _ i: Int) -> Float {
            var x: Float = 0
            for block in blocks {
                var s: Float = 0
                for c in block { s += p[u * width + c] * p[i * width + c] }
                x += s
            }
            return x + (p[u * width + factors] + p[i * width + factors])
        }

        /// One step on ratings of (user, item, rating); item `i` is parameter row `users + i`.
        mutating func step(_ ratings: [(u: Int, i: Int, y: Float)], _ adam: AdamStep) {
            let batch = ratings.map { (u: $0.u, i: users + $0.i, y: $0.y) }
            let d = batch.map { 2 / Float(batch.count) * (score($0.u, $0.i) - $0.y) }
            var touched = Set<Int>()
            for (j, r) in batch.enumerated() {
                let (a, b) = (r.u * width, r.i * width)
                for c in 0..<factors {
                    g[a + c] += d[j] * p[b + c]
                    g[b + c] += d[j] * p[a + c]
                }
                g[a + factors] += d[j]
                g[b + factors] += d[j]
                touched.formUnion([r.u, r.i])
            }
            var (p, m, q, g) = (self.p, self.m, self.q, self.g)
            p.withUnsafeMutableBufferPointer { p in
                m.withUnsafeMutableBufferPointer { m in
                    q.withUnsafeMutableBufferPointer { q in
                        g.withUnsafeMutableBufferPointer { g in
                            let (p, m, q, g) = (p.baseAddress!, m.baseAddress!, q.baseAddress!, g.baseAddress!)
                            for row in 0..<(self.p.count / width) {
                                let o = row * width
                                if touched.contains(row) {
                                    adam.apply(params: p + o, grads: g + o, gradAvg: m + o, sqrtSqrAvg: q + o, count: width)
                                } else {
                                    adam.applyZeroGradient(params: p + o, gradAvg: m + o, sqrtSqrAvg: q + o, count: width)
                                }
                            }
                        }
                    }
                }
            }
            (self.p, self.m, self.q, self.g) = (p, m, q, g)
        }

        /// `DotBiasAdam.State.blocks` of these tensors.
        var stateBlocks: [[Float]] {
            blocks.enumerated().map { b, columns in
                let cols = Array(columns) + (b == blocks.count - 1 ? [factors] : [])
                return [p, m, q].flatMap { t in (0..<(t.count / width)).flatMap { row in cols.map { t[row * width + $0] } } }
            }
        }
    }

    /// 30 users, 20 items, 5 factors (two blocks), batches of 4, 400 steps of
    /// the one-cycle schedule. User 29 and item 19 sit out steps 2-299 (their
    /// momentum long spent), item 18 is never touched, and the parameters are
    /// read (the model and the state) at step 150, in the middle of those gaps.
    /// Every variant of the kernels, one thread and two.
    func testLazyStepsGiveTheDenseUpdatesBits() {
        let (users, items, factors, batch, total) = (30, 20, 5, 4, 400)
        var rng = SplitMix64(seed: 11)
        var batches: [[(u: Int, i: Int, y: Float)]] = []
        for t in 1...total {
            batches.append((0..<batch).map { j in
                if j == 0 && (t == 1 || t >= 300) { return (29, 19, 4) }
                return (Int(rng.next() % 29), Int(rng.next() % 18), Float(1 + rng.next() % 5))
            })
        }
        let schedule = OneCycleSchedule(lrMax: 0.05)
        let adams = (1...total).map { t in
            let pos = Double(t - 1) / Double(total)
            return AdamStep(lr: schedule.lr(at: pos), mom: schedule.mom(at: pos), wd: 0.1, step: t)
        }
        let initial = (0..<((users + items) * (factors + 1))).map { _ in rng.nextGaussian() * 0.1 }
        var dense = DenseReference(users: users, items: items, factors: factors, blocks: 2, initial: initial)
        var middle: [[Float]] = []
        for t in 0..<total {
            dense.step(batches[t], adams[t])
            if t + 1 == 150 { middle = dense.stateBlocks }
        }

        let supported = embtool_adam_supported_level()
        defer { embtool_adam_set_level(supported) }
        for level in 0...supported {
            embtool_adam_set_level(Int32(level))
            for threads in [1, 2] {
                let pool = WorkerPool(threads: threads)
                defer { pool.shutdown() }
                let net = DotBiasAdam(users: users, items: items, factors: factors, useBias: true, yRange: nil,
                                      maxBatch: batch, pool: pool)
                let w = factors + 1
                net.load(userWeight: (0..<users).flatMap { r in initial[(r * w)..<(r * w + factors)] },
                         itemWeight: (users..<(users + items)).flatMap { r in initial[(r * w)..<(r * w + factors)] },
                         userBias: (0..<users).map { initial[$0 * w + factors] },
                         itemBias: (users..<(users + items)).map { initial[$0 * w + factors] })
                let user = batches.flatMap { $0.map { Int32($0.u) } }, item = batches.flatMap { $0.map { Int32($0.i) } }
                let rating = batches.flatMap { $0.map(\.y) }
                for t in 0..<total {
                    let rows = (0..<batch).map { Int32(t * batch + $0) }
                    _ = rows.withUnsafeBufferPointer { net.step(rows: $0, user: user, item: item, rating: rating, adam: adams[t]) }
                    if t + 1 == 150 {
                        XCTAssertEqual(bits(net.state.blocks), bits(middle), "state at step 150, level \(level), \(threads) threads")
                    }
                }
                let what = "level \(level), \(threads) threads"
                XCTAssertEqual(bits(net.state.blocks), bits(dense.stateBlocks), what)
                let model = net.model(meta: ModelMetadata())
                XCTAssertEqual(model.userFactors?.data.map(\.bitPattern),
                               (0..<users).flatMap { r in dense.p[(r * w)..<(r * w + factors)] }.map(\.bitPattern), what)
                XCTAssertEqual(model.itemBias?.map(\.bitPattern),
                               (users..<(users + items)).map { dense.p[$0 * w + factors].bitPattern }, what)
                XCTAssertNotEqual(model.itemBias?[18], initial[(users + 18) * w + factors], "an untouched row still decays")
            }
        }
    }

    /// The replay kernel (every variant) gives the bits of one zero-gradient
    /// step after another, for lengths with and without a vector tail.
    func testReplayIsOneZeroGradientStepAfterAnother() {
        var rng = SplitMix64(seed: 3)
        let adams = (1...60).map { t in AdamStep(lr: 0.01 * Double(t % 7 + 1), mom: 0.85 + 0.001 * Double(t), wd: 0.1, step: t) }
        let scalars = adams.map(\.kernelScalars)
        let supported = embtool_adam_supported_level()
        defer { embtool_adam_set_level(supported) }
        for level in 0...supported {
            embtool_adam_set_level(Int32(level))
            for n in [1, 7, 8, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 100, 130] {
                let p0 = (0..<n).map { _ in rng.nextGaussian() }, m0 = (0..<n).map { _ in rng.nextGaussian() * 0.01 }
                let q0 = (0..<n).map { _ in abs(rng.nextGaussian()) * 0.01 }
                var (p1, m1, q1, p2, m2, q2) = (p0, m0, q0, p0, m0, q0)
                for adam in adams { adam.applyZeroGradient(params: &p1, gradAvg: &m1, sqrtSqrAvg: &q1, count: n) }
                scalars.withUnsafeBufferPointer {
                    embtool_adam_replay_zero_gradient_steps(&p2, &m2, &q2, n, $0.baseAddress!, $0.count)
                }
                XCTAssertEqual([p1, m1, q1].map { $0.map(\.bitPattern) }, [p2, m2, q2].map { $0.map(\.bitPattern) },
                               "level \(level), n \(n)")
            }
        }
    }

    /// Recipe sparse's catch-up-and-step kernel (every variant) against its
    /// formula written out per value in Swift, for lengths with and without a vector tail.
    func testSparseCatchUpKernelIsItsFormula() {
        var rng = SplitMix64(seed: 8)
        let a = embtool_sparse_absence(decay: 0.9993, drift: 0.0371, c: 1.27, mom_decay: 0.0153, sqr_decay: 0.887)
        var s = AdamStep(lr: 0.004, mom: 0.91, wd: 0.1, step: 57).kernelScalars
        let supported = embtool_adam_supported_level()
        defer { embtool_adam_set_level(supported) }
        for level in 0...supported {
            embtool_adam_set_level(Int32(level))
            for n in [1, 8, 15, 16, 17, 33, 51, 56] {
                let p0 = (0..<n).map { _ in rng.nextGaussian() * 0.1 }, g0 = (0..<n).map { _ in rng.nextGaussian() * 0.01 }
                let m0 = (0..<n).map { _ in rng.nextGaussian() * 0.01 }, q0 = (0..<n).map { _ in abs(rng.nextGaussian()) * 0.01 }
                var expected: [[Float]] = [[], [], [], []]
                for j in 0..<n {
                    var p = (p0[j] - a.drift * (m0[j] / (q0[j] * a.c + s.eps))) * a.decay
                    let m = s.mom * (m0[j] * a.mom_decay) + (1 - s.mom) * g0[j]
                    var q = q0[j] * a.sqr_decay
                    q = (s.sqr_mom * (q * q) + (1 - s.sqr_mom) * (g0[j] * g0[j])).squareRoot()
                    p = p * s.decay - s.step_size * (m / (q * s.inv_sqrt_debias2 + s.eps))
                    for (k, v) in [p, 0, m, q].enumerated() { expected[k].append(v) }
                }
                var (p, g, m, q) = (p0, g0, m0, q0)
                var absence = a
                embtool_adam_catch_up_step(&p, &g, &m, &q, n, &absence, &s)
                XCTAssertEqual([p, g, m, q].map { $0.map(\.bitPattern) }, expected.map { $0.map(\.bitPattern) }, "level \(level), n \(n)")
            }
        }
    }

    func bits(_ blocks: [[Float]]) -> [[UInt32]] { blocks.map { $0.map(\.bitPattern) } }
}
