@testable import EmbeddingCore
@testable import EmbeddingLinalg
@testable import EmbeddingAnalysis
import CMapKernels
import Foundation
import XCTest

final class UMAPStepTests: XCTestCase {
    /// A kNN graph of random Gaussian points (exact, checked in NearestNeighbourTests).
    func graph(_ n: Int = 400, k: Int = 14, seed: UInt64 = 3) throws -> KNNGraph {
        try KNNGraph.build(Generated.matrix(n, 8, seed: seed), k: k, metric: .euclidean, method: .exact, seed: 1, threads: 2, progress: nil)
    }

    func testRhoAndSigmaMeetTheirDefinitions() throws {
        let g = try graph()
        let (sigma, rho) = FuzzySimplicialSet.smoothDistances(g, threads: 2)
        let target = log2(Double(g.k + 1))
        for i in 0..<g.count {
            let row = (0..<g.k).map { Double(g.distances[i * g.k + $0]) }
            XCTAssertEqual(Double(rho[i]), row.first { $0 > 0 }!, "ρ is the nearest positive distance")
            let sum = row.reduce(0.0) { $0 + exp(-max(0, $1 - Double(rho[i])) / Double(sigma[i])) }
            // σ is stored in single precision; the bisection stops within 1e-5 in double.
            XCTAssertEqual(sum, target, accuracy: 1e-4 * target, "row \(i)")
        }
    }

    func testSigmaFloorAppliesWhenAllNeighboursAreAtRho() {
        // Every neighbour at the same distance: the sum is k whatever σ, above
        // log₂(k+1), so the bisection drives σ to 0 and the floor 10⁻³·mean takes over.
        let k = 5
        let g = KNNGraph(count: 6, k: k, indices: (0..<30).map { Int32(($0 / k + 1 + $0 % k) % 6) }, distances: [Float](repeating: 2, count: 30))
        let (sigma, rho) = FuzzySimplicialSet.smoothDistances(g, threads: 1)
        for i in 0..<6 {
            XCTAssertEqual(rho[i], 2)
            XCTAssertEqual(sigma[i], 1e-3 * (2 * 5 / 6), accuracy: 1e-7, "mean over k + 1 entries, self at 0")
        }
    }

    func testFuzzyUnionIsProbabilisticOrOfBothDirections() throws {
        let g = try graph(200, k: 6)
        let (sigma, rho) = FuzzySimplicialSet.smoothDistances(g, threads: 1)
        let directed = FuzzySimplicialSet.memberships(g, sigma: sigma, rho: rho)
        let union = FuzzySimplicialSet.fuzzyUnion(directed, threads: 2)
        func w(_ i: Int, _ j: Int) -> Double {
            for t in 0..<g.k where g.indices[i * g.k + t] == Int32(j) {
                let d = Double(g.distances[i * g.k + t]) - Double(rho[i])
                return d <= 0 ? 1 : exp(-d / Double(sigma[i]))
            }
            return 0
        }
        var edges = 0
        for i in 0..<g.count {
            for j in 0..<g.count where i != j {
                let a = w(i, j), b = w(j, i)
                XCTAssertEqual(Double(union.weight(i, j)), a + b - a * b, accuracy: 1e-6)
                XCTAssertEqual(union.weight(i, j), union.weight(j, i), "symmetric")
                if a + b > 0 { edges += 1 }
            }
            let cols = union.columns[union.rowStart[i]..<union.rowStart[i + 1]]
            XCTAssertEqual(Array(cols), cols.sorted())
        }
        XCTAssertEqual(union.edgeCount, edges)
    }

    func testCurveParametersMatchUmapLearn() throws {
        // umap-learn's documented values for min_dist 0.1, spread 1.0.
        let (a, b) = try UMAPCurve.fit(minDist: 0.1, spread: 1)
        XCTAssertEqual(a, 1.576943460405378, accuracy: 2e-3)
        XCTAssertEqual(b, 0.8950608781227859, accuracy: 1e-3)
        // And the fit is a least-squares minimum: nudging either parameter costs more.
        func cost(_ a: Double, _ b: Double) -> Double {
            (0..<300).reduce(0.0) { s, t in
                let x = Double(t) * 3 / 299, y = x < 0.1 ? 1 : exp(-(x - 0.1))
                let r = 1 / (1 + a * pow(x, 2 * b)) - y
                return s + r * r
            }
        }
        for (da, db) in [(1e-3, 0.0), (-1e-3, 0.0), (0.0, 1e-3), (0.0, -1e-3)] {
            XCTAssertGreaterThan(cost(a + da, b + db), cost(a, b))
        }
        XCTAssertThrowsError(try UMAPCurve.fit(minDist: 2, spread: 1))
    }

