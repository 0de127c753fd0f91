import CLapack
import Foundation
import EmbeddingCore
import EmbeddingLinalg

/// Recipe `best`: Bayesian probabilistic matrix factorisation (BPMF,
/// Salakhutdinov & Mnih, ICML 2008) with user and item biases, by Gibbs sampling.
///
///     r_ui ~ N(μ + x_u · z_i,  1/α)     x_u = [U_u, b_u],  z_i = [V_i, 1]      (users' view)
///                                       y_i = [V_i, c_i],  w_u = [U_u, 1]      (items' view)
///
/// Each side's (k+1)-vectors have a Gaussian prior whose mean and precision
/// have the Gaussian–Wishart hyper-prior. One sweep draws the users'
/// hyper-parameters, then every user given the items, then the same for items.
/// A user's conditional is Gaussian with precision `Λ* = Λ_U + α Σ z_i z_iᵀ`
/// and mean `Λ*⁻¹ (Λ_U μ_U + α Σ z_i (r_ui - μ - c_i))`: one BLAS `ssyrk`, one
/// LAPACK Cholesky and two triangular solves per user. Predictions average
/// over the sweeps after burn-in; over the same sweeps `PosteriorSpread` keeps
/// the posterior sd of every bias and factor norm the model file stores.
enum BayesianMF {
    /// Above this many user-item pairs the dense posterior-mean matrix is too
    /// big, and the model keeps the posterior means of the factors instead.
    static let densePairLimit = 25_000_000

