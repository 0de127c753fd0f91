import CLapack
import Foundation
import EmbeddingCore

/// Welford's running mean and variance of a vector of quantities, one
/// `add` per sample, in Double: with `δ = x - mean`, `mean += δ / n`,
/// `M2 += δ (x - mean)`, and the sample variance is `M2 / (n - 1)`. No sum of
/// squares, so no cancellation when the spread is small beside the mean.
struct RunningMoments {
    private(set) var count = 0
    private(set) var mean: [Double]
    private(set) var m2: [Double]

    init(size: Int) {
        mean = [Double](repeating: 0, count: size)
        m2 = [Double](repeating: 0, count: size)
    }

    mutating func add(_ x: [Double]) {
        precondition(x.count == mean.count, "RunningMoments: \(x.count) values for \(mean.count) quantities")
        count += 1
        let n = Double(count)
        for j in 0..<x.count {
            let delta = x[j] - mean[j]
            mean[j] += delta / n
            m2[j] += delta * (x[j] - mean[j])
        }
    }

    /// The sample standard deviation `√(M2 / (n - 1))` per quantity; zeros below two samples.
    var standardDeviation: [Double] {
        count < 2 ? [Double](repeating: 0, count: mean.count) : m2.map { ($0 / Double(count - 1)).squareRoot() }
    }
}

/// The posterior spread of recipe `best`'s model: over the samples it
/// averages, the running moments of each item's and user's bias and factor
/// norm, as the model file stores them, and a thinned subset of the item
/// factor samples.
struct PosteriorSpread {
    var itemBias: RunningMoments, userBias: RunningMoments
    var itemNorm: RunningMoments, userNorm: RunningMoments
    /// Which samples (0-based among the kept ones) are stored.
    let storeAt: Set<Int>
    var stored: [Float] = []
    var storedCount = 0
    var seen = 0

    init(items: Int, users: Int, samples: Int, store: Int) {
        itemBias = RunningMoments(size: items)
        userBias = RunningMoments(size: users)
        itemNorm = RunningMoments(size: items)
        userNorm = RunningMoments(size: users)
        storeAt = Set(Self.thinned(samples: samples, keep: store))
    }

    /// `keep` of `samples` indices spread evenly, the last sample always among
    /// them: `(j + 1) · samples / keep - 1` for j < keep (all of them when keep ≥ samples).
    static func thinned(samples: Int, keep: Int) -> [Int] {
        let keep = min(keep, samples)
        return (0..<keep).map { ($0 + 1) * samples / keep - 1 }
    }

    /// `‖row‖` of each row of a row-major `rows x k` buffer.
    static func rowNorms(_ v: [Double], k: Int) -> [Double] {
        guard k > 0 else { return [Double](repeating: 0, count: v.count) }
        return (0..<(v.count / k)).map { r in
            var s = 0.0
            for f in 0..<k { s += v[r * k + f] * v[r * k + f] }
            return s.squareRoot()
        }
    }

    /// One sample: biases per item and user, factor vectors `items x k` and `users x k`.
    mutating func add(itemBias ib: [Double], userBias ub: [Double], items: [Double], users: [Double], k: Int) {
        itemBias.add(ib)
        userBias.add(ub)
        itemNorm.add(Self.rowNorms(items, k: k))
        userNorm.add(Self.rowNorms(users, k: k))
        if storeAt.contains(seen) {
            stored += items.map(Float.init)
            storedCount += 1
        }
        seen += 1
    }

    var posterior: Posterior {
        func float(_ m: RunningMoments) -> [Float] { m.standardDeviation.map(Float.init) }
        return Posterior(itemBiasSD: float(itemBias), userBiasSD: float(userBias), itemNormSD: float(itemNorm),
                         userNormSD: float(userNorm), itemSamples: stored, sampleCount: storedCount)
    }
}

