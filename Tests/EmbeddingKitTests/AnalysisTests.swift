@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingLinalg
@testable import EmbeddingTrain
@testable import EmbeddingAnalysis
@testable import EmbeddingRender
import Foundation
import XCTest

/// Small generated models and matrices for the analysis tests.
enum Generated {
    /// `rows × cols` standard normal values from a fixed seed.
    static func matrix(_ rows: Int, _ cols: Int, seed: UInt64) -> Matrix {
        var rng = SplitMix64(seed: seed)
        return Matrix(rows: rows, cols: cols, data: (0..<(rows * cols)).map { _ in rng.nextGaussian() })
    }

    /// A fastai-shaped model: row 0 is `#na#`, then `items` titled items with
    /// counts and genres, and `users` users.
    static func model(items: Int = 60, users: Int = 30, factors: Int = 6, seed: UInt64 = 7) -> FactorModel {
        var rng = SplitMix64(seed: seed)
        var meta = ModelMetadata()
        meta.dataset = "generated"
        meta.userLabels = ["#na#"] + (1...users).map(String.init)
        let titles = (1...items).map { "Item \($0) (\(1950 + $0 % 50))" }
        meta.itemKeys = ["#na#"] + titles
        meta.itemLabels = meta.itemKeys
        meta.itemCounts = [0] + (1...items).map { ($0 * 37) % 101 + 1 }
        let genres = ["Action", "Comedy", "Drama", "Horror"]
        meta.itemGenres = [[]] + (1...items).map { [genres[$0 % 4]] + ($0 % 3 == 0 ? [genres[($0 + 1) % 4]] : []) }
        func table(_ n: Int) -> Matrix { Matrix(rows: n, cols: factors, data: (0..<(n * factors)).map { _ in 0.5 * rng.nextGaussian() }) }
        return FactorModel(userFactors: table(users + 1), itemFactors: table(items + 1),
                           userBias: (0...users).map { _ in 0.3 * rng.nextGaussian() },
                           itemBias: (0...items).map { _ in 0.3 * rng.nextGaussian() }, meta: meta)
    }
}

final class PCATests: XCTestCase {
    struct Reference: Decodable {
        var rows: Int, cols: Int, components: Int
        var x: [Double], mean: [Double], components_: [Double]
        var explained_variance: [Double], explained_variance_ratio: [Double], singular_values: [Double], scores: [Double]
    }

    func reference() throws -> Reference {
        let url = TestData.repoRoot.appendingPathComponent("Tests/fixtures/pca/reference.json")
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }

    /// scikit-learn's PCA(svd_solver='full') of the committed matrix, written by
    /// Tests/fixtures/pca/make_reference.py.
    func testPCAMatchesScikitLearn() throws {
        let ref = try reference()
        let x = Matrix(rows: ref.rows, cols: ref.cols, data: ref.x.map(Float.init))
        let (pca, scores) = try PCA.fit(x, components: ref.components)
        for (a, b) in zip(pca.mean, ref.mean) { XCTAssertEqual(Double(a), b, accuracy: 1e-4) }
        for (a, b) in zip(pca.explainedVarianceRatio, ref.explained_variance_ratio) { XCTAssertEqual(Double(a), b, accuracy: 1e-4) }
        for (a, b) in zip(pca.explainedVariance, ref.explained_variance) { XCTAssertEqual(Double(a), b, accuracy: 1e-4 * max(1, b)) }
        for (a, b) in zip(pca.singularValues, ref.singular_values) { XCTAssertEqual(Double(a), b, accuracy: 1e-4 * max(1, b)) }
        // Up to sign per component; the sign rule is also scikit-learn's, so the signs agree too.
        for j in 0..<ref.components {
            let ours = (0..<ref.cols).map { Double(pca.components[j, $0]) }
            let theirs = Array(ref.components_[(j * ref.cols)..<((j + 1) * ref.cols)])
            let sign: Double = zip(ours, theirs).map(*).reduce(0, +) < 0 ? -1 : 1
            XCTAssertEqual(sign, 1, "component \(j + 1) has the opposite sign to scikit-learn's")
            for (a, b) in zip(ours, theirs) { XCTAssertEqual(sign * a, b, accuracy: 1e-4) }
            for r in 0..<ref.rows {
                XCTAssertEqual(sign * Double(scores[r, j]), ref.scores[r * ref.components + j], accuracy: 1e-4)
            }
        }
    }

