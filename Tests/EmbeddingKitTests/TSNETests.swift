@testable import EmbeddingAnalysis
@testable import EmbeddingCore
@testable import EmbeddingFormats
import Foundation
import XCTest

/// Independent references for the t-SNE tests: brute-force neighbours, the
/// exact O(n²) repulsion and KL divergence, a direct DFT.
enum TSNEReference {
    /// The exact `k`-neighbour graph of `x`, its conditional probabilities and
    /// their joint P, as `embtool tsne` builds them.
    static func jointProbabilities(_ x: Matrix, k: Int, perplexity: Double) -> (graph: KNNGraph, conditional: [Float], p: SparseGraph) {
        let exact = graph(x, k: k, metric: .euclidean)
        let c = TSNE.conditionalProbabilities(squaredDistances: TSNE.squaredDistances(exact, metric: .euclidean),
                                              count: x.rows, k: k, perplexity: perplexity, threads: 2)
        return (exact, c, TSNE.symmetrise(c, graph: exact, threads: 2))
    }

    /// Exact neighbours by sorting all distances (1 − cos for cosine, as `KNNGraph`).
    static func graph(_ x: Matrix, k: Int, metric: SimilarityMetric) -> KNNGraph {
        let n = x.rows, d = x.cols
        var indices = [Int32](), distances = [Float]()
        for i in 0..<n {
            var row: [(Float, Int)] = []
            for j in 0..<n where j != i {
                var dot = 0.0, a2 = 0.0, b2 = 0.0, e2 = 0.0
                for t in 0..<d {
                    let a = Double(x[i, t]), b = Double(x[j, t])
                    dot += a * b; a2 += a * a; b2 += b * b; e2 += (a - b) * (a - b)
                }
                row.append((metric == .cosine ? Float(1 - dot / (a2 * b2).squareRoot()) : Float(e2.squareRoot()), j))
            }
            row.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
            for (dist, j) in row.prefix(k) { indices.append(Int32(j)); distances.append(dist) }
        }
        return KNNGraph(count: n, k: k, indices: indices, distances: distances)
    }

    /// `F_i = Σ_{j≠i} K²(y_i − y_j)` and `Z = Σ_{i≠j} K`, in double precision.
    static func repulsion(_ y: [Float]) -> (forces: [Double], z: Double) {
        let n = y.count / 2
        var f = [Double](repeating: 0, count: 2 * n), z = 0.0
        for i in 0..<n {
            for j in 0..<n where j != i {
                let dx = Double(y[2 * i]) - Double(y[2 * j]), dy = Double(y[2 * i + 1]) - Double(y[2 * j + 1])
                let q = 1 / (1 + dx * dx + dy * dy)
                z += q
                f[2 * i] += q * q * dx
                f[2 * i + 1] += q * q * dy
            }
        }
        return (f, z)
    }

    /// KL(P‖Q) = Σ p_ij ln(p_ij / q_ij) with the exact Q of the embedding.
    static func klDivergence(_ p: SparseGraph, _ y: [Float]) -> Double {
        let z = repulsion(y).z
        var kl = 0.0
        for i in 0..<p.count {
            for t in p.rowStart[i]..<p.rowStart[i + 1] where p.weights[t] > 0 {
                let j = Int(p.columns[t])
                let dx = Double(y[2 * i]) - Double(y[2 * j]), dy = Double(y[2 * i + 1]) - Double(y[2 * j + 1])
                let q = 1 / (1 + dx * dx + dy * dy) / z
                kl += Double(p.weights[t]) * log(Double(p.weights[t]) / q)
            }
        }
        return kl
    }

    /// Two Gaussian clusters in `dims` dimensions, centres `separation` apart.
    static func clusters(_ perCluster: Int, dims: Int, separation: Float, seed: UInt64) -> Matrix {
        var rng = SplitMix64(seed: seed)
        var data = [Float]()
        for c in 0..<2 {
            for _ in 0..<perCluster {
                for t in 0..<dims { data.append(rng.nextGaussian() + (t == 0 && c == 1 ? separation : 0)) }
            }
        }
        return Matrix(rows: 2 * perCluster, cols: dims, data: data)
    }
}

