@testable import EmbeddingCore
@testable import EmbeddingLinalg
@testable import EmbeddingAnalysis
import Foundation
import XCTest

/// Point sets with known structure for the map tests.
enum Planted {
    /// `count` points on a `latent`-dimensional linear manifold in `dims`
    /// dimensions: Gaussian latent coordinates times a fixed random map, plus
    /// noise of standard deviation `noise`. Neighbourhoods are those of the
    /// latent space, so an approximate search has real structure to find.
    static func manifold(_ count: Int, latent: Int, dims: Int, noise: Float = 0.05, seed: UInt64) -> Matrix {
        var rng = SplitMix64(seed: seed)
        let map = (0..<(latent * dims)).map { _ in rng.nextGaussian() }
        var data = [Float](repeating: 0, count: count * dims)
        for i in 0..<count {
            let z = (0..<latent).map { _ in rng.nextGaussian() }
            for j in 0..<dims {
                var s: Float = 0
                for l in 0..<latent { s += z[l] * map[l * dims + j] }
                data[i * dims + j] = s + noise * rng.nextGaussian()
            }
        }
        return Matrix(rows: count, cols: dims, data: data)
    }

    /// Two Gaussian clusters of `perCluster` points each (unit spread) whose
    /// centres are `separation` apart along the first axis; cluster of row i is `i / perCluster`.
    static func twoClusters(_ perCluster: Int, dims: Int, separation: Float, seed: UInt64) -> Matrix {
        var rng = SplitMix64(seed: seed)
        var data = [Float](repeating: 0, count: 2 * perCluster * dims)
        for i in 0..<(2 * perCluster) {
            for j in 0..<dims { data[i * dims + j] = rng.nextGaussian() }
            data[i * dims] += i < perCluster ? 0 : separation
        }
        return Matrix(rows: 2 * perCluster, cols: dims, data: data)
    }
}

/// Brute force in double precision, written from the definitions: the
/// independent truth the kNN graphs are checked against.
enum BruteForce {
    static func distance(_ x: Matrix, _ a: Int, _ b: Int, metric: SimilarityMetric) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0, sq = 0.0
        for j in 0..<x.cols {
            let u = Double(x[a, j]), v = Double(x[b, j])
            dot += u * v; na += u * u; nb += v * v; sq += (u - v) * (u - v)
        }
        return metric == .cosine ? 1 - dot / (na.squareRoot() * nb.squareRoot()) : sq.squareRoot()
    }

    /// Every point's k nearest others: (index, distance), nearest first.
    static func neighbours(_ x: Matrix, k: Int, metric: SimilarityMetric) -> [[(Int, Double)]] {
        (0..<x.rows).map { i in
            (0..<x.rows).filter { $0 != i }.map { ($0, distance(x, i, $0, metric: metric)) }
                .sorted { $0.1 < $1.1 }.prefix(k).map { $0 }
        }
    }
}

final class NearestNeighbourTests: XCTestCase {
    func testExactGraphMatchesBruteForce() throws {
        for metric in [SimilarityMetric.cosine, .euclidean] {
            let x = Generated.matrix(700, 12, seed: 3)
            let graph = try KNNGraph.build(x, k: 10, metric: metric, method: .exact, seed: 1, threads: 2, progress: nil)
            let truth = BruteForce.neighbours(x, k: 10, metric: metric)
            var mismatches = 0
            for i in 0..<x.rows {
                for j in 0..<10 {
                    XCTAssertEqual(Double(graph.distances[i * 10 + j]), truth[i][j].1, accuracy: 2e-5, "\(metric) row \(i) rank \(j)")
                    if Int(graph.indices[i * 10 + j]) != truth[i][j].0 { mismatches += 1 }
                }
            }
            // Random Gaussian data has no exact ties; float rounding may swap a near-tie or two.
            XCTAssertLessThanOrEqual(mismatches, 5, "\(metric)")
        }
    }