    static func train(_ train: Ratings, valid: Ratings?, config: TrainConfig, meta: ModelMetadata,
                      progress: ((TrainProgress) -> Void)?) throws -> TrainResult {
        let sampler = BPMFSampler(train, factors: config.samplerFactors, seed: config.seed, threads: config.threads)
        let dense = sampler.users * sampler.items <= densePairLimit
        var posterior = PosteriorMean(sampler, dense: dense)
        // The dense path's model is known only at the end: keep each sample's state to map it then.
        // The large path's model is the sampled coordinates' mean: their moments run as they come.
        var states: [(x: [Float], y: [Float])] = []
        var spread = PosteriorSpread(items: sampler.items, users: sampler.users, samples: config.sweeps - config.burnIn,
                                     store: config.keptSamples)
        let clip = (train.rating.min() ?? 0, train.rating.max() ?? 0)
        // Running sum of the kept samples' predictions for the validation ratings.
        var validSum = [Double](repeating: 0, count: valid?.count ?? 0)
        var stats: [EpochStats] = []
        for sweep in 0..<config.sweeps {
            let started = DispatchTime.now().uptimeNanoseconds
            let trainMSE = sampler.sweep(sweep)
            guard trainMSE.isFinite else {
                throw EmbtoolError(.software, "sampling diverged in sweep \(sweep) (no model written)")
            }
            let keep = sweep >= config.burnIn
            if keep {
                posterior.add(sampler)
                if dense { states.append((sampler.x, sampler.y)) } else { spread.add(sampler) }
            }
            var validLoss: Double?
            if let valid, valid.count > 0 {
                let current = sampler.predictions(valid.user, valid.item)
                if keep {
                    for j in 0..<current.count { validSum[j] += Double(current[j]) }
                    let n = Double(posterior.samples)
                    let average = validSum.map { Float(min(max($0 / n, Double(clip.0)), Double(clip.1))) }
                    validLoss = Evaluation.score(predictions: average, ratings: valid.rating).mse
                } else {
                    validLoss = Evaluation.score(predictions: current, ratings: valid.rating).mse
                }
            }
            let row = EpochStats(epoch: sweep, trainLoss: trainMSE, validLoss: validLoss,
                                 seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
            stats.append(row)
            progress?(TrainProgress(epoch: sweep, epochs: config.sweeps, fraction: 1, finished: row))
        }
        var meta = meta
        var model: FactorModel
        if dense {
            model = try compress(posterior.dense, samples: posterior.samples, users: sampler.users, items: sampler.items,
                             mean: sampler.mean, clip: clip, yRange: config.yRange, rank: config.factors, meta: meta)
            model.posterior = denseSpread(states: states, sampler: sampler, model: model, clip: clip, yRange: config.yRange,
                                          store: config.keptSamples)
        } else {
            meta.yRange = nil
            meta.recipe.settings["y_range"] = "none"
            meta.recipe.settings["posterior"] = "mean factors"
            model = posterior.meanFactorModel(sampler, meta: meta)
            model.posterior = spread.posterior
        }
        return TrainResult(model: model, epochs: stats)
    }

    /// The model's score for each predicted rating, `T = logit((R - low) / (high - low))`
    /// with `R = μ + scale · sum` clipped to the ratings' range (and inside
    /// y_range by 1e-3 of its width); `T = R` without a y_range. Row-major like `sum`.
    static func scores(_ sum: [Float], scale: Float, mean: Float, clip: (Float, Float), yRange: ModelMetadata.YRange?) -> [Double] {
        let (lo, hi) = scoreBounds(clip: clip, yRange: yRange)
        var t = [Double](repeating: 0, count: sum.count)
        for j in 0..<sum.count { t[j] = score(min(max(mean + sum[j] * scale, lo), hi), yRange: yRange) }
        return t
    }

    /// The range predictions are clipped to before `score`: the ratings' range,
    /// inside y_range by 1e-3 of its width (so the logit stays finite).
    static func scoreBounds(clip: (Float, Float), yRange: ModelMetadata.YRange?) -> (Float, Float) {
        guard let r = yRange else { return clip }
        let margin = 1e-3 * (r.high - r.low)
        return (max(clip.0, r.low + margin), min(clip.1, r.high - margin))
    }

    /// The inverse of sigmoid_range, `logit((rating - low) / (high - low))`; the rating itself without a y_range.
    @inline(__always)
    static func score(_ rating: Float, yRange: ModelMetadata.YRange?) -> Double {
        guard let r = yRange else { return Double(rating) }
        let p = Double((rating - r.low) / (r.high - r.low))
        return log(p / (1 - p))
    }

    /// Splits `t` (users x items, row-major) into `grand + row_u + col_i + rest`
    /// with the row and column effects averaging zero: returns the grand mean and
    /// the effects, and leaves the rest (the doubly centred matrix) in `t`.
    static func doubleCentre(_ t: inout [Double], users: Int, items: Int) -> (grand: Double, rows: [Double], cols: [Double]) {
        let n = users * items
        var rowMean = [Double](repeating: 0, count: users), colMean = [Double](repeating: 0, count: items)
        for u in 0..<users { for i in 0..<items { rowMean[u] += t[u * items + i]; colMean[i] += t[u * items + i] } }
        let grand = rowMean.reduce(0, +) / Double(n)
        for u in 0..<users { rowMean[u] = rowMean[u] / Double(items) - grand }
        for i in 0..<items { colMean[i] = colMean[i] / Double(users) - grand }
        for u in 0..<users { for i in 0..<items { t[u * items + i] -= grand + rowMean[u] + colMean[i] } }
        return (grand, rowMean, colMean)
    }

    /// The sample-averaged predictions as one `EmbeddingDotBias`: with
    /// `R̄ = μ + mean over samples of (U Vᵀ + b 1ᵀ + 1 cᵀ)` clipped to the
    /// ratings' range and mapped through the inverse of sigmoid_range,
    /// `T = logit((R̄ - low) / (high - low))`, the biases are T's row and column
    /// means and the factors the best rank-`rank` approximation of the rest,
    /// `T - m - r 1ᵀ - 1 cᵀ ≈ A Σ Bᵀ` (eigenvectors of its Gram matrix):
    /// `u_weight = A Σ^½`, `i_weight = B Σ^½`.
    static func compress(_ sum: [Float], samples: Int, users: Int, items: Int, mean: Float, clip: (Float, Float),
                         yRange: ModelMetadata.YRange?, rank: Int, meta: ModelMetadata) throws -> FactorModel {
        var t = scores(sum, scale: 1 / Float(samples), mean: mean, clip: clip, yRange: yRange)
        let (grand, rowMean, colMean) = doubleCentre(&t, users: users, items: items)
        // Eigenvectors of the smaller Gram matrix give one side; projecting gives the other.
        let transpose = users > items
        let (rows, cols) = transpose ? (items, users) : (users, items)
        let k = min(rank, rows)
        var gram = [Double](repeating: 0, count: rows * rows)
        cblas_dsyrk(CblasRowMajor, CblasLower, transpose ? CblasTrans : CblasNoTrans, Int32(rows), Int32(cols),
                    1, t, Int32(items), 0, &gram, Int32(rows))
        guard let (values, a) = SymmetricEigen.largest(&gram, n: rows, count: k) else {
            throw EmbtoolError(.software, "the eigen-decomposition of the posterior mean failed (no model written)")
        }
        // B = Eᵀ A Σ⁻¹ (or E A Σ⁻¹ when transposed): cols x k.
        var b = [Double](repeating: 0, count: cols * k)
        cblas_dgemm(CblasRowMajor, transpose ? CblasNoTrans : CblasTrans, CblasNoTrans, Int32(cols), Int32(k), Int32(rows),
                    1, t, Int32(items), a, Int32(k), 0, &b, Int32(k))
        var sideA = [Float](repeating: 0, count: rows * k), sideB = [Float](repeating: 0, count: cols * k)
        for j in 0..<k {
            let sigma = max(values[j], 0).squareRoot()
            let root = sigma.squareRoot()
            for r in 0..<rows { sideA[r * k + j] = Float(a[r * k + j] * root) }
            for c in 0..<cols { sideB[c * k + j] = Float(sigma > 0 ? b[c * k + j] / sigma * root : 0) }
        }
        let (uf, itf) = transpose ? (sideB, sideA) : (sideA, sideB)
        return FactorModel(userFactors: Matrix(rows: users, cols: k, data: uf),
                           itemFactors: Matrix(rows: items, cols: k, data: itf),
                           userBias: rowMean.map { Float(grand + $0) }, itemBias: colMean.map(Float.init), meta: meta)
    }

}

/// Running sums over the kept samples: the dense matrix `Σ (U Vᵀ + b 1ᵀ + 1 cᵀ)`
/// when it fits, else the factors and biases themselves.
struct PosteriorMean {
    var samples = 0
    var dense: [Float] = []
    var x: [Double] = [], y: [Double] = []