final class FFTTests: XCTestCase {
    /// Against X[k] = Σ x[j]·e^{∓2πijk/n} in double precision. The bound is
    /// Higham's for a floating-point FFT (Accuracy and Stability, §24.1):
    /// ‖X̂ − X‖₂ ≤ log₂n·η·‖X‖₂ with η = μ + γ₄(√2 + μ) ≈ 7ε per stage (μ ≈ ε,
    /// the twiddles' error), so 8ε·⌈log₂n⌉ with margin.
    func testMatchesDirectDFT() {
        var rng = SplitMix64(seed: 3)
        for n in [1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 16, 20, 25, 27, 30, 32, 45, 60, 64, 100, 120, 125, 128, 300, 600] {
            let fft = FFT(length: n)!
            for lanes in [4, 8] {
                for inverse in [false, true] {
                    let re = (0..<(n * lanes)).map { _ in rng.nextGaussian() }, im = (0..<(n * lanes)).map { _ in rng.nextGaussian() }
                    var r = re, i = im
                    var sr = [Float](repeating: 0, count: n * lanes), si = sr
                    fft.transform(re: &r, im: &i, scratchRe: &sr, scratchIm: &si, lanes: lanes, inverse: inverse)
                    let sign: Double = inverse ? 1 : -1
                    for l in 0..<lanes {
                        var error = 0.0, norm = 0.0
                        for k in 0..<n {
                            var xr = 0.0, xi = 0.0
                            for j in 0..<n {
                                let angle = sign * 2 * Double.pi * Double((j * k) % n) / Double(n)
                                let a = Double(re[j * lanes + l]), b = Double(im[j * lanes + l])
                                xr += a * cos(angle) - b * sin(angle)
                                xi += a * sin(angle) + b * cos(angle)
                            }
                            error += pow(Double(r[k * lanes + l]) - xr, 2) + pow(Double(i[k * lanes + l]) - xi, 2)
                            norm += xr * xr + xi * xi
                        }
                        let bound = 8 * Double(Float.ulpOfOne) / 2 * max(1, ceil(log2(Double(n))))
                        XCTAssertLessThanOrEqual(error.squareRoot(), bound * norm.squareRoot(), "n \(n) lanes \(lanes) inverse \(inverse)")
                    }
                }
            }
        }
    }

    func testRefusesLargePrimesAndFindsSmoothLengths() {
        XCTAssertNil(FFT(length: 7))
        XCTAssertNil(FFT(length: 0))
        for n in 1...400 {
            let m = FFT.smoothLength(atLeast: n)
            XCTAssertGreaterThanOrEqual(m, n)
            XCTAssertNotNil(FFT.radices(m))
            for smaller in n..<m { XCTAssertNil(FFT.radices(smaller), "\(smaller) is 5-smooth and below \(m)") }
        }
    }

    /// The convolution against the Toeplitz sum written out, for every grid.
    func testGridConvolutionIsTheToeplitzProduct() {
        // Odd n leaves the real grid's last column unpaired; 40 needs two strips of pairs.
        for n in [1, 2, 5, 17, 40] {
            let conv = GridConvolution(nodes: n)
            let kernel: (Int, Int) -> Float = { a, b in 1 / (1 + 0.3 * Float(a * a + b * b)) }
            conv.setKernel(threads: 2, kernel)
            var rng = SplitMix64(seed: UInt64(n))
            let x = (0..<(3 * n * n)).map { _ in rng.nextGaussian() }
            var out = [Float](repeating: .nan, count: 3 * n * n)
            x.withUnsafeBufferPointer { xb in
                out.withUnsafeMutableBufferPointer { ob in conv.convolve(xb.baseAddress!, into: ob.baseAddress!, threads: 2) }
            }
            for t in 0..<3 {
                for a in 0..<n {
                    for b in 0..<n {
                        var exact = 0.0, scale = 0.0
                        for a2 in 0..<n {
                            for b2 in 0..<n {
                                let term = Double(kernel(abs(a - a2), abs(b - b2))) * Double(x[t * n * n + a2 * n + b2])
                                exact += term
                                scale += abs(term)
                            }
                        }
                        // Rounding of two 2-D transforms of length P ≤ 64, relative to Σ|terms|.
                        XCTAssertEqual(Double(out[t * n * n + a * n + b]), exact, accuracy: 1e-5 * scale)
                    }
                }
            }
        }
    }
}