    func testCentringRemovesAnyOffset() throws {
        let x = Generated.matrix(50, 5, seed: 3)
        var shifted = x
        let offset: [Float] = [100, -3, 7.5, 0, 42]
        for r in 0..<x.rows { for c in 0..<x.cols { shifted[r, c] += offset[c] } }
        let (a, sa) = try PCA.fit(x, components: 3)
        let (b, sb) = try PCA.fit(shifted, components: 3)
        for (ma, mb, o) in zip3(a.mean, b.mean, offset) { XCTAssertEqual(mb - ma, o, accuracy: 1e-4) }
        // Column means computed independently.
        for c in 0..<x.cols {
            let mean = (0..<x.rows).reduce(0.0) { $0 + Double(x[$1, c]) } / Double(x.rows)
            XCTAssertEqual(Double(a.mean[c]), mean, accuracy: 1e-6)
        }
        for (p, q) in zip(a.explainedVarianceRatio, b.explainedVarianceRatio) { XCTAssertEqual(p, q, accuracy: 1e-4) }
        for (p, q) in zip(sa.data, sb.data) { XCTAssertEqual(p, q, accuracy: 2e-3) }
        // Scores of centred data have zero mean per component.
        for j in 0..<3 {
            XCTAssertEqual((0..<sa.rows).reduce(0.0) { $0 + Double(sa[$1, j]) }, 0, accuracy: 1e-4)
        }
        // transform() of the fitted rows reproduces the scores.
        let again = a.transform(x)
        for (p, q) in zip(again.data, sa.data) { XCTAssertEqual(p, q, accuracy: 1e-5) }
    }

    func testFittingARowRangeEqualsFittingACopy() throws {
        let table = Generated.matrix(1300, 7, seed: 12)
        let (a, sa) = try PCA.fit(table, rows: 1..<1300, components: 3)
        let (b, sb) = try PCA.fit(table.rows(Array(1..<1300)), components: 3)
        XCTAssertEqual(a.explainedVarianceRatio, b.explainedVarianceRatio)
        XCTAssertEqual(sa, sb)
    }

    func testSignRuleMakesLargestLoadingPositive() throws {
        let (pca, _) = try PCA.fit(Generated.matrix(40, 6, seed: 11), components: 4)
        for j in 0..<4 {
            let row = (0..<6).map { pca.components[j, $0] }
            let largest = row.indices.max { abs(row[$0]) < abs(row[$1]) }!
            XCTAssertGreaterThan(row[largest], 0)
        }
    }

    func testMoreComponentsThanFactorsIsAUsageError() {
        XCTAssertThrowsError(try PCA.fit(Generated.matrix(20, 4, seed: 1), components: 5)) { error in
            XCTAssertEqual((error as? EmbtoolError)?.kind, .usage)
        }
    }

    func testEndsAreTheExtremeScores() throws {
        let scores = Matrix(rows: 5, cols: 1, data: [0.5, -2, 3, 1, -1])
        let ends = PCA.ends(scores, component: 0, count: 2)
        XCTAssertEqual(ends.low, [1, 4])
        XCTAssertEqual(ends.high, [2, 3])
    }
}

final class LinalgTests: XCTestCase {
    func reconstruct(_ svd: SVD, rows: Int, cols: Int) -> Matrix {
        let u = svd.u!
        var us = u
        for r in 0..<u.rows { for c in 0..<u.cols { us[r, c] *= svd.singularValues[c] } }
        return us.multiplied(by: svd.vt)
    }

