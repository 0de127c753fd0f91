@testable import EmbeddingAnalysis
import EmbeddingCore
import EmbeddingFormats
@testable import EmbeddingLinalg
import EmbeddingTrain
import Foundation
import XCTest

/// `embtool compare`: Procrustes and the comparison's measures against facts
/// that hold by construction.
final class ModelComparisonTests: XCTestCase {
    /// A Haar-random k × k orthogonal matrix: the Q of a QR (modified
    /// Gram–Schmidt, in double) of a Gaussian matrix; Gram–Schmidt's R has a
    /// positive diagonal, the sign convention that makes Q Haar (Mezzadri 2007). Row-major.
    static func randomOrthogonal(_ k: Int, seed: UInt64) -> [Double] {
        var rng = SplitMix64(seed: seed)
        var columns = (0..<k).map { _ in (0..<k).map { _ in rng.nextNormal() } }
        for j in 0..<k {
            for i in 0..<j {
                let d = zip(columns[i], columns[j]).reduce(0) { $0 + $1.0 * $1.1 }
                for t in 0..<k { columns[j][t] -= d * columns[i][t] }
            }
            let norm = columns[j].reduce(0) { $0 + $1 * $1 }.squareRoot()
            for t in 0..<k { columns[j][t] /= norm }
        }
        var q = [Double](repeating: 0, count: k * k)
        for r in 0..<k { for c in 0..<k { q[r * k + c] = columns[c][r] } }
        return q
    }

    /// The copy a careful user would compare against: item factors times a
    /// random orthogonal G (users alike, so the predictions stay), rows in
    /// another order with their labels, counts and biases, and the `#na#` row
    /// moved off the top.
    static func rotatedShuffledCopy(_ model: FactorModel, seed: UInt64) -> FactorModel {
        let k = model.factors, n = model.itemCount
        let g = randomOrthogonal(k, seed: seed)
        func rotate(_ m: Matrix) -> Matrix {
            var out = [Float](repeating: 0, count: m.rows * k)
            for r in 0..<m.rows {
                for c in 0..<k {
                    var s = 0.0
                    for t in 0..<k { s += Double(m.data[r * k + t]) * g[t * k + c] }
                    out[r * k + c] = Float(s)
                }
            }
            return Matrix(rows: m.rows, cols: k, data: out)
        }
        var rng = SplitMix64(seed: seed + 1)
        var order = Array(0..<n)
        order.shuffle(using: &rng)
        var copy = model
        copy.itemFactors = rotate(model.itemFactors).rows(order)
        copy.userFactors = model.userFactors.map(rotate)
        copy.itemBias = model.itemBias.map { b in order.map { b[$0] } }
        copy.meta.itemKeys = order.map { model.meta.itemKeys[$0] }
        copy.meta.itemLabels = order.map { model.meta.itemLabels[$0] }
        copy.meta.itemCounts = model.meta.itemCounts.isEmpty ? [] : order.map { model.meta.itemCounts[$0] }
        copy.meta.itemGenres = model.meta.itemGenres.isEmpty ? [] : order.map { model.meta.itemGenres[$0] }
        return copy
    }

    func trainedModel(_ dataset: LayoutDataset, seed: UInt64 = 42) throws -> FactorModel {
        let ratings = try DatasetLoader.load(path: dataset.folder, itemKey: .title)
        var config = TrainConfig()
        config.seed = seed
        config.epochs = 3
        var model = try Trainer.train(ratings, valid: nil, config: config).factors
        model.meta.itemCounts = ratings.itemCounts()
        return model
    }

    func assertSameModel(_ model: FactorModel, file: StaticString = #filePath, line: UInt = #line) throws {
        let copy = Self.rotatedShuffledCopy(model, seed: 2024)
        XCTAssertNotEqual(copy.meta.itemKeys, model.meta.itemKeys, "the copy is reordered", file: file, line: line)
        let rows = Array(model.meta.firstItemRow..<model.itemCount)
        let c = try ModelComparison(model, copy, rowsA: rows, top: 10)
        XCTAssertEqual(c.items.count, rows.count, file: file, line: line)
        XCTAssertLessThanOrEqual(c.procrustesResidual, 1e-5, file: file, line: line)
        XCTAssertEqual(c.overlapMean, 1.0, file: file, line: line)
        XCTAssertEqual(c.histogram.last?.items, rows.count, file: file, line: line)
        XCTAssertEqual(try XCTUnwrap(c.biasSpearman, file: file, line: line), 1.0, accuracy: 1e-12, file: file, line: line)
        XCTAssertEqual(c.axisAgreement.count, 3, file: file, line: line)
        for cosine in c.axisAgreement { XCTAssertEqual(cosine, 1.0, accuracy: 1e-4, file: file, line: line) }
        // Every item found its own row in the copy.
        for item in c.items {
            XCTAssertEqual(copy.meta.itemKeys[item.rowB], model.meta.itemKeys[item.rowA], file: file, line: line)
        }
    }

    func testRotatedReorderedCopyIsTheSameModelSynthetic() throws {
        try assertSameModel(try trainedModel(try LayoutDataset.synthetic()))
    }