final class TSNERepulsionTests: XCTestCase {
    /// Three nodes reproduce every quadratic: Σ w = 1, Σ w·ν = t, Σ w·ν² = t².
    func testLagrangeWeightsReproduceQuadratics() {
        let nodes: [Float] = [1 / 6, 0.5, 5 / 6]
        for t in stride(from: Float(0), through: 1, by: 0.05) {
            let (a, b, c) = InterpolationGrid.lagrangeWeights(t)
            XCTAssertEqual(a + b + c, 1, accuracy: 1e-6)
            XCTAssertEqual(a * nodes[0] + b * nodes[1] + c * nodes[2], t, accuracy: 1e-6)
            XCTAssertEqual(a * nodes[0] * nodes[0] + b * nodes[1] * nodes[1] + c * nodes[2] * nodes[2], t * t, accuracy: 1e-6)
        }
    }

    struct Fixture: Decodable {
        struct Errors: Decodable { var force_error: Double, z_error: Double }
        struct Case: Decodable { var scale: Double, points: [Float], opentsne_fft: Errors, opentsne_bh: Errors }
        var cases: [Case]
    }

    func fixture() throws -> Fixture {
        let url = TestData.repoRoot.appendingPathComponent("Tests/fixtures/tsne/repulsion.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    /// max_i ‖F̃_i − F_i‖∞ / max_i ‖F_i‖∞ and |Z̃ − Z| / Z against the exact sums.
    func errors(_ y: [Float], threads: Int = 2, _ method: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Double) -> (force: Double, z: Double) {
        let n = y.count / 2
        let exact = TSNEReference.repulsion(y)
        var f = [Float](repeating: 0, count: 2 * n)
        let z = y.withUnsafeBufferPointer { yb in f.withUnsafeMutableBufferPointer { fb in method(yb.baseAddress!, fb.baseAddress!) } }
        var worst = 0.0, largest = 0.0
        for t in 0..<(2 * n) {
            worst = max(worst, abs(Double(f[t]) - exact.forces[t]))
            largest = max(largest, abs(exact.forces[t]))
        }
        return (worst / largest, abs(z - exact.z) / exact.z)
    }

    func fft(_ y: [Float], grid: InterpolationGrid? = nil) -> (force: Double, z: Double) {
        errors(y) { yp, fp in
            let repulsion = FFTRepulsion(), n = y.count / 2
            if let grid { return repulsion.compute(yp, count: n, grid: grid, forces: fp, threads: 2) }
            return repulsion.compute(yp, count: n, forces: fp, threads: 2)
        }
    }

    /// Both approximations on openTSNE's grid and opening angle err no more
    /// than openTSNE's own on the same points (Tests/fixtures/tsne): early,
    /// middle and late embeddings.
    func testRepulsionIsAsAccurateAsOpenTSNE() throws {
        for c in try fixture().cases {
            let ours = fft(c.points)
            XCTAssertLessThanOrEqual(ours.force, 1.2 * c.opentsne_fft.force_error + 1e-4, "FFT forces, scale \(c.scale)")
            XCTAssertLessThanOrEqual(ours.z, 1.2 * c.opentsne_fft.z_error + 1e-5, "FFT Z, scale \(c.scale)")
            let bh = errors(c.points) { yp, fp in QuadTree(yp, count: c.points.count / 2).repulsion(theta: 0.5, forces: fp, threads: 2) }
            XCTAssertLessThanOrEqual(bh.force, 1.2 * c.opentsne_bh.force_error + 1e-4, "Barnes-Hut forces, scale \(c.scale)")
            XCTAssertLessThanOrEqual(bh.z, 1.2 * c.opentsne_bh.z_error + 1e-5, "Barnes-Hut Z, scale \(c.scale)")
        }
    }

    /// θ = 0 opens every cell down to the leaves: Barnes–Hut is then exact.
    func testBarnesHutWithoutApproximationIsExact() throws {
        let y = try fixture().cases[1].points
        let e = errors(y) { yp, fp in QuadTree(yp, count: y.count / 2).repulsion(theta: 0, forces: fp, threads: 2) }
        XCTAssertLessThan(e.force, 1e-5)
        XCTAssertLessThan(e.z, 1e-6)
    }

    /// Quadratic interpolation errs by O(h³): halving the boxes' width cuts
    /// the force error about eightfold.
    func testInterpolationErrorIsThirdOrder() throws {
        let y = try fixture().cases[0].points
        let low = y.min()!, high = y.max()!
        var previous: Double?
        for boxes in [10, 20, 40] {
            let e = fft(y, grid: InterpolationGrid(boxes: boxes, origin: low, boxWidth: (high - low) / Float(boxes)))
            if let previous { XCTAssertGreaterThan(previous / e.force, 6, "\(boxes) boxes") }
            previous = e.force
        }
    }
}

final class TSNEAffinityTests: XCTestCase {
    /// Every point's conditional distribution has the requested perplexity:
    /// exp(H_i), with H_i = −Σ p ln p computed from the probabilities
    /// returned, and the probabilities fall with distance.
    func testPerplexityIsReachedPerPoint() {
        let n = 300, k = 90
        let x = Generated.matrix(n, 8, seed: 4)
        let graph = TSNEReference.graph(x, k: k, metric: .euclidean)
        let d2 = TSNE.squaredDistances(graph, metric: .euclidean)
        for perplexity in [5.0, 30.0, 80.0] {
            let p = TSNE.conditionalProbabilities(squaredDistances: d2, count: n, k: k, perplexity: perplexity, threads: 2)
            for i in 0..<n {
                let row = (0..<k).map { Double(p[i * k + $0]) }
                XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5)
                let entropy = -row.filter { $0 > 0 }.map { $0 * log($0) }.reduce(0, +)
                XCTAssertEqual(exp(entropy), perplexity, accuracy: 1e-4 * perplexity, "point \(i)")
                for j in 1..<k where graph.distances[i * k + j] > graph.distances[i * k + j - 1] {
                    XCTAssertLessThanOrEqual(row[j], row[j - 1])
                }
            }
        }
    }

    /// A row of equal distances (duplicates, or zero vectors under cosine) has
    /// the uniform distribution whatever the bandwidth: 1/k each.
    func testEqualDistancesGiveTheUniformDistribution() {
        let k = 12
        let d2 = [Float](repeating: 0.3, count: k) + (0..<k).map { Float($0) / 10 }
        let p = TSNE.conditionalProbabilities(squaredDistances: d2, count: 2, k: k, perplexity: 5, threads: 1)
        for j in 0..<k { XCTAssertEqual(p[j], 1 / Float(k)) }
        let second = (k..<(2 * k)).map { Double(p[$0]) }
        XCTAssertEqual(exp(-second.map { $0 * log($0) }.reduce(0, +)), 5, accuracy: 1e-4)
    }

    /// Cosine affinities use openTSNE's distance, the euclidean distance between
    /// the unit vectors: squared, 2·(1 − cos).
    func testCosineDistanceIsTheAngularDistance() {
        let x = Generated.matrix(40, 5, seed: 9)
        let graph = TSNEReference.graph(x, k: 6, metric: .cosine)
        let d2 = TSNE.squaredDistances(graph, metric: .cosine)
        func unit(_ r: Int) -> [Double] {
            let v = x.row(r).map(Double.init)
            let norm = v.map { $0 * $0 }.reduce(0, +).squareRoot()
            return v.map { $0 / norm }
        }
        for i in 0..<40 {
            for t in 0..<6 {
                let j = Int(graph.indices[i * 6 + t])
                let expected = zip(unit(i), unit(j)).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
                XCTAssertEqual(Double(d2[i * 6 + t]), expected, accuracy: 1e-5)
            }
        }
    }

    /// P = (C + Cᵀ)/2N entry by entry against a dense matrix built from the
    /// conditional probabilities; symmetric to the bit, sums to 1, no diagonal.
    func testJointProbabilitiesAreTheSymmetrisedConditionals() {
        let n = 120, k = 15
        let x = Generated.matrix(n, 6, seed: 2)
        let (graph, c, p) = TSNEReference.jointProbabilities(x, k: k, perplexity: 5)
        var dense = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for t in 0..<k {
                let j = Int(graph.indices[i * k + t])
                dense[i * n + j] += Double(c[i * k + t]) / Double(2 * n)
                dense[j * n + i] += Double(c[i * k + t]) / Double(2 * n)
            }
        }
        var stored = [Double](repeating: 0, count: n * n), total = 0.0
        for i in 0..<n {
            let columns = p.columns[p.rowStart[i]..<p.rowStart[i + 1]]
            XCTAssertEqual(Array(columns), columns.sorted(), "row \(i) columns ascending")
            XCTAssertEqual(Set(columns).count, columns.count)
            for t in p.rowStart[i]..<p.rowStart[i + 1] {
                stored[i * n + Int(p.columns[t])] = Double(p.weights[t])
                total += Double(p.weights[t])
            }
        }
        XCTAssertEqual(total, 1, accuracy: 1e-5)
        for i in 0..<n {
            XCTAssertEqual(stored[i * n + i], 0)
            for j in 0..<n {
                XCTAssertEqual(stored[i * n + j], stored[j * n + i], "P is symmetric")
                XCTAssertEqual(stored[i * n + j], dense[i * n + j], accuracy: 1e-6)
                XCTAssertEqual(stored[i * n + j] > 0, dense[i * n + j] > 0)
            }
        }
    }
}