    func testSVDReconstructsTallAndWideMatrices() throws {
        for (m, n) in [(30, 7), (7, 30), (9, 9)] {
            let a = Generated.matrix(m, n, seed: UInt64(m * 100 + n))
            let svd = try SVD(a)
            let back = reconstruct(svd, rows: m, cols: n)
            for (p, q) in zip(back.data, a.data) { XCTAssertEqual(p, q, accuracy: 1e-4) }
            XCTAssertEqual(svd.singularValues, svd.singularValues.sorted(by: >))
            // Vᵀ has orthonormal rows.
            let vvt = svd.vt.multiplied(by: svd.vt, transposeOther: true)
            for r in 0..<vvt.rows { for c in 0..<vvt.cols { XCTAssertEqual(vvt[r, c], r == c ? 1 : 0, accuracy: 1e-4) } }
        }
    }

    /// The tall-skinny QR route (blocks of 512 rows, a short last block, two
    /// workers) gives the singular values and right vectors of a plain sgesdd,
    /// also of a centred matrix.
    func testTallSkinnyRouteAgreesWithFullSVD() throws {
        for rows in [200, 1500, 1027] {
            let a = Generated.matrix(rows, 8, seed: UInt64(rows))
            let mean: [Float] = (0..<8).map { Float($0) * 0.25 - 1 }
            var centred = a
            for r in 0..<rows { for c in 0..<8 { centred[r, c] -= mean[c] } }
            let full = try SVD(centred), lean = try SVD(a, centring: mean, computeU: false)
            XCTAssertNil(lean.u)
            for (p, q) in zip(full.singularValues, lean.singularValues) { XCTAssertEqual(p, q, accuracy: 1e-4 * max(1, p)) }
            // The same right singular vectors up to sign.
            for j in 0..<8 {
                let dot = (0..<8).reduce(Float(0)) { $0 + full.vt[j, $1] * lean.vt[j, $1] }
                XCTAssertEqual(abs(dot), 1, accuracy: 1e-3, "rows \(rows) vector \(j)")
            }
        }
    }

    func testGatheringEqualsRows() {
        let a = Generated.matrix(20, 3, seed: 9)
        XCTAssertEqual(a.gathering([5, 0, 19, 5]), a.rows([5, 0, 19, 5]))
    }

    func testSVDRejectsNaN() {
        XCTAssertThrowsError(try SVD(Matrix(rows: 2, cols: 2, data: [1, .nan, 0, 1])))
        var tall = Generated.matrix(700, 4, seed: 2)
        tall[650, 3] = .infinity
        XCTAssertThrowsError(try SVD(tall, computeU: false)) { error in
            XCTAssertEqual((error as? EmbtoolError)?.kind, .dataError)
        }
        // Rows outside the range are not looked at.
        XCTAssertNoThrow(try SVD(tall, rows: 0..<600, computeU: false))
    }

    func testPositiveDefiniteSolve() throws {
        // A = [[4, 1], [1, 3]], b = [1, 2]: x = A⁻¹b = [1/11, 7/11].
        let x = try Solve.positiveDefinite([4, 1, 1, 3], [1, 2], n: 2)
        XCTAssertEqual(x[0], 1.0 / 11, accuracy: 1e-12)
        XCTAssertEqual(x[1], 7.0 / 11, accuracy: 1e-12)
        XCTAssertThrowsError(try Solve.positiveDefinite([1, 2, 2, 1], [1, 1], n: 2))
    }

    func testGemmAndGemvAgreeWithLoops() {
        let a = Generated.matrix(5, 3, seed: 1), b = Generated.matrix(4, 3, seed: 2)
        let c = a.multiplied(by: b, transposeOther: true)
        for i in 0..<5 {
            for j in 0..<4 {
                XCTAssertEqual(c[i, j], (0..<3).reduce(Float(0)) { $0 + a[i, $1] * b[j, $1] }, accuracy: 1e-5)
            }
        }
        let y = a.multiplied(by: [1, -2, 0.5])
        for i in 0..<5 { XCTAssertEqual(y[i], a[i, 0] - 2 * a[i, 1] + 0.5 * a[i, 2], accuracy: 1e-5) }
    }
}

