@testable import EmbeddingCore
@testable import EmbeddingTrain
import Foundation
import XCTest

/// `RatingModel`'s batch predictions for the dot-bias model.
final class RatingModelTests: XCTestCase {
    /// Against the formula written out here, summed in the plain order: the
    /// eight-lane batch must give the same bits, and -1 rows give NaN.
    func testBatchPredictionsAreTheFormulaBitForBit() {
        var rng = SplitMix64(seed: 5)
        let users = 9, items = 13, k = 11
        var meta = ModelMetadata()
        meta.yRange = .init(low: 0.5, high: 5)
        let model = FactorModel(userFactors: Matrix(rows: users, cols: k, data: (0..<(users * k)).map { _ in rng.nextGaussian() }),
                                itemFactors: Matrix(rows: items, cols: k, data: (0..<(items * k)).map { _ in rng.nextGaussian() }),
                                userBias: (0..<users).map { _ in rng.nextGaussian() }, itemBias: (0..<items).map { _ in rng.nextGaussian() },
                                meta: meta)
        let n = 203
        var u = (0..<n).map { _ in Int32(rng.next() % UInt64(users)) }, i = (0..<n).map { _ in Int32(rng.next() % UInt64(items)) }
        u[17] = -1
        i[100] = -1
        let batch = model.predict(users: u, items: i)
        for j in 0..<n {
            guard u[j] >= 0 && i[j] >= 0 else { XCTAssertTrue(batch[j].isNaN); continue }
            var dot: Float = 0
            for f in 0..<k { dot += model.userFactors![Int(u[j]), f] * model.itemFactors[Int(i[j]), f] }
            let x = dot + model.userBias![Int(u[j])] + model.itemBias![Int(i[j])]
            XCTAssertEqual(batch[j].bitPattern, (0.5 + (5 - 0.5) / (1 + expf(-x))).bitPattern, "rating \(j)")
        }
        XCTAssertEqual(Evaluation.score(predictions: batch, ratings: [Float](repeating: 3, count: n)).unknown, 2)
    }

    func testWithoutUserFactorsNothingIsPredicted() {
        let model = FactorModel(userFactors: nil, itemFactors: Matrix(rows: 2, cols: 1, data: [1, 2]), userBias: nil, itemBias: nil, meta: ModelMetadata())
        XCTAssertTrue(model.predict(users: [0, 1], items: [1, 0]).allSatisfy(\.isNaN))
        XCTAssertEqual(model.stateDict.map(\.name), ["i_weight.weight"])
    }
}