final class TSNELayoutTests: XCTestCase {
    func config(_ method: TSNE.Method, iterations: Int = 750) -> TSNE.Config {
        var config = TSNE.Config()
        config.method = method
        config.iterations = iterations
        config.metric = .euclidean
        config.seed = 7
        return config
    }

    /// KL(P‖Q), computed exactly, falls through the optimisation after the
    /// early exaggeration (which optimises another objective) and ends far
    /// below where it started.
    func testKLDivergenceDecreases() {
        let x = TSNEReference.clusters(150, dims: 10, separation: 6, seed: 3)
        let p = TSNEReference.jointProbabilities(x, k: 60, perplexity: 20).p
        let start = try! TSNE.initialEmbedding(x, seed: 7)
        for method in [TSNE.Method.fft, .barnesHut] {
            let kl = [250, 300, 450, 750].map { TSNEReference.klDivergence(p, TSNE.optimise(p, from: start, config: config(method, iterations: $0), threads: 2)) }
            let initial = TSNEReference.klDivergence(p, start)
            XCTAssertLessThan(kl[3], 0.5 * initial, "\(method)")
            for t in 1..<kl.count { XCTAssertLessThan(kl[t], kl[t - 1], "\(method): KL \(kl)") }
        }
    }

    /// Two Gaussian clusters in 20 dimensions, centres ten standard deviations
    /// apart (a point is about 6.3 from its own cluster's points and 11.8 from
    /// the other's), come out on either side of the bisector of their embedded centroids,
    /// every point.
    func testSeparatedClustersStaySeparated() throws {
        let x = TSNEReference.clusters(200, dims: 20, separation: 10, seed: 8)
        for method in [TSNE.Method.fft, .barnesHut] {
            var cfg = config(method)
            cfg.perplexity = 30
            let y = try TSNE.fit(x, config: cfg, threads: 2)
            func centroid(_ range: Range<Int>) -> (Float, Float) {
                (range.map { y[$0, 0] }.reduce(0, +) / Float(range.count), range.map { y[$0, 1] }.reduce(0, +) / Float(range.count))
            }
            let a = centroid(0..<200), b = centroid(200..<400)
            for i in 0..<400 {
                let da = pow(y[i, 0] - a.0, 2) + pow(y[i, 1] - a.1, 2), db = pow(y[i, 0] - b.0, 2) + pow(y[i, 1] - b.1, 2)
                XCTAssertEqual(da < db, i < 200, "\(method): point \(i) is on the wrong side")
            }
        }
    }