    func testEdgesAreSampledWhenUmapLearnsClockComesDue() {
        XCTAssertEqual(UMAPLayout.sampleFrequency([1, 0.5, 0.25, 0]), [1, 0.5, 0.25, 0])
        // umap-learn's schedule: epoch_of_next_sample starts at w_max / w, a sample is due
        // in epoch t when it is at most t, and then moves on by w_max / w. In exact
        // arithmetic (periods with short binary fractions) the due epochs must agree.
        for period in [1.0, 1.25, 1.5, 2.0, 3.0, 4.5, 7.75, 200.0] {
            var next = period, umapLearn: [Int] = []
            for t in 0..<400 where next <= Double(t) {
                umapLearn.append(t)
                next += period
            }
            let ours = (0..<400).filter { UMAPLayout.isDue(frequency: Float(1 / period), epoch: $0) }
            XCTAssertEqual(ours, umapLearn, "period \(period)")
        }
        XCTAssertFalse((0..<400).contains { UMAPLayout.isDue(frequency: 0, epoch: $0) })
    }

    func testFastPowMatchesPow() {
        // Squared distances from the SGD's floor (10⁻³⁰) to far beyond any layout's,
        // the exponents b of min-dist 0 … 1. Where |b·log₂x| is large, single
        // precision's rounding of it alone is a few 10⁻⁶ of 2^(b·log₂x).
        var worstNear: Float = 0, worstAll: Float = 0
        for e in stride(from: -90.0, through: 15.0, by: 0.05) {
            let x = [1, 1.3, 2, 2.9].map { Float(pow(10, e / 3)) * $0 }
            for b: Float in [0.79, 0.8950609, 1.0, 1.9] {
                var fast = [Float](repeating: 0, count: 4)
                embtool_umap_fast_pow(x, &fast, 4, b)
                for l in 0..<4 {
                    let exact = pow(Double(x[l]), Double(b))
                    // Where x^b is a normal float (below that the SGD's terms vanish anyway).
                    guard exact >= Double(Float.leastNormalMagnitude), exact < 0x1p126 else { continue }
                    let error = Float(abs(Double(fast[l]) - exact) / exact)
                    worstAll = max(worstAll, error)
                    if x[l] >= 1e-4 && x[l] <= 1e4 { worstNear = max(worstNear, error) }
                }
            }
        }
        XCTAssertLessThan(worstNear, 2e-6)
        XCTAssertLessThan(worstAll, 1e-5)
    }

    func testEachEndOfAnEdgeIsPulledTwicePerSample() {
        // umap-learn's graph holds (i, j) and (j, i), and `move_other` moves both
        // ends of a sampled edge: each end gets two pulls per sampling period.
        // Two points at distance 1, one edge of weight 1, no repulsion (γ = 0):
        // the edge is first due in epoch 1 (of 2, so α = ½), where each end moves
        // by α·2·clip(2ab/(1 + a)) towards the other, from umap-learn's formula
        // −2ab·d^(2(b−1))/(1 + a·d^(2b))·(yᵢ − yⱼ) at d = 1.
        let graph = SparseGraph(count: 2, rowStart: [0, 1, 2], columns: [1, 0], weights: [1, 1])
        var layout = UMAPLayout(a: 1.577, b: 0.895, epochs: 2, seed: 5)
        layout.gamma = 0
        var positions: [Float] = [0, 0, 1, 0]
        layout.optimise(&positions, graph: graph, threads: 1)
        let pull = 0.5 * 2 * min(4, 2 * 1.577 * 0.895 / (1 + 1.577))
        XCTAssertEqual(Double(positions[0]), pull, accuracy: 1e-5)
        XCTAssertEqual(Double(positions[2]), 1 - pull, accuracy: 1e-5)
        XCTAssertEqual(positions[1], 0)
        XCTAssertEqual(positions[3], 0)
    }

    func testSpectralLayoutOfARingIsItsFirstFourierPair() throws {
        // A cycle of n nodes with unit weights: N's eigenvalues are cos(2πm/n)
        // and its top non-trivial eigenspace is spanned by cos(2πi/n), sin(2πi/n).
        let n = 360
        var rowStart = [0], columns: [Int32] = [], weights: [Float] = []
        for i in 0..<n {
            columns += [Int32((i + n - 1) % n), Int32((i + 1) % n)].sorted()
            weights += [1, 1]
            rowStart.append(columns.count)
        }
        let ring = SparseGraph(count: n, rowStart: rowStart, columns: columns, weights: weights)
        let y = try XCTUnwrap(SpectralLayout.embed(ring, dims: 2, seed: 1, threads: 2, tolerance: 1e-5))
        let c = (0..<n).map { cos(2 * Double.pi * Double($0) / Double(n)) }, s = (0..<n).map { sin(2 * Double.pi * Double($0) / Double(n)) }
        let cn = c.reduce(0) { $0 + $1 * $1 }.squareRoot(), sn = s.reduce(0) { $0 + $1 * $1 }.squareRoot()
        for j in 0..<2 {
            let v = (0..<n).map { Double(y[$0, j]) }
            let pc = zip(v, c).reduce(0) { $0 + $1.0 * $1.1 } / cn, ps = zip(v, s).reduce(0) { $0 + $1.0 * $1.1 } / sn
            XCTAssertEqual(pc * pc + ps * ps, 1, accuracy: 1e-3, "eigenvector \(j) lies in span{cos, sin}")
        }
    }