    init(_ sampler: BPMFSampler, dense: Bool) {
        if dense {
            self.dense = [Float](repeating: 0, count: sampler.users * sampler.items)
        } else {
            x = [Double](repeating: 0, count: sampler.x.count)
            y = [Double](repeating: 0, count: sampler.y.count)
        }
    }

    mutating func add(_ sampler: BPMFSampler) {
        samples += 1
        if !dense.isEmpty {
            sampler.accumulate(into: &dense)
        } else {
            for j in 0..<x.count { x[j] += Double(sampler.x[j]) }
            for j in 0..<y.count { y[j] += Double(sampler.y[j]) }
        }
    }

    /// The posterior means of `[U, b]` and `[V, c]` as a raw model (no
    /// y_range), the global mean folded into the user biases.
    func meanFactorModel(_ sampler: BPMFSampler, meta: ModelMetadata) -> FactorModel {
        let k = sampler.k, d = sampler.d, n = Double(max(1, samples))
        func factors(_ sums: [Double], _ rows: Int) -> Matrix {
            Matrix(rows: rows, cols: k, data: (0..<(rows * k)).map { Float(sums[($0 / k) * d + $0 % k] / n) })
        }
        return FactorModel(userFactors: factors(x, sampler.users), itemFactors: factors(y, sampler.items),
                           userBias: (0..<sampler.users).map { sampler.mean + Float(x[$0 * d + k] / n) },
                           itemBias: (0..<sampler.items).map { Float(y[$0 * d + k] / n) }, meta: meta)
    }
}

/// Ratings grouped by one side's rows, compressed-row style: the ratings of
/// row `r` are `other[start[r]..<start[r+1]]` with values `value[...]`.
struct RatingRows {
    var start: [Int]
    var other: [Int32]
    var value: [Float]
    var maxCount: Int