    /// The same floats for one thread and two, for both repulsion methods.
    func testDeterministicAcrossThreadCounts() throws {
        let x = TSNEReference.clusters(300, dims: 12, separation: 3, seed: 1)
        for method in [TSNE.Method.fft, .barnesHut] {
            let cfg = config(method, iterations: 300)
            let one = try TSNE.fit(x, config: cfg, threads: 1)
            let two = try TSNE.fit(x, config: cfg, threads: 2)
            XCTAssertEqual(one.data, two.data, "\(method)")
            XCTAssertTrue(one.data.allSatisfy(\.isFinite))
        }
    }

    func testRejectsBadInput() {
        let x = Generated.matrix(20, 4, seed: 1)
        var cfg = TSNE.Config()
        cfg.perplexity = 19
        XCTAssertThrowsError(try TSNE.fit(x, config: cfg, threads: 1)) { XCTAssertEqual(($0 as? EmbtoolError)?.kind, .usage) }
        cfg.perplexity = 1
        XCTAssertThrowsError(try TSNE.fit(x, config: cfg, threads: 1)) { XCTAssertEqual(($0 as? EmbtoolError)?.kind, .usage) }
        cfg.perplexity = .nan
        XCTAssertThrowsError(try TSNE.fit(x, config: cfg, threads: 1)) { XCTAssertEqual(($0 as? EmbtoolError)?.kind, .usage) }
        cfg.perplexity = 5
        XCTAssertThrowsError(try TSNE.fit(Generated.matrix(2, 4, seed: 1), config: cfg, threads: 1))
        var bad = x
        bad[3, 2] = .nan
        XCTAssertThrowsError(try TSNE.fit(bad, config: cfg, threads: 1)) { XCTAssertEqual(($0 as? EmbtoolError)?.kind, .dataError) }
        XCTAssertNoThrow(try TSNE.fit(x, config: cfg, threads: 1))
    }
}