final class SimilarityTests: XCTestCase {
    /// The score of candidate j for query q, in double precision, straight from the definitions.
    func direct(_ t: Matrix, _ q: Int, _ j: Int, _ metric: SimilarityMetric) -> Double {
        let a = (0..<t.cols).map { Double(t[q, $0]) }, b = (0..<t.cols).map { Double(t[j, $0]) }
        let dot = zip(a, b).map(*).reduce(0, +)
        switch metric {
        case .dot: return dot
        case .cosine: return dot / (a.map { $0 * $0 }.reduce(0, +).squareRoot() * b.map { $0 * $0 }.reduce(0, +).squareRoot())
        case .euclidean: return -zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        }
    }

    func testScanEqualsDirectComputation() {
        // k = 11: two full lanes of four and a tail of three.
        let t = Generated.matrix(300, 11, seed: 5)
        let candidates = Array(stride(from: 2, to: 300, by: 3)) + [7]
        for metric in SimilarityMetric.allCases {
            for q in [7, 8, 299] {
                let got = SimilarityScan.neighbours(of: q, in: t, candidates: candidates.sorted(), metric: metric, top: 9, threads: 1)
                let expected = candidates.filter { $0 != q }
                    .map { ($0, direct(t, q, $0, metric)) }
                    .sorted { $0.1 > $1.1 }.prefix(9)
                XCTAssertEqual(got.map(\.row), expected.map(\.0), "\(metric) query \(q)")
                for (g, e) in zip(got, expected) { XCTAssertEqual(Double(g.score), e.1, accuracy: 1e-4) }
                XCTAssertFalse(got.contains { $0.row == q }, "the query is never its own neighbour")
            }
        }
    }

    func testScanDoesNotDependOnItsWorkers() {
        // Enough candidates for two workers (each takes at least 8,192).
        let t = Generated.matrix(20_000, 7, seed: 13)
        let candidates = Array(0..<20_000).filter { $0 % 7 != 3 }
        for metric in SimilarityMetric.allCases {
            for q in [0, 3, 19_999] {
                let one = SimilarityScan.neighbours(of: q, in: t, candidates: candidates, metric: metric, top: 10, threads: 1)
                let two = SimilarityScan.neighbours(of: q, in: t, candidates: candidates, metric: metric, top: 10, threads: 2)
                XCTAssertEqual(one, two, "\(metric) query \(q)")
                let expected = candidates.filter { $0 != q }.map { ($0, direct(t, q, $0, metric)) }.sorted { $0.1 > $1.1 }.prefix(10)
                XCTAssertEqual(one.map(\.row), expected.map(\.0), "\(metric) query \(q)")
            }
        }
    }

    func testScanKeepsTheDirectionOfVectorsAtFloatsEdges() {
        // A row whose squares leave float32's normal range (1e-25's square
        // underflows to 0, 1e-44 is itself subnormal, 1e20's square is ∞):
        // its cosines as double precision gives them.
        let base = Generated.matrix(40, 6, seed: 9)
        for scale: Float in [1e-25, 1e-44, 1e20] {
            var t = base
            for j in 0..<6 { t[14, j] = base[14, j] * scale }
            for q in [0, 14] {
                let got = SimilarityScan.neighbours(of: q, in: t, candidates: Array(0..<40), metric: .cosine, top: 39)
                let want = (0..<40).filter { $0 != q }.map { ($0, direct(t, q, $0, .cosine)) }.sorted { $0.1 > $1.1 }
                XCTAssertEqual(got.map(\.row), want.map(\.0), "scale \(scale) query \(q)")
                for (g, w) in zip(got, want) { XCTAssertEqual(Double(g.score), w.1, accuracy: 1e-5, "scale \(scale)") }
            }
        }
    }

