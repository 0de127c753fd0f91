@testable import EmbeddingCore
@testable import EmbeddingAnalysis
import Foundation
import XCTest

/// Pearson's r of an axis with item features, against cases whose r is known
/// in closed form. `Tests/python/test_axis_correlates.py` checks the commands
/// against NumPy on exported coordinates.
final class AxisCorrelatesTests: XCTestCase {
    func testAffineFunctionsOfAFeatureGiveExactlyPlusOrMinusOne() throws {
        var rng = SplitMix64(seed: 3)
        let f = (0..<500).map { _ in Double(rng.nextGaussian()) }
        let up = f.map { Float(2.5 * $0 + 7) }, down = f.map { Float(-0.3 * $0 - 1) }
        XCTAssertEqual(try XCTUnwrap(AxisCorrelates.pearson(up, f)), 1, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(AxisCorrelates.pearson(down, f)), -1, accuracy: 1e-6)
    }

    func testAFeatureOrthogonalByConstructionGivesZero() throws {
        // x alternates +1, −1; f is +1 on the first half and −1 on the second: Σ(x−x̄)(f−f̄) = 0 exactly.
        let n = 400
        let x = (0..<n).map { Float($0 % 2 == 0 ? 1 : -1) }
        let f = (0..<n).map { $0 < n / 2 ? 1.0 : -1.0 }
        XCTAssertEqual(try XCTUnwrap(AxisCorrelates.pearson(x, f)), 0, accuracy: 1e-12)
    }

    func testAGenreThatSplitsTheAxisInTwoPointsGivesTheKnownPointBiserialR() throws {
        // The genre on a quarter of the items, x = genre + a ±1 balanced within and
        // outside the genre: cov(x, g) = p(1−p), var x = p(1−p) + 1, so
        // r = √(p(1−p)) / √(p(1−p) + 1) with p = 1/4.
        let n = 400
        let genre = (0..<n).map { $0 % 4 == 0 ? 1.0 : 0.0 }
        let noise = (0..<n).map { ($0 / 4) % 2 == 0 ? 1.0 : -1.0 }   // equal ±1 within and outside the genre
        let x = zip(genre, noise).map { Float($0 + $1) }
        let p = 0.25
        XCTAssertEqual(try XCTUnwrap(AxisCorrelates.pearson(x, genre)), (p * (1 - p)).squareRoot() / (p * (1 - p) + 1).squareRoot(),
                       accuracy: 1e-9)
    }

    func testUnknownValuesAreLeftOutAndDegenerateCasesHaveNoR() throws {
        let x: [Float] = [1, 2, 3, 100, 4]
        let f: [Double] = [2, 4, 6, .nan, 8]
        XCTAssertEqual(try XCTUnwrap(AxisCorrelates.pearson(x, f)), 1, accuracy: 1e-12, "the NaN row is left out")
        XCTAssertNil(AxisCorrelates.pearson([1, 2, 3], [5, 5, 5]), "constant feature")
        XCTAssertNil(AxisCorrelates.pearson([1, 2, 3, 4], [1, 2, .nan, .nan]), "fewer than 3 known")
    }

    func testFeaturesOfAGeneratedModel() throws {
        let model = Generated.model(items: 60)
        let catalog = try Catalog(model: model)
        let rows = Array(catalog.rows)
        let features = ItemFeatures(rows: rows, catalog: catalog, itemBias: model.itemBias)
        // No ratings attached: no mean rating; genres, year, log_count and bias are there.
        XCTAssertEqual(features.names, ["genre:Action", "genre:Comedy", "genre:Drama", "genre:Horror", "year", "log_count", "bias"])
        let yearColumn = features.values[features.names.firstIndex(of: "year")!]
        XCTAssertEqual(yearColumn, rows.map { Double(1950 + $0 % 50) })
        // An axis that is the bias itself follows the bias with r = 1, and leads the list.
        let axis = rows.map { model.itemBias![$0] }
        let correlates = AxisCorrelates.correlates(of: axis, with: features)
        XCTAssertEqual(correlates.first?.feature, "bias")
        XCTAssertEqual(correlates.first?.r ?? 0, 1, accuracy: 1e-6)
        XCTAssertEqual(correlates.map { abs($0.r) }, correlates.map { abs($0.r) }.sorted(by: >))
    }

    func testYearIsTheLastFourDigitsInParentheses() {
        XCTAssertEqual(ItemFeatures.year(in: "Star Wars (1977)"), 1977)
        XCTAssertEqual(ItemFeatures.year(in: "Title (1997) [id 42]"), 1997)
        XCTAssertEqual(ItemFeatures.year(in: "Crouching Tiger, Hidden Dragon (Wo hu cang long) (2000)"), 2000)
        XCTAssertNil(ItemFeatures.year(in: "No year (19x7)"))
        XCTAssertNil(ItemFeatures.year(in: "(12)"))
    }

    func testTheAxisTitleCarriesNumbersOnly() {
        let axis = ItemMap.Axis(name: "PC1", title: "PC1 (23.1 % of variance)",
                                correlates: [.init(feature: "genre:Drama", r: 0.4149), .init(feature: "year", r: -0.381), .init(feature: "bias", r: 0.1)])
        XCTAssertEqual(axis.annotatedTitle, "PC1 (23.1 % of variance) · genre:Drama r=+0.41, year r=−0.38")
    }
}