final class TSNEAttractionTests: XCTestCase {
    /// Each pair once, both ends updated, points renumbered, against the sum
    /// over every stored entry of P written out in double precision; the same
    /// floats for one thread and two.
    func testAttractionIsTheSumOverEveryEntryOfP() {
        let n = 500, k = 20
        let x = Generated.matrix(n, 6, seed: 12)
        let p = TSNEReference.jointProbabilities(x, k: k, perplexity: 6).p
        var rng = SplitMix64(seed: 4)
        let y = (0..<(2 * n)).map { _ in 10 * rng.nextGaussian() }
        // Points renumbered as the optimiser does: position i holds point order[i].
        var order = (0..<n).map { Int32($0) }
        order.shuffle(using: &rng)
        let placed = (0..<(2 * n)).map { y[2 * Int(order[$0 / 2]) + $0 % 2] }
        let attraction = TSNEAttraction(p, order: order)
        var one = [Float](repeating: .nan, count: 2 * n), two = one
        placed.withUnsafeBufferPointer { yb in
            one.withUnsafeMutableBufferPointer { attraction.forces(yb.baseAddress!, into: $0.baseAddress!, threads: 1) }
            two.withUnsafeMutableBufferPointer { attraction.forces(yb.baseAddress!, into: $0.baseAddress!, threads: 2) }
        }
        XCTAssertEqual(one, two)
        for position in 0..<n {
            let i = Int(order[position])
            for d in 0..<2 {
                var exact = 0.0, scale = 0.0
                for t in p.rowStart[i]..<p.rowStart[i + 1] {
                    let j = Int(p.columns[t])
                    let dx = Double(y[2 * i]) - Double(y[2 * j]), dy = Double(y[2 * i + 1]) - Double(y[2 * j + 1])
                    let term = Double(p.weights[t]) / (1 + dx * dx + dy * dy) * (d == 0 ? dx : dy)
                    exact += term
                    scale += abs(term)
                }
                XCTAssertEqual(Double(one[2 * position + d]), exact, accuracy: 1e-5 * scale, "point \(i)")
            }
        }
    }
}