    func testAllNeighboursEqualOneQueryAtATime() {
        let t = Generated.matrix(157, 5, seed: 8)
        let candidates = Array(1..<157)
        for metric in SimilarityMetric.allCases {
            let index = SimilarityIndex(table: t, candidates: candidates, metric: metric)
            // Odd block and tile sizes so that edges of both are crossed; two workers.
            let all = index.allNeighbours(top: 6, threads: 2, blockRows: 7, tileColumns: 33)
            XCTAssertEqual(all.queries, candidates)
            for (q, row) in candidates.enumerated() {
                let one = SimilarityScan.neighbours(of: row, in: t, candidates: candidates, metric: metric, top: 6)
                let many = all.neighbours(ofPosition: q)
                XCTAssertEqual(many.map(\.row), one.map(\.row), "\(metric) row \(row)")
                for (a, b) in zip(many, one) { XCTAssertEqual(a.score, b.score, accuracy: 1e-4) }
            }
        }
    }

    func testTopKMatchesSortingWithTies() {
        var rng = SplitMix64(seed: 99)
        for n in [1, 5, 16, 17, 100, 1000] {
            // Values on a coarse grid, so ties are common.
            let row = (0..<n).map { _ in Float(Int(rng.next() % 20)) / 4 }
            for k in [1, 3, 10] {
                var scores = [Float](repeating: 0, count: k), indices = [Int32](repeating: 0, count: k)
                var filled = 0
                let skip = n / 2
                row.withUnsafeBufferPointer { r in
                    TopK.start(k: k, scores: &scores, indices: &indices, filled: &filled)
                    // In two tiles, as the blocked path feeds it.
                    let half = n / 3
                    TopK.offer(r.baseAddress!, count: half, base: 0, skip: skip, k: k, scores: &scores, indices: &indices, filled: &filled)
                    TopK.offer(r.baseAddress! + half, count: n - half, base: half, skip: skip, k: k, scores: &scores, indices: &indices, filled: &filled)
                }
                let expected = row.indices.filter { $0 != skip }.sorted { row[$0] != row[$1] ? row[$0] > row[$1] : $0 < $1 }.prefix(k)
                XCTAssertEqual(filled, expected.count)
                XCTAssertEqual(indices.prefix(filled).map(Int.init), Array(expected), "n \(n) k \(k)")
            }
        }
    }

    func testZeroVectorsDoNotPoisonCosine() {
        var t = Generated.matrix(10, 3, seed: 4)
        for c in 0..<3 { t[2, c] = 0 }
        let all = SimilarityIndex(table: t, candidates: Array(0..<10), metric: .cosine).allNeighbours(top: 9, threads: 1)
        for n in [SimilarityScan.neighbours(of: 0, in: t, candidates: Array(0..<10), metric: .cosine, top: 9), all.neighbours(ofPosition: 0)] {
            XCTAssertEqual(n.count, 9)
            XCTAssertTrue(n.allSatisfy { $0.score.isFinite })
            XCTAssertEqual(n.first { $0.row == 2 }?.score, 0)
        }
    }
}

final class TitleResolverTests: XCTestCase {
    let labels = ["#na#", "Star Wars (1977)", "Empire Strikes Back, The (1980)", "Return of the Jedi (1983)",
                  "Star Trek: First Contact (1996)", "Star Trek: Generations (1994)", "Cité des enfants perdus, La (1995)",
                  "Hamlet (1996)", "Hamlet (1948)", "Seven (Se7en) (1995)", "Alien (1979)", "Aliens (1986)"]
    var resolver: TitleResolver {
        TitleResolver(labels: labels, rows: Array(1..<labels.count), popularity: [0, 583, 367, 507, 218, 101, 40, 90, 30, 236, 211, 284])
    }