    func testSpectralLayoutMatchesDenseEigenvectors() throws {
        let g = FuzzySimplicialSet.build(try graph(300, k: 9), threads: 2)
        let y = try XCTUnwrap(SpectralLayout.embed(g, dims: 2, seed: 4, threads: 2, tolerance: 1e-5))
        // The same eigenvectors from LAPACK on the dense N = D^(−½)WD^(−½).
        let n = g.count
        var degree = [Double](repeating: 0, count: n)
        for i in 0..<n { for e in g.rowStart[i]..<g.rowStart[i + 1] { degree[i] += Double(g.weights[e]) } }
        var dense = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for e in g.rowStart[i]..<g.rowStart[i + 1] {
                let j = Int(g.columns[e])
                dense[i * n + j] = Double(g.weights[e]) / (degree[i] * degree[j]).squareRoot()
            }
        }
        let (values, vectors) = try XCTUnwrap(SymmetricEigen.largest(&dense, n: n, count: 3))
        XCTAssertEqual(values[0], 1, accuracy: 1e-9)
        for j in 0..<2 {
            let dot = (0..<n).reduce(0.0) { $0 + Double(y[$1, j]) * vectors[$1 * 3 + j + 1] }
            XCTAssertEqual(abs(dot), 1, accuracy: 1e-3, "eigenvector \(j + 2) (λ = \(values[j + 1]))")
        }
    }

    func testGramSchmidtPassAcrossPiecesMatchesADoubleReference() throws {
        // 20,000 columns: three pieces of `pieceSize`, the last one short.
        let g = try graph(20_000, k: 4)
        let operatorN = NormalisedAdjacency(FuzzySimplicialSet.build(g, threads: 2), threads: 2)
        let n = g.count, rows = 5
        XCTAssertEqual(NormalisedAdjacency.pieces(n), 3)
        var q = Generated.matrix(rows, n, seed: 9).data, x = Generated.matrix(1, n, seed: 10).data
        for r in 0..<rows {  // orthonormal rows, in double
            var row = (0..<n).map { Double(q[r * n + $0]) }
            for s in 0..<r {
                let d = (0..<n).reduce(0.0) { $0 + row[$1] * Double(q[s * n + $1]) }
                for i in 0..<n { row[i] -= d * Double(q[s * n + i]) }
            }
            let norm = row.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
            for i in 0..<n { q[r * n + i] = Float(row[i] / norm) }
        }
        let coefficients = (0..<rows).map { r in (0..<n).reduce(0.0) { $0 + Double(q[r * n + $1]) * Double(x[$1]) } }
        let expected = (0..<n).map { i in Double(x[i]) - (0..<rows).reduce(0.0) { $0 + coefficients[$1] * Double(q[$1 * n + i]) } }
        var partials = [Float](repeating: 0, count: 3 * rows)
        for threads in [1, 2] {
            var y = x
            let one = NormalisedAdjacency(operatorN.graph, threads: threads)
            one.orthogonalise(&y, against: q, rows: rows, partials: &partials)
            for i in 0..<n { XCTAssertEqual(Double(y[i]), expected[i], accuracy: 1e-4, "column \(i), \(threads) threads") }
        }
    }

    func testSpectralLayoutAcrossPiecesIsOrthonormalAndThreadFree() throws {
        let g = FuzzySimplicialSet.build(try graph(20_000, k: 9), threads: 2)
        let one = try XCTUnwrap(SpectralLayout.embed(g, dims: 2, seed: 4, threads: 1))
        let two = try XCTUnwrap(SpectralLayout.embed(g, dims: 2, seed: 4, threads: 2))
        XCTAssertEqual(one.data, two.data)
        // Unit columns, orthogonal to each other and to the trivial eigenvector D^(½)·1.
        let root = (0..<g.count).map { i in (g.rowStart[i]..<g.rowStart[i + 1]).reduce(0.0) { $0 + Double(g.weights[$1]) }.squareRoot() }
        let rootNorm = root.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
        func dot(_ a: (Int) -> Double, _ b: (Int) -> Double) -> Double { (0..<g.count).reduce(0.0) { $0 + a($1) * b($1) } }
        for j in 0..<2 {
            XCTAssertEqual(dot({ Double(two[$0, j]) }, { Double(two[$0, j]) }), 1, accuracy: 1e-4)
            XCTAssertEqual(dot({ Double(two[$0, j]) }, { root[$0] / rootNorm }), 0, accuracy: 1e-4)
        }
        XCTAssertEqual(dot({ Double(two[$0, 0]) }, { Double(two[$0, 1]) }), 0, accuracy: 1e-4)
    }

    func testDisconnectedGraphHasNoSpectralLayout() {
        // Two separate triangles.
        let g = SparseGraph(count: 6, rowStart: [0, 2, 4, 6, 8, 10, 12],
                            columns: [1, 2, 0, 2, 0, 1, 4, 5, 3, 5, 3, 4], weights: [Float](repeating: 1, count: 12))
        XCTAssertEqual(SpectralLayout.components(g), 2)
        XCTAssertNil(SpectralLayout.embed(g, dims: 2, seed: 1, threads: 1))
    }
}