    func testNNDescentRecallOnPlantedManifold() throws {
        // 12,000 points on a 6-d manifold in 50-d: NN-descent must find at
        // least 95% of the true 15 neighbours (the exact graph, checked above).
        let x = Planted.manifold(12_000, latent: 6, dims: 50, seed: 11)
        for metric in [SimilarityMetric.cosine, .euclidean] {
            let exact = try KNNGraph.build(x, k: 15, metric: metric, method: .exact, seed: 1, threads: 2, progress: nil)
            let approx = try KNNGraph.build(x, k: 15, metric: metric, method: .nnDescent, seed: 1, threads: 2, progress: nil)
            let recall = approx.recall(against: exact)
            XCTAssertGreaterThanOrEqual(recall, 0.95, "\(metric) recall@15")
            // Found distances are true distances of the points named.
            for i in stride(from: 0, to: x.rows, by: 997) {
                for j in 0..<15 {
                    let d = BruteForce.distance(x, i, Int(approx.indices[i * 15 + j]), metric: metric)
                    XCTAssertEqual(Double(approx.distances[i * 15 + j]), d, accuracy: 1e-4 * max(1, d))
                    if j > 0 { XCTAssertLessThanOrEqual(approx.distances[i * 15 + j - 1], approx.distances[i * 15 + j]) }
                    XCTAssertNotEqual(Int(approx.indices[i * 15 + j]), i)
                }
            }
        }
    }

    func testNNDescentIsTheSameForAnyThreadCount() throws {
        let x = Planted.manifold(9_000, latent: 5, dims: 20, seed: 5)
        let one = try KNNGraph.build(x, k: 10, metric: .cosine, method: .nnDescent, seed: 9, threads: 1, progress: nil)
        let two = try KNNGraph.build(x, k: 10, metric: .cosine, method: .nnDescent, seed: 9, threads: 2, progress: nil)
        let three = try KNNGraph.build(x, k: 10, metric: .cosine, method: .nnDescent, seed: 9, threads: 3, progress: nil)
        XCTAssertEqual(one.indices, two.indices)
        XCTAssertEqual(one.distances, two.distances)
        XCTAssertEqual(one.indices, three.indices)
        let other = try KNNGraph.build(x, k: 10, metric: .cosine, method: .nnDescent, seed: 10, threads: 2, progress: nil)
        XCTAssertNotEqual(one.indices, other.indices, "the seed drives the search")
    }

    func testAutomaticSaysWhichMethodRan() throws {
        var messages: [String] = []
        _ = try KNNGraph.build(Generated.matrix(50, 4, seed: 1), k: 5, metric: .cosine, seed: 1, threads: 1) { messages.append($0) }
        XCTAssertTrue(messages.first?.contains("exact") ?? false, "\(messages)")
        messages = []
        let big = Generated.matrix(KNNGraph.exactLimit + 1, 4, seed: 1)
        _ = try KNNGraph.build(big, k: 5, metric: .cosine, seed: 1, threads: 2) { messages.append($0) }
        XCTAssertTrue(messages.first?.contains("NN-descent") ?? false, "\(messages)")
    }

    func testZeroVectorsAreEachOthersNeighboursUnderCosine() throws {
        // pynndescent's convention: two zero vectors at cosine distance 0, a
        // zero vector at 1 from any other. Rows 10…13 are zero.
        var x = Generated.matrix(60, 6, seed: 4)
        for i in 10..<14 { for j in 0..<6 { x[i, j] = 0 } }
        for method in [KNNMethod.exact, .nnDescent] {
            let g = try KNNGraph.build(x, k: 3, metric: .cosine, method: method, seed: 2, threads: 2, progress: nil)
            for i in 10..<14 {
                XCTAssertEqual(Set(g.indices[(i * 3)..<(i * 3 + 3)]), Set((10..<14).map(Int32.init)).subtracting([Int32(i)]), "\(method) row \(i)")
                XCTAssertEqual(Array(g.distances[(i * 3)..<(i * 3 + 3)]), [0, 0, 0])
            }
            for i in 0..<10 { XCTAssertFalse(g.indices[(i * 3)..<(i * 3 + 3)].contains { (10..<14).contains(Int($0)) }) }
        }
    }