    func testForgivingStages() {
        let r = resolver
        XCTAssertEqual(r.resolve("Star Wars (1977)"), .found(1))
        XCTAssertEqual(r.resolve("star wars (1977)"), .found(1))
        XCTAssertEqual(r.resolve("Star Wars"), .found(1))
        XCTAssertEqual(r.resolve("  the empire strikes back "), .found(2))
        XCTAssertEqual(r.resolve("Empire Strikes Back"), .found(2))
        XCTAssertEqual(r.resolve("Return of the"), .found(3))
        XCTAssertEqual(r.resolve("la cite des enfants perdus"), .found(6))
        XCTAssertEqual(r.resolve("se7en"), .found(9))
        // "Alien" is a whole title: the exact core wins over the prefix that also matches "Aliens".
        XCTAssertEqual(r.resolve("alien"), .found(10))
    }

    func testAmbiguousListsCandidatesMostRatedFirst() {
        XCTAssertEqual(resolver.resolve("Star Trek"), .ambiguous([4, 5]))
        XCTAssertEqual(resolver.resolve("hamlet"), .ambiguous([7, 8]))
        XCTAssertThrowsError(try resolver.row(for: "Star Trek")) { error in
            let e = error as? EmbtoolError
            XCTAssertEqual(e?.kind, .usage)
            XCTAssertTrue(e?.message.contains("Star Trek: First Contact (1996)") ?? false)
            XCTAssertTrue(e?.message.contains("Star Trek: Generations (1994)") ?? false)
        }
    }

    func testUnknownSuggestsNearestByEditDistance() {
        guard case .unknown(let suggestions) = resolver.resolve("Starr Wors") else { return XCTFail("should be unknown") }
        XCTAssertEqual(suggestions.first, 1)
        XCTAssertThrowsError(try resolver.row(for: "Zzyzx Road")) { error in
            XCTAssertEqual((error as? EmbtoolError)?.kind, .dataError)
        }
    }

    func testEditDistance() {
        XCTAssertEqual(TitleResolver.editDistance("kitten", "sitting"), 3)
        XCTAssertEqual(TitleResolver.editDistance("", "abc"), 3)
        XCTAssertEqual(TitleResolver.editDistance("same", "same"), 0)
    }
}

final class BiasAndRecommendTests: XCTestCase {
    /// Ratings on generated items keyed by id, with the model's vocabulary in a different order.
    func ratings(_ rows: [(user: Int, item: Int, rating: Float)]) throws -> Ratings {
        var raw = RawRatings()
        raw.name = "planted"
        var users: [Int: Int32] = [:], items: [Int: Int32] = [:]
        for (u, i, r) in rows {
            if users[u] == nil { users[u] = Int32(raw.userIds.count); raw.userIds.append(String(u)) }
            if items[i] == nil { items[i] = Int32(raw.itemIds.count); raw.itemIds.append(String(i)) }
            raw.user.append(users[u]!)
            raw.item.append(items[i]!)
            raw.rating.append(r)
            raw.timestamp.append(0)
        }
        return try Ratings(raw, itemKey: .id)
    }

