@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingLinalg
@testable import EmbeddingTrain
@testable import EmbeddingAnalysis
@testable import EmbeddingRender
import Foundation
import XCTest

/// Recipe `best` (Bayesian MF by Gibbs sampling) and the linear algebra and
/// sampling it stands on.
final class TrainBayesTests: XCTestCase {
    func testCholeskyFactorAndSolves() {
        // A = M Mᵀ + 3I for a fixed M: symmetric positive definite.
        let n = 5
        let m: [Float] = (0..<(n * n)).map { Float(($0 * 7) % 11) / 11 - 0.5 }
        var a = [Float](repeating: 0, count: n * n)
        for r in 0..<n { for c in 0..<n {
            a[r * n + c] = (0..<n).reduce(0) { $0 + m[r * n + $1] * m[c * n + $1] } + (r == c ? 3 : 0)
        } }
        var l = a
        XCTAssertTrue(Cholesky.factor(&l, n: n))
        // L Lᵀ = A over the lower triangle of L.
        for r in 0..<n { for c in 0...r {
            let v = (0...c).reduce(Float(0)) { $0 + l[r * n + $1] * l[c * n + $1] }
            XCTAssertEqual(v, a[r * n + c], accuracy: 1e-5)
        } }
        // Solving L Lᵀ x = b, then multiplying back by A, returns b.
        let b: [Float] = [1, -2, 0.5, 3, 0]
        var x = b
        Cholesky.solveLower(l, &x, n: n)
        Cholesky.solveLowerTransposed(l, &x, n: n)
        for r in 0..<n {
            XCTAssertEqual((0..<n).reduce(Float(0)) { $0 + a[r * n + $1] * x[$1] }, b[r], accuracy: 1e-4)
        }
        var notPD: [Float] = [1, 2, 2, 1]
        XCTAssertFalse(Cholesky.factor(&notPD, n: 2))
    }