final class UMAPLayoutTests: XCTestCase {
    func testTwoSeparatedClustersStaySeparated() throws {
        let x = Planted.twoClusters(300, dims: 10, separation: 20, seed: 8)
        for initialisation in UMAP.Initialisation.allCases {
            var config = UMAP.Config()
            config.metric = .euclidean
            config.initialisation = initialisation
            let y = try UMAP.fit(x, config: config, threads: 2, progress: nil)
            let centre = (0..<2).map { c in
                (0..<2).map { d in (0..<300).reduce(Float(0)) { $0 + y[c * 300 + $1, d] } / 300 }
            }
            for i in 0..<600 {
                let own = i / 300, other = 1 - own
                func dist(_ c: Int) -> Float { hypot(y[i, 0] - centre[c][0], y[i, 1] - centre[c][1]) }
                XCTAssertLessThan(dist(own) * 2, dist(other), "\(initialisation): point \(i) is with its own cluster")
            }
        }
    }

    func testLayoutKeepsNeighboursOfAPlantedSurface() throws {
        // Points on a 2-d linear manifold in 30-d: a 2-d map can keep their
        // neighbourhoods, so a large share of each point's 10 neighbours in
        // 30-d must be among its 10 nearest on the map (random: 10/1500).
        let x = Planted.manifold(1500, latent: 2, dims: 30, noise: 0.01, seed: 21)
        var config = UMAP.Config()
        config.metric = .euclidean
        let y = try UMAP.fit(x, config: config, threads: 2, progress: nil)
        let high = try KNNGraph.build(x, k: 10, metric: .euclidean, method: .exact, seed: 1, threads: 2, progress: nil)
        let low = try KNNGraph.build(y, k: 10, metric: .euclidean, method: .exact, seed: 1, threads: 2, progress: nil)
        XCTAssertGreaterThan(low.recall(against: high), 0.5)
    }

    func testSameLayoutForOneOrTwoThreads() throws {
        let x = Planted.manifold(3000, latent: 4, dims: 16, seed: 2)
        var config = UMAP.Config()
        config.knnMethod = .nnDescent
        config.epochs = 60
        let one = try UMAP.fit(x, config: config, threads: 1, progress: nil)
        let two = try UMAP.fit(x, config: config, threads: 2, progress: nil)
        XCTAssertEqual(one.data, two.data)
        config.seed = 43
        XCTAssertNotEqual(try UMAP.fit(x, config: config, threads: 2, progress: nil).data, one.data)
    }

    func testBadInputIsRefused() {
        var x = Generated.matrix(100, 5, seed: 1)
        x[40, 1] = .nan
        XCTAssertThrowsError(try UMAP.fit(x, config: UMAP.Config(), threads: 1, progress: nil)) { error in
            XCTAssertEqual((error as? EmbtoolError)?.kind, .dataError)
            XCTAssertTrue("\(error)".contains("row 40"), "\(error)")
        }
        XCTAssertThrowsError(try UMAP.fit(Generated.matrix(15, 5, seed: 1), config: UMAP.Config(), threads: 1, progress: nil)) { error in
            XCTAssertEqual((error as? EmbtoolError)?.kind, .usage)
        }
        var config = UMAP.Config()
        config.epochs = 0
        XCTAssertThrowsError(try UMAP.fit(Generated.matrix(100, 5, seed: 1), config: config, threads: 1, progress: nil))
        config = UMAP.Config()
        config.minDist = -1
        XCTAssertThrowsError(try UMAP.fit(Generated.matrix(100, 5, seed: 1), config: config, threads: 1, progress: nil))
    }
}