/// `embtool tsne` on a small generated model: the JSON holds what the library
/// computes, the files are written, bad input is one line and exit 64 or 65.
final class TSNECLITests: XCTestCase {
    func testJSONAndFilesHoldTheLibrarysLayout() throws {
        let home = try TestData.scratch(self)
        let model = Generated.model(items: 60, users: 30, factors: 6)
        let path = home + "/generated.safetensors", csv = home + "/tsne.csv", svg = home + "/tsne.svg"
        try ModelFile.save(model, to: path)
        let r = try EmbtoolCLI.run(["tsne", "--model", path, "--all", "--perplexity", "10", "--iterations", "300",
                                    "--seed", "3", "--json", "--csv", csv, "--svg", svg, "--labels", "5"], home: home)
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try r.json()
        XCTAssertEqual(json["layout"] as? String, "t-SNE")
        XCTAssertEqual(json["items"] as? Int, 60)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(json["seconds"] as? Double), 0)
        var config = TSNE.Config()
        config.perplexity = 10
        config.iterations = 300
        config.seed = 3
        let expected = try TSNE.fit(model.itemFactors.rows(Array(1...60)), config: config, threads: 1)
        let points = try XCTUnwrap(json["points"] as? [[String: Any]])
        XCTAssertEqual(points.count, 60)
        for (i, point) in points.enumerated() {
            XCTAssertEqual(point["label"] as? String, model.meta.itemLabels[i + 1])
            XCTAssertEqual(try XCTUnwrap(point["x"] as? Double), Double(expected[i, 0]), accuracy: 1e-4 * max(1, abs(Double(expected[i, 0]))))
            XCTAssertEqual(try XCTUnwrap(point["y"] as? Double), Double(expected[i, 1]), accuracy: 1e-4 * max(1, abs(Double(expected[i, 1]))))
        }
        XCTAssertEqual(try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").first, "label,count,x,y")
        XCTAssertTrue(try String(contentsOfFile: svg, encoding: .utf8).contains("t-SNE 1"))
    }

    func testBadInputIsRefused() throws {
        let home = try TestData.scratch(self)
        let model = Generated.model(items: 60, users: 30, factors: 6)
        let path = home + "/generated.safetensors"
        try ModelFile.save(model, to: path)
        // The library's refusal is one line; the parser's own (--method, ...) add the usage lines.
        let tooLarge = try EmbtoolCLI.run(["tsne", "--model", path, "--all", "--perplexity", "59"], home: home)
        XCTAssertEqual(tooLarge.status, 64, tooLarge.stderr)
        XCTAssertEqual(tooLarge.stderr, "embtool: perplexity must be greater than 1 and less than 59 (the number of points − 1), got 59.0\n")
        for args in [["--perplexity", "1"], ["--method", "exact"], ["--iterations", "0"], ["--metric", "dot"], ["--threads", "0"]] {
            XCTAssertEqual(try EmbtoolCLI.run(["tsne", "--model", path, "--all"] + args, home: home).status, 64, "\(args)")
        }
        var factors = model.itemFactors
        factors[5, 2] = .nan
        let npy = home + "/factors.npy"
        try Npy.encode(shape: [factors.rows, factors.cols], values: factors.data).write(to: URL(fileURLWithPath: npy))
        let r = try EmbtoolCLI.run(["tsne", "--model", npy, "--all", "--perplexity", "10"], home: home)
        XCTAssertEqual(r.status, 65, r.stderr)
        XCTAssertTrue(r.stderr.hasSuffix("has a non-finite value (NaN or infinity)\n"), r.stderr)
    }
}