    func testLargestEigenpairs() {
        // Eigenvalues of [[2, 1], [1, 2]] are 3 (vector (1, 1)/√2) and 1.
        var a: [Double] = [2, 1, 1, 2]
        let (values, vectors) = SymmetricEigen.largest(&a, n: 2, count: 1)!
        XCTAssertEqual(values[0], 3, accuracy: 1e-12)
        XCTAssertEqual(abs(vectors[0]), 0.5.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(vectors[0], vectors[1], accuracy: 1e-12)
    }

    func testGammaSamplerMoments() {
        var rng = SplitMix64(seed: 11)
        for shape in [0.5, 3.0, 200.0] {
            let n = 40_000
            let draws = (0..<n).map { _ in rng.nextGamma(shape: shape) }
            let mean = draws.reduce(0, +) / Double(n)
            let variance = draws.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
            // Gamma(a, 1): mean a, variance a; allow 5 standard errors.
            XCTAssertEqual(mean, shape, accuracy: 5 * (shape / Double(n)).squareRoot(), "shape \(shape)")
            XCTAssertEqual(variance, shape, accuracy: 0.05 * shape, "shape \(shape)")
        }
    }

    func testGaussianWishartConcentratesOnTheRowsMeanAndPrecision() {
        // 20 000 rows from N(m, diag(s²)): the posterior is tight around m and diag(1/s²).
        let n = 20_000, d = 3
        let m: [Float] = [1, -2, 0.5], s: [Float] = [0.5, 2, 1]
        var rng = SplitMix64(seed: 5)
        let rows = (0..<(n * d)).map { m[$0 % d] + s[$0 % d] * rng.nextGaussian() }
        let (lambda, lambdaMu) = rows.withUnsafeBufferPointer { GaussianWishart.sample(rows: $0.baseAddress!, n: n, d: d, rng: &rng) }!
        for c in 0..<d {
            XCTAssertEqual(lambda[c * d + c], 1 / (s[c] * s[c]), accuracy: 0.05 / (s[c] * s[c]))
            // Λ is nearly diagonal, so μ_c ≈ (Λμ)_c / Λ_cc.
            XCTAssertEqual(lambdaMu[c] / lambda[c * d + c], m[c], accuracy: 0.05)
        }
        XCTAssertEqual(lambda[1], lambda[d], "symmetric")
    }

    /// One Gibbs step for a row is a draw from its Gaussian conditional: with the
    /// other side fixed (factors q_j, biases c_j), features z_j = [q_j, 1] and targets
    /// t_j = r_j - μ - c_j, the row's [factors, bias] ~ N(P⁻¹(Λμ₀ + α Σ z_j t_j), P⁻¹),
    /// P = Λ + α Σ z_j z_jᵀ. The mean and covariance of 20,000 draws (one stream
    /// each) against that closed form, solved here in Double.
    func testRowDrawsFollowTheirGaussianConditional() throws {
        var raw = RawRatings()
        raw.userIds = ["a"]
        raw.itemIds = ["x", "y", "z"]
        raw.user = [0, 0, 0]
        raw.item = [0, 1, 2]
        raw.rating = [4, 2, 5]
        raw.timestamp = [0, 0, 0]
        let data = try Ratings(raw, itemKey: .id)
        let sampler = BPMFSampler(data, factors: 1, seed: 3, threads: 1)
        XCTAssertEqual(sampler.d, 2)
        // Items (rows 1...3; row 0 is #na#): factor, bias.
        let q: [Double] = [0.8, -0.5, 1.2], c: [Double] = [0.3, -0.2, 0.1]
        for j in 0..<3 { sampler.y[(j + 1) * 2] = Float(q[j]); sampler.y[(j + 1) * 2 + 1] = Float(c[j]) }
        sampler.alpha = 4
        let lambda: [Double] = [2, 0.3, 0.3, 1.5], lambdaMu: [Double] = [0.4, -0.1]
        let mu = 11.0 / 3, alpha = 4.0

        // P and h = Λμ₀ + α Σ z t, then the mean P⁻¹h and covariance P⁻¹ by the 2x2 inverse.
        var p = lambda, h = lambdaMu
        for (j, r) in [4.0, 2, 5].enumerated() {
            let z = [q[j], 1.0], t = r - mu - c[j]
            for a in 0..<2 { h[a] += alpha * z[a] * t; for b in 0..<2 { p[a * 2 + b] += alpha * z[a] * z[b] } }
        }
        let det = p[0] * p[3] - p[1] * p[2]
        let cov = [p[3] / det, -p[1] / det, -p[2] / det, p[0] / det]
        let mean = [cov[0] * h[0] + cov[1] * h[1], cov[2] * h[0] + cov[3] * h[1]]

        let n = 20_000
        var sum = [0.0, 0.0], products = [0.0, 0.0, 0.0, 0.0]
        for s in 0..<n {
            sampler.x.withUnsafeMutableBufferPointer { x in
                sampler.y.withUnsafeMutableBufferPointer { y in
                    sampler.sampleSide(x.baseAddress!, rows: sampler.users, other: y.baseAddress!, ratings: sampler.byUser,
                                       precision: lambda.map(Float.init), precisionTimesMean: lambdaMu.map(Float.init), stream: s)
                }
            }
            let v = [Double(sampler.x[2]), Double(sampler.x[3])]  // user row 1
            for a in 0..<2 { sum[a] += v[a]; for b in 0..<2 { products[a * 2 + b] += v[a] * v[b] } }
        }
        for a in 0..<2 {
            let m = sum[a] / Double(n)
            XCTAssertEqual(m, mean[a], accuracy: 5 * (cov[a * 2 + a] / Double(n)).squareRoot(), "mean of coordinate \(a)")
            for b in 0..<2 {
                let sampled = products[a * 2 + b] / Double(n) - m * sum[b] / Double(n)
                // A sample covariance's error is about sqrt(2/n) of the scale: 5 % is five of those.
                XCTAssertEqual(sampled, cov[a * 2 + b], accuracy: 0.05 * (cov[a * 2 + a] * cov[b * 2 + b]).squareRoot(), "covariance \(a)\(b)")
            }
        }
    }

    /// The noise precision α is drawn from Gamma(1 + n/2, rate 1 + SSE/2): on ratings
    /// with planted Gaussian noise σ, its draws settle near 1/σ².
    func testNoisePrecisionSettlesAtThePlantedNoise() throws {
        let noise: Float = 0.25
        let data = try LowRank.ratings(users: 150, items: 120, rank: 3, density: 0.3, noise: noise, seed: 21)
        let sampler = BPMFSampler(data, factors: 5, seed: 4, threads: 1)
        var alphas: [Double] = []
        for sweep in 0..<60 {
            _ = sampler.sweep(sweep)
            if sweep >= 30 { alphas.append(Double(sampler.alpha)) }
        }
        let mean = alphas.reduce(0, +) / Double(alphas.count)
        XCTAssertEqual(mean, 1 / Double(noise * noise), accuracy: 0.25 / Double(noise * noise))
    }

    func testCompressionReproducesAnExactlyLowRankMatrix() throws {
        // sum / samples = b_u + c_i + a_u·w_i (rank 2); with no y_range nothing is clipped away.
        let users = 6, items = 5, samples = 4
        let a: [[Float]] = (0..<users).map { [Float($0) * 0.3 - 0.5, Float($0 % 2) - 0.5] }
        let w: [[Float]] = (0..<items).map { [Float($0) * 0.2, 1 - Float($0) * 0.4] }
        func value(_ u: Int, _ i: Int) -> Float { Float(u) * 0.1 + Float(i) * -0.2 + a[u][0] * w[i][0] + a[u][1] * w[i][1] }
        var sum = [Float](repeating: 0, count: users * items)
        for u in 0..<users { for i in 0..<items { sum[u * items + i] = Float(samples) * value(u, i) } }
        var meta = ModelMetadata()
        meta.yRange = nil
        let model = try BayesianMF.compress(sum, samples: samples, users: users, items: items, mean: 3, clip: (-10, 10),
                                        yRange: nil, rank: 2, meta: meta)
        for u in 0..<users { for i in 0..<items {
            XCTAssertEqual(model.predict(user: u, item: i), 3 + value(u, i), accuracy: 1e-5)
        } }
    }

    func testBestRecipeRecoversALowRankModelAndIgnoresTheThreadCount() throws {
        let noise: Float = 0.2
        let data = try LowRank.ratings(users: 150, items: 120, rank: 3, density: 0.3, noise: noise, seed: 21)
        let (train, valid) = Split.fold(2).apply(data)
        var config = TrainConfig.gibbs(sweeps: 60, samplerFactors: 5, factors: 8)
        let one = try Trainer.train(train, valid: valid, config: config)
        let score = Evaluation.score(one.model, on: valid)
        XCTAssertLessThan(score.rmse, 1.4 * Double(noise), "held-out error should approach the noise (\(noise))")
        XCTAssertEqual(one.epochs.count, 60)
        XCTAssertEqual(one.model.meta.recipe["recipe"], "best")
        config.threads = 2
        let two = try Trainer.train(train, valid: valid, config: config)
        XCTAssertEqual(one.factors.itemFactors, two.factors.itemFactors, "rows draw from their own random streams")
        XCTAssertEqual(one.factors.userBias, two.factors.userBias)
    }

    func testBestRecipeOnMovieLensU1() throws { try checkBestOnFoldU1(.ml100k()) }
    func testBestRecipeOnSyntheticU1() throws { try checkBestOnFoldU1(.synthetic()) }

    func checkBestOnFoldU1(_ d: LayoutDataset) throws {
        let ratings = try DatasetLoader.load(path: d.folder, itemKey: .title)
        let (train, valid) = Split.fold(1).apply(ratings)
        var config = TrainConfig()
        config.recipe = .best
        config.sweeps = 50   // the recipe's 200 reach 0.903; 50 keep the test quick
        let result = try Trainer.train(train, valid: valid, config: config)
        let score = Evaluation.score(result.model, on: valid)
        XCTAssertLessThan(score.rmse, d.bestU1)
        XCTAssertGreaterThan(score.rmse, d.floorU1)
        XCTAssertEqual(result.factors.factors, 50)
        XCTAssertEqual(result.model.meta.yRange, .init(low: 0, high: 5.5))
        // The model file's predictions are the sample average it summarises (the table's last valid_loss).
        XCTAssertEqual(score.mse, result.epochs.last!.validLoss!, accuracy: 0.003)
    }
}