    init(rows: Int, key: [Int32], other otherKey: [Int32], rating: [Float]) {
        var count = [Int](repeating: 0, count: rows + 1)
        for r in key { count[Int(r) + 1] += 1 }
        maxCount = count.max() ?? 0
        for r in 0..<rows { count[r + 1] += count[r] }
        start = count
        var fill = count
        other = [Int32](repeating: 0, count: key.count)
        value = [Float](repeating: 0, count: key.count)
        for j in 0..<key.count {
            let r = Int(key[j])
            other[fill[r]] = otherKey[j]
            value[fill[r]] = rating[j]
            fill[r] += 1
        }
    }
}

/// The Gibbs sampler's state: `x` [n_users, k+1] rows `[U_u, b_u]`, `y`
/// [n_items, k+1] rows `[V_i, c_i]`.
final class BPMFSampler {
    let users: Int, items: Int, k: Int, d: Int
    let mean: Float
    var x: [Float], y: [Float]
    let byUser: RatingRows, byItem: RatingRows
    let seed: UInt64
    /// Threads that sample rows; results do not depend on it.
    let threads: Int
    /// Noise precision α, drawn each sweep; it starts at the BPMF paper's fixed 2.
    var alpha: Float = 2

    init(_ train: Ratings, factors: Int, seed: UInt64, threads: Int) {
        users = train.users.count
        items = train.items.count
        k = factors
        d = factors + 1
        self.seed = seed
        mean = Float(train.rating.reduce(0.0) { $0 + Double($1) } / Double(max(1, train.count)))
        byUser = RatingRows(rows: users, key: train.user, other: train.item, rating: train.rating)
        byItem = RatingRows(rows: items, key: train.item, other: train.user, rating: train.rating)
        var rng = SplitMix64(seed: seed)
        x = (0..<(users * (factors + 1))).map { _ in 0.1 * rng.nextGaussian() }
        y = (0..<(items * (factors + 1))).map { _ in 0.1 * rng.nextGaussian() }
        self.threads = max(1, threads)
    }

    /// An independent random stream for (sweep, side, row), so results do not
    /// depend on which thread samples which row.
    func stream(_ a: Int, _ b: Int) -> SplitMix64 {
        var g = SplitMix64(seed: seed ^ (UInt64(a) &* 0x9E37_79B9_7F4A_7C15))
        return SplitMix64(seed: g.next() ^ (UInt64(b) &* 0xD1B5_4A32_D192_ED03))
    }