/// Maps posterior samples into the quantities of the dense path's model file
/// (`BayesianMF.compress`). A sample's own scores `T_s` (`BayesianMF.score` of
/// its clipped predictions `μ + U_s V_sᵀ + b 1ᵀ + 1 cᵀ`) split as `compress`
/// splits the mean's, `T_s = g + r 1ᵀ + 1 cᵀ + E_s` (row and column effects
/// averaging zero); the sample's item biases are `c`, its user biases `g + r`
/// (as `compress` folds them), and its factor vectors the least-squares fit of
/// `E_s` with the model's other side held fixed:
///
///     items_s = E_sᵀ U (UᵀU)⁻¹   [items, k]       users_s = E_s V (VᵀV)⁻¹   [users, k]
///
/// `U`, `V` are the model's factors, whose columns `compress` makes orthogonal,
/// so `UᵀU` and `VᵀV` are the diagonals of squared column norms. For the
/// posterior mean's scores the fit returns the model's own factors. `E_s` is
/// never formed: with `Û = U (UᵀU)⁻¹` and `s_U = 1ᵀÛ`,
/// `E_sᵀ Û = T_sᵀ Û - 1 (g s_U + rᵀÛ) - c s_U` (and the same for users): two SGEMMs.
final class SampleProjection {
    let users: Int, items: Int, k: Int
    let mean: Float, lo: Float, hi: Float
    let yRange: ModelMetadata.YRange?
    /// `U (UᵀU)⁻¹` [users, k] and `V (VᵀV)⁻¹` [items, k], and their column sums.
    let u: [Float], v: [Float], sumU: [Float], sumV: [Float]
    /// Scratch: the sample's dense sum and its scores T_s, both [users, items].
    var dense: [Float], t: [Float]

    init(model: FactorModel, mean: Float, clip: (Float, Float), yRange: ModelMetadata.YRange?) {
        users = model.userCount
        items = model.itemCount
        k = model.factors
        self.mean = mean
        self.yRange = yRange
        (lo, hi) = BayesianMF.scoreBounds(clip: clip, yRange: yRange)
        func scaled(_ m: Matrix) -> [Float] {
            var out = m.data
            for j in 0..<m.cols {
                var s = 0.0
                for r in 0..<m.rows { s += Double(out[r * m.cols + j]) * Double(out[r * m.cols + j]) }
                let inverse = Float(s > 0 ? 1 / s : 0)
                for r in 0..<m.rows { out[r * m.cols + j] *= inverse }
            }
            return out
        }
        func columnSums(_ a: [Float], rows: Int, cols: Int) -> [Float] {
            (0..<cols).map { j in Float((0..<rows).reduce(0.0) { $0 + Double(a[$1 * cols + j]) }) }
        }
        u = scaled(model.userFactors!)
        v = scaled(model.itemFactors)
        sumU = columnSums(u, rows: users, cols: k)
        sumV = columnSums(v, rows: items, cols: k)
        t = [Float](repeating: 0, count: users * items)
        dense = t
    }

    /// One sampler state `x` [users, k+1], `y` [items, k+1] of `sampler`.
    func map(x: [Float], y: [Float], sampler: BPMFSampler) -> (itemBias: [Double], userBias: [Double], items: [Double], users: [Double]) {
        for j in dense.indices { dense[j] = 0 }
        sampler.accumulate(x: x, y: y, into: &dense)
        return map(dense: dense)
    }