    /// Item 1 has the lowest mean rating but the highest bias; item 2 the reverse:
    /// the ranking must follow the bias.
    func testRankingFollowsBiasNotMeanRating() throws {
        var meta = ModelMetadata()
        meta.itemKey = .id
        meta.itemKeys = ["#na#", "3", "2", "1"]          // not the data's order
        meta.itemLabels = ["#na#", "Three", "Two", "One"]
        let model = FactorModel(userFactors: nil, itemFactors: Matrix(rows: 4, cols: 1),
                                userBias: nil, itemBias: [0, 0.1, -0.8, 0.9], meta: meta)
        let data = try ratings([(1, 1, 1), (2, 1, 2), (1, 2, 5), (2, 2, 5), (3, 2, 4), (1, 3, 3)])
        let catalog = try Catalog(model: model, ratings: data)
        let (lowest, highest) = BiasRanking.rank(biases: model.itemBias!, catalog: catalog, rows: Array(catalog.rows), bottom: 1, top: 1)
        XCTAssertEqual(lowest.first?.label, "Two")
        XCTAssertEqual(lowest.first?.meanRating ?? 0, 14.0 / 3, accuracy: 1e-6)
        XCTAssertEqual(lowest.first?.count, 3)
        XCTAssertEqual(highest.first?.label, "One")
        XCTAssertEqual(highest.first?.meanRating ?? 0, 1.5, accuracy: 1e-6)
        XCTAssertEqual(highest.first?.count, 2)
        // Without ratings the mean is unknown, not zero.
        XCTAssertNil(try Catalog(model: model).meanRating(1))
        // --min-ratings 3 leaves only "Two".
        XCTAssertEqual(try catalog.rows(minRatings: 3), [2])
    }

    func testKnownUserPredictionsAreTheModels() throws {
        let model = Generated.model()
        let predictions = Recommender.predictions(model, for: try Recommender.user(5, of: model))
        for i in 1..<model.itemCount { XCTAssertEqual(predictions[i], model.predict(user: 5, item: i), accuracy: 1e-5) }
        let best = Recommender.best(predictions, rows: Array(1..<model.itemCount), excluded: [3, 4], count: 5)
        XCTAssertFalse(best.contains { [3, 4].contains($0.row) })
        XCTAssertEqual(best.map(\.predictedRating), best.map(\.predictedRating).sorted(by: >))
    }

    /// The fold-in solves the ridge normal equations; checked against a
    /// closed-form 2×2 solve for one factor (unknowns w and δ).
    func testFoldInSolvesTheRidgeProblem() throws {
        var meta = ModelMetadata()
        meta.yRange = .init(low: 0, high: 5.5)
        let q: [Float] = [0, 1.5, -0.5, 0.8], b: [Float] = [0, 0.2, -0.1, 0.4]
        let model = FactorModel(userFactors: nil, itemFactors: Matrix(rows: 4, cols: 1, data: q),
                                userBias: nil, itemBias: b, meta: meta)
        let lambda = 0.5
        let v = try Recommender.foldIn(model, liked: [1, 3], disliked: [2], ridge: lambda)
        func logit(_ p: Double) -> Double { log(p / (1 - p)) }
        let y = [(1, logit(0.9)), (3, logit(0.9)), (2, logit(0.2))].map { (Double(q[$0.0]), $0.1 - Double(b[$0.0])) }
        // Normal equations [[Σq²+λ, Σq], [Σq, n+λ]]·[w, δ] = [Σq·y, Σy].
        let a11 = y.map { $0.0 * $0.0 }.reduce(0, +) + lambda, a12 = y.map(\.0).reduce(0, +), a22 = Double(y.count) + lambda
        let r1 = y.map { $0.0 * $0.1 }.reduce(0, +), r2 = y.map(\.1).reduce(0, +)
        let det = a11 * a22 - a12 * a12
        XCTAssertEqual(Double(v.factors[0]), (r1 * a22 - a12 * r2) / det, accuracy: 1e-5)
        XCTAssertEqual(Double(v.bias), (a11 * r2 - a12 * r1) / det, accuracy: 1e-5)
    }