    /// One Gibbs sweep: users' hyper-parameters, users, items' hyper-parameters,
    /// items, then the noise precision α | rest ~ Gamma(1 + n/2, rate 1 + SSE/2)
    /// (a weak Gamma(1, 1) prior). Returns the training MSE of the new sample,
    /// NaN once the chain has diverged.
    func sweep(_ s: Int) -> Double {
        var hyper = stream(3 * s + 2, 0)
        // Rows are sampled two at a time by our threads; OpenBLAS must not add its own.
        let blasThreads = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(blasThreads) }
        let sampled: Bool = x.withUnsafeMutableBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                guard let (lu, lmu) = GaussianWishart.sample(rows: xp.baseAddress!, n: users, d: d, rng: &hyper) else { return false }
                sampleSide(xp.baseAddress!, rows: users, other: yp.baseAddress!, ratings: byUser,
                           precision: lu, precisionTimesMean: lmu, stream: 3 * s)
                guard let (li, limu) = GaussianWishart.sample(rows: yp.baseAddress!, n: items, d: d, rng: &hyper) else { return false }
                sampleSide(yp.baseAddress!, rows: items, other: xp.baseAddress!, ratings: byItem,
                           precision: li, precisionTimesMean: limu, stream: 3 * s + 1)
                return true
            }
        }
        guard sampled else { return .nan }
        var sse = 0.0
        for u in 0..<users {
            for j in byUser.start[u]..<byUser.start[u + 1] {
                let e = Double(predict(u, Int(byUser.other[j])) - byUser.value[j])
                sse += e * e
            }
        }
        let n = Double(byUser.other.count)
        alpha = Float(hyper.nextGamma(shape: 1 + n / 2) / (1 + sse / 2))
        return sse / max(n, 1)
    }

    /// Draws every row of `side` from its Gaussian conditional given `other`.
    func sampleSide(_ side: UnsafeMutablePointer<Float>, rows: Int, other: UnsafeMutablePointer<Float>,
                    ratings: RatingRows, precision: [Float], precisionTimesMean: [Float], stream s: Int) {
        let d = d, k = k, mean = mean, alpha = alpha
        let chunk = 16
        let scratch = (0..<threads).map { _ in RowScratch(ratings: max(1, ratings.maxCount), d: d) }
        ratings.start.withUnsafeBufferPointer { start in
        ratings.other.withUnsafeBufferPointer { otherRow in
        ratings.value.withUnsafeBufferPointer { value in
            Parallel.forEach((rows + chunk - 1) / chunk, threads: threads) { worker, c in
                let (z, t, a, b) = (scratch[worker].z, scratch[worker].t, scratch[worker].a, scratch[worker].b)
                for r in (c * chunk)..<min((c + 1) * chunk, rows) {
                    // Features z_j = [other_j factors, 1], targets r - μ - other_j bias.
                    let lo = start[r], n = start[r + 1] - lo
                    for j in 0..<n {
                        let o = other + Int(otherRow[lo + j]) * d
                        let zj = z + j * d
                        zj.update(from: o, count: k)
                        zj[k] = 1
                        t[j] = value[lo + j] - mean - o[k]
                    }
                    precision.withUnsafeBufferPointer { a.update(from: $0.baseAddress!, count: d * d) }
                    precisionTimesMean.withUnsafeBufferPointer { b.update(from: $0.baseAddress!, count: d) }
                    if n > 0 {
                        cblas_ssyrk(CblasRowMajor, CblasLower, CblasTrans, Int32(d), Int32(n), alpha, z, Int32(d), 1, a, Int32(d))
                        cblas_sgemv(CblasRowMajor, CblasTrans, Int32(n), Int32(d), alpha, z, Int32(d), t, 1, 1, b, 1)
                    }
                    Cholesky.factor(a, n: d)
                    // mean = L⁻ᵀ L⁻¹ b; sample = L⁻ᵀ (L⁻¹ b + ε).
                    Cholesky.solveLower(a, b, n: d)
                    var rng = stream(s, r)
                    for c in 0..<d { b[c] += rng.nextGaussian() }
                    Cholesky.solveLowerTransposed(a, b, n: d)
                    (side + r * d).update(from: b, count: d)
                }
            }
        }}}
    }

    /// One thread's buffers for sampling a row: the features `z` and targets
    /// `t` of its ratings, the precision `a` and right-hand side `b`.
    final class RowScratch {
        let z, t, a, b: UnsafeMutablePointer<Float>

        init(ratings: Int, d: Int) {
            z = .allocate(capacity: ratings * d)
            t = .allocate(capacity: ratings)
            a = .allocate(capacity: d * d)
            b = .allocate(capacity: d)
        }

        deinit { z.deallocate(); t.deallocate(); a.deallocate(); b.deallocate() }
    }

    /// `dense += U Vᵀ + b 1ᵀ + 1 cᵀ` over all users x items, as one GEMM on
    /// `[U, b, 1]` and `[V, 1, c]`.
    func accumulate(into dense: inout [Float]) { accumulate(x: x, y: y, into: &dense) }

    /// The same for a stored state `x` [users, k+1], `y` [items, k+1].
    func accumulate(x: [Float], y: [Float], into dense: inout [Float]) {
        let e = k + 2
        var xa = [Float](repeating: 1, count: users * e), ya = [Float](repeating: 1, count: items * e)
        for u in 0..<users { for f in 0...k { xa[u * e + f] = x[u * d + f] } }
        for i in 0..<items {
            for f in 0..<k { ya[i * e + f] = y[i * d + f] }
            ya[i * e + k + 1] = y[i * d + k]
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(users), Int32(items), Int32(e),
                    1, xa, Int32(e), ya, Int32(e), 1, &dense, Int32(items))
    }

    @inline(__always)
    func predict(_ u: Int, _ i: Int) -> Float {
        var s = mean + x[u * d + k] + y[i * d + k]
        for f in 0..<k { s += x[u * d + f] * y[i * d + f] }
        return s
    }

    func predictions(_ user: [Int32], _ item: [Int32]) -> [Float] {
        (0..<user.count).map { predict(Int(user[$0]), Int(item[$0])) }
    }

}