    func testATinyVectorKeepsItsDirection() throws {
        // A row of 1e-25s squares below Float's range; cosine depends on
        // direction only, so its neighbours are those of the same row scaled up.
        var tiny = Generated.matrix(60, 6, seed: 4), large = tiny
        for j in 0..<6 { tiny[14, j] = j.isMultiple(of: 2) ? 1e-25 : -2e-25; large[14, j] = j.isMultiple(of: 2) ? 1 : -2 }
        let a = try KNNGraph.build(tiny, k: 5, metric: .cosine, method: .exact, seed: 2, threads: 2, progress: nil)
        let b = try KNNGraph.build(large, k: 5, metric: .cosine, method: .exact, seed: 2, threads: 2, progress: nil)
        XCTAssertEqual(a.indices, b.indices)
        for (da, db) in zip(a.distances, b.distances) { XCTAssertEqual(da, db, accuracy: 1e-6) }
        let scaled = SimilarityScan.neighbours(of: 14, in: tiny, candidates: Array(0..<60), metric: .cosine, top: 10)
        let reference = SimilarityScan.neighbours(of: 14, in: large, candidates: Array(0..<60), metric: .cosine, top: 10)
        XCTAssertEqual(scaled.map(\.row), reference.map(\.row))
        for (s, r) in zip(scaled, reference) { XCTAssertEqual(s.score, r.score, accuracy: 1e-6) }
        let all = SimilarityIndex(table: tiny, candidates: Array(0..<60), metric: .cosine).allNeighbours(top: 10, threads: 1)
        XCTAssertEqual(all.neighbours(ofPosition: 14).map(\.row), reference.map(\.row))
        // As a candidate, the same: a normal query's cosine with a vector of
        // subnormal floats (products below Float's normal range).
        var subnormal = large
        for j in 0..<6 { subnormal[14, j] = large[14, j] * 1e-44 }
        for query in [0, 3, 20] {
            let got = SimilarityScan.neighbours(of: query, in: subnormal, candidates: Array(0..<60), metric: .cosine, top: 59)
            let want = SimilarityScan.neighbours(of: query, in: large, candidates: Array(0..<60), metric: .cosine, top: 59)
            let g = got.first { $0.row == 14 }!.score, w = want.first { $0.row == 14 }!.score
            XCTAssertEqual(g, w, accuracy: 1e-5, "query \(query)")   // 1e-44 and -2e-44: 7 and -14 units, the same direction
        }
    }

    func testBadInputIsRefused() {
        var x = Generated.matrix(30, 4, seed: 2)
        x[17, 2] = .nan
        XCTAssertThrowsError(try KNNGraph.build(x, k: 5, metric: .cosine, seed: 1, threads: 1, progress: nil)) { error in
            XCTAssertEqual((error as? EmbtoolError)?.kind, .dataError)
            XCTAssertTrue("\(error)".contains("row 17"), "\(error)")
        }
        let few = Generated.matrix(5, 4, seed: 2)
        XCTAssertThrowsError(try KNNGraph.build(few, k: 5, metric: .cosine, seed: 1, threads: 1, progress: nil)) { error in
            XCTAssertEqual((error as? EmbtoolError)?.kind, .usage)
        }
        XCTAssertThrowsError(try KNNGraph.build(Generated.matrix(30, 4, seed: 2), k: 5, metric: .dot, seed: 1, threads: 1, progress: nil))
        XCTAssertThrowsError(try KNNGraph.build(Generated.matrix(30, 4, seed: 2), k: 0, metric: .cosine, seed: 1, threads: 1, progress: nil))
    }
}