    /// One sample, given as the dense sum `U_s V_sᵀ + b 1ᵀ + 1 cᵀ` [users, items].
    func map(dense: [Float]) -> (itemBias: [Double], userBias: [Double], items: [Double], users: [Double]) {
        let (users, items, k) = (self.users, self.items, self.k)
        let (mean, lo, hi, yRange) = (self.mean, self.lo, self.hi, self.yRange)
        var rowSum = [Double](repeating: 0, count: users)
        t.withUnsafeMutableBufferPointer { t in
            dense.withUnsafeBufferPointer { d in
                rowSum.withUnsafeMutableBufferPointer { rs in
                    for r in 0..<users {
                        // BayesianMF.score in float32: one log per pair is most of a sample's cost.
                        var s: Float = 0
                        for i in 0..<items {
                            let rating = min(max(mean + d[r * items + i], lo), hi)
                            var x = rating
                            if let y = yRange {
                                let p = (rating - y.low) / (y.high - y.low)
                                x = logf(p / (1 - p))
                            }
                            t[r * items + i] = x
                            s += x
                        }
                        rs[r] = Double(s)
                    }
                }
            }
        }
        var colSum = [Float](repeating: 0, count: items)
        let ones = [Float](repeating: 1, count: users)
        cblas_sgemv(CblasRowMajor, CblasTrans, Int32(users), Int32(items), 1, t, Int32(items), ones, 1, 0, &colSum, 1)
        let grand = rowSum.reduce(0, +) / Double(users * items)
        let row = rowSum.map { $0 / Double(items) - grand }
        let col = colSum.map { Double($0) / Double(users) - grand }

        var tu = [Float](repeating: 0, count: items * k), tv = [Float](repeating: 0, count: users * k)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(items), Int32(k), Int32(users),
                    1, t, Int32(items), u, Int32(k), 0, &tu, Int32(k))
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(users), Int32(k), Int32(items),
                    1, t, Int32(items), v, Int32(k), 0, &tv, Int32(k))
        // rᵀÛ and cᵀV̂, then the shifts.
        var rowU = [Double](repeating: 0, count: k), colV = [Double](repeating: 0, count: k)
        for p in 0..<users { for f in 0..<k { rowU[f] += row[p] * Double(u[p * k + f]) } }
        for i in 0..<items { for f in 0..<k { colV[f] += col[i] * Double(v[i * k + f]) } }
        var itemVectors = [Double](repeating: 0, count: items * k), userVectors = [Double](repeating: 0, count: users * k)
        for i in 0..<items {
            for f in 0..<k {
                itemVectors[i * k + f] = Double(tu[i * k + f]) - (grand * Double(sumU[f]) + rowU[f]) - col[i] * Double(sumU[f])
            }
        }
        for p in 0..<users {
            for f in 0..<k {
                userVectors[p * k + f] = Double(tv[p * k + f]) - (grand * Double(sumV[f]) + colV[f]) - row[p] * Double(sumV[f])
            }
        }
        return (col, row.map { grand + $0 }, itemVectors, userVectors)
    }
}

extension BayesianMF {
    /// The dense path's spread: each kept sampler state `(x, y)` mapped by
    /// `SampleProjection` into `model`'s quantities, added in order. The
    /// sampler's threads map one sample each at a time, on single-threaded BLAS.
    static func denseSpread(states: [(x: [Float], y: [Float])], sampler: BPMFSampler, model: FactorModel,
                            clip: (Float, Float), yRange: ModelMetadata.YRange?, store: Int) -> Posterior {
        var spread = PosteriorSpread(items: model.itemCount, users: model.userCount, samples: states.count, store: store)
        let workers = max(1, min(sampler.threads, states.count))
        let projections = (0..<workers).map { _ in SampleProjection(model: model, mean: sampler.mean, clip: clip, yRange: yRange) }
        let blasThreads = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(blasThreads) }
        typealias Mapped = (itemBias: [Double], userBias: [Double], items: [Double], users: [Double])
        var start = 0
        while start < states.count {
            let batch = min(workers, states.count - start)
            var mapped = [Mapped](repeating: ([], [], [], []), count: batch)
            mapped.withUnsafeMutableBufferPointer { out in
                Parallel.forEach(batch, threads: workers) { worker, j in
                    out[j] = projections[worker].map(x: states[start + j].x, y: states[start + j].y, sampler: sampler)
                }
            }
            for s in mapped { spread.add(itemBias: s.itemBias, userBias: s.userBias, items: s.items, users: s.users, k: model.factors) }
            start += batch
        }
        return spread.posterior
    }
}

extension PosteriorSpread {
    /// The large-data path, whose model holds the posterior means of the sampled
    /// coordinates themselves: the sampler's current `[V, c]` and `[U, b]` rows.
    mutating func add(_ sampler: BPMFSampler) {
        let k = sampler.k, d = sampler.d
        func factors(_ rows: [Float], _ n: Int) -> [Double] { (0..<(n * k)).map { Double(rows[($0 / k) * d + $0 % k]) } }
        add(itemBias: (0..<sampler.items).map { Double(sampler.y[$0 * d + k]) },
            userBias: (0..<sampler.users).map { Double(sampler.mean) + Double(sampler.x[$0 * d + k]) },
            items: factors(sampler.y, sampler.items), users: factors(sampler.x, sampler.users), k: k)
    }
}