    func testLikingAnItemPullsTowardsItsDirection() throws {
        let model = Generated.model(items: 80, factors: 8)
        let liked = 17
        let v = try Recommender.foldIn(model, liked: [liked], disliked: [], ridge: 1)
        // With one title the ridge solution lies along that item's vector.
        let q = Array(model.itemFactors.row(liked))
        func dot(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        let cos = dot(v.factors, q) / (dot(v.factors, v.factors) * dot(q, q)).squareRoot()
        XCTAssertEqual(cos, 1, accuracy: 1e-4)
    }
}

final class CatalogTests: XCTestCase {
    func testMostRatedBreaksTiesByLabel() throws {
        var meta = ModelMetadata()
        meta.itemKeys = ["#na#", "b", "a", "c", "d"]
        meta.itemLabels = meta.itemKeys
        meta.itemCounts = [0, 5, 5, 9, 1]
        let model = FactorModel(userFactors: nil, itemFactors: Matrix(rows: 5, cols: 2), userBias: nil, itemBias: nil, meta: meta)
        let catalog = try Catalog(model: model)
        XCTAssertEqual(catalog.mostRated(3), [3, 2, 1])
        XCTAssertEqual(catalog.rows, 1..<5)
    }

    /// With many ties at every count, the first n of the whole order (count
    /// descending, then label), for every n including ones cutting through a tie.
    func testMostRatedIsThePrefixOfTheWholeOrder() throws {
        var rng = SplitMix64(seed: 3)
        var meta = ModelMetadata()
        meta.itemKeys = ["#na#"] + (1..<400).map { _ in "t\(rng.next() % 1000)-\(rng.next() % 7)" }
        meta.itemKeys = Array(Set(meta.itemKeys.dropFirst())).sorted().shuffled(using: &rng)
        meta.itemKeys.insert("#na#", at: 0)
        meta.itemLabels = meta.itemKeys
        meta.itemCounts = [0] + (1..<meta.itemKeys.count).map { _ in Int(rng.next() % 12) }
        let items = meta.itemKeys.count
        let model = FactorModel(userFactors: nil, itemFactors: Matrix(rows: items, cols: 2), userBias: nil, itemBias: nil, meta: meta)
        let catalog = try Catalog(model: model)
        let whole = (1..<items).sorted { a, b in
            meta.itemCounts[a] != meta.itemCounts[b] ? meta.itemCounts[a] > meta.itemCounts[b] : Array(meta.itemLabels[a].unicodeScalars.map(\.value)).lexicographicallyPrecedes(meta.itemLabels[b].unicodeScalars.map(\.value))
        }
        for n in [0, 1, 2, 17, 100, items - 2, items - 1, items + 5] {
            XCTAssertEqual(catalog.mostRated(n), Array(whole.prefix(n)), "n = \(n)")
        }
    }

    func testMovieLensCountsMatchTheModelsVocabulary() throws { try checkCountsFollowKeys(.ml100k()) }
    func testSyntheticCountsMatchTheModelsVocabulary() throws { try checkCountsFollowKeys(.synthetic()) }

    /// Counts, means and genres reach a model's rows by key, whatever the rows' order.
    func checkCountsFollowKeys(_ d: LayoutDataset) throws {
        let data = try DatasetLoader.load(path: d.folder, itemKey: .title)
        // A model with ml-100k's vocabulary, rows reversed relative to the data's.
        var meta = ModelMetadata(ratings: data)
        let order = [0] + Array((1..<data.items.count).reversed())
        meta.itemKeys = order.map { data.items.labels[$0] }
        meta.itemLabels = order.map { data.itemLabels[$0] }
        meta.itemCounts = []
        meta.itemGenres = []
        let model = FactorModel(userFactors: nil, itemFactors: Matrix(rows: order.count, cols: 2), userBias: nil, itemBias: nil, meta: meta)
        let catalog = try Catalog(model: model, ratings: data)
        let star = try XCTUnwrap(catalog.labels.firstIndex(of: d.star.title))
        XCTAssertEqual(catalog.count(star), d.star.ratings)
        XCTAssertEqual(Double(catalog.meanRating(star) ?? 0), d.star.mean, accuracy: 1e-3)
        XCTAssertEqual(catalog.genres?[star], d.star.genres)
    }
}

func zip3<A, B, C>(_ a: [A], _ b: [B], _ c: [C]) -> [(A, B, C)] {
    (0..<min(a.count, b.count, c.count)).map { (a[$0], b[$0], c[$0]) }
}