    func testRotatedReorderedCopyIsTheSameModelML100k() throws {
        try assertSameModel(try trainedModel(try LayoutDataset.ml100k()))
    }

    /// Procrustes recovers a known rotation (R = Gᵀ), and with a reflection.
    func testProcrustesRecoversAKnownRotation() throws {
        let n = 200, k = 6
        var rng = SplitMix64(seed: 9)
        let a = Matrix(rows: n, cols: k, data: (0..<(n * k)).map { _ in rng.nextGaussian() })
        var g = Self.randomOrthogonal(k, seed: 3)
        for r in 0..<k { g[r * k] = -g[r * k] }  // a reflection too: det −1
        var b = Matrix(rows: n, cols: k)
        for r in 0..<n { for c in 0..<k { b[r, c] = Float((0..<k).reduce(0.0) { $0 + Double(a[r, $1]) * g[$1 * k + c] }) } }
        let p = try Procrustes(target: a, source: b)
        for r in 0..<k { for c in 0..<k { XCTAssertEqual(p.rotation[r * k + c], g[c * k + r], accuracy: 1e-6) } }
        XCTAssertLessThan(p.relativeResidual, 1e-6)
    }

    /// Ranks differ: A = Q·D (orthonormal columns Q, diagonal D), B = A's first
    /// 3 of 5 columns. B zero-padded is best left where it is, and the residual
    /// is what it leaves out: √(d₄² + d₅²) / √(Σ dⱼ²).
    func testProcrustesOfANarrowerModelLeavesOutTheMissingColumns() throws {
        let n = 5, k = 5, d: [Double] = [5, 4, 3, 2, 1]
        let q = Self.randomOrthogonal(n, seed: 11)
        let a = Matrix(rows: n, cols: k, data: (0..<(n * k)).map { Float(q[$0] * d[$0 % k]) })
        var aModel = FactorModel(userFactors: nil, itemFactors: a, userBias: nil, itemBias: nil, meta: ModelMetadata())
        aModel.meta.itemKeys = (0..<n).map { "item \($0)" }
        var bModel = aModel
        bModel.itemFactors = Matrix(rows: n, cols: 3, data: (0..<n).flatMap { r in (0..<3).map { a[r, $0] } })
        let c = try ModelComparison(aModel, bModel, rowsA: Array(0..<n), top: 2, components: 0)
        XCTAssertEqual(c.factorsB, 3)
        XCTAssertEqual(c.procrustesResidual, (5.0 / 55).squareRoot(), accuracy: 1e-6)
        XCTAssertNil(c.biasSpearman)
    }

    /// scipy.stats.spearmanr([1, 2, 2, 3], [1, 3, 2, 4]) = 0.9486832980505138 (average ranks for ties).
    func testSpearmanAsSciPy() {
        XCTAssertEqual(ModelComparison.spearman([1, 2, 2, 3], [1, 3, 2, 4]), 0.9486832980505138, accuracy: 1e-12)
        XCTAssertEqual(ModelComparison.spearman([1, 2, 3, 4], [40, 30, 20, 10]), -1, accuracy: 1e-12)
        XCTAssertTrue(ModelComparison.spearman([1, 1, 1], [1, 2, 3]).isNaN)
    }

    /// Jaccard of two top-k sets is s/(2k − s) for s shared: the histogram's
    /// buckets are those values, and two models that share nothing score 0.
    func testOverlapIsJaccardOfTheTwoNeighbourSets() throws {
        // Four items on two axes. In A, 0~1 and 2~3 are close; in B, 0~2 and 1~3.
        var a = FactorModel(userFactors: nil, itemFactors: Matrix(rows: 4, cols: 2, data: [1, 0, 0.9, 0.1, 0, 1, 0.1, 0.9]),
                            userBias: nil, itemBias: nil, meta: ModelMetadata())
        a.meta.itemKeys = ["w", "x", "y", "z"]
        var b = a
        b.itemFactors = Matrix(rows: 4, cols: 2, data: [1, 0, 0, 1, 0.9, 0.1, 0.1, 0.9])
        let c = try ModelComparison(a, b, rowsA: [0, 1, 2, 3], top: 1, components: 0)
        XCTAssertEqual(c.items.map(\.overlap), [0, 0, 0, 0])
        XCTAssertEqual(c.histogram, [.init(shared: 0, jaccard: 0, items: 4), .init(shared: 1, jaccard: 1, items: 0)])
        XCTAssertEqual(c.items[0].onlyInA, [1])
        XCTAssertEqual(c.items[0].onlyInB, [2])
    }

    func testTooFewItemsInCommonIsADataError() throws {
        var a = FactorModel(userFactors: nil, itemFactors: Matrix(rows: 3, cols: 2, repeating: 1), userBias: nil, itemBias: nil, meta: ModelMetadata())
        a.meta.itemKeys = ["1", "2", "3"]
        var b = a
        b.meta.itemKeys = ["3", "4", "5"]
        XCTAssertThrowsError(try ModelComparison(a, b, rowsA: [0, 1, 2], top: 1)) { error in
            XCTAssertEqual((error as? EmbtoolError)?.exitCode, 65)
        }
    }
}
