@testable import EmbeddingAnalysis
@testable import EmbeddingCore
@testable import EmbeddingLinalg
@testable import EmbeddingRender
import Foundation
import XCTest

/// The item-map layer every layout shares, and custom axes, on small models
/// whose answers are worked out here another way (by hand, in Double).
final class MapsItemMapTests: XCTestCase {
    /// Row 0 is `#na#`; five items with counts, genres and 3 factors.
    func model(counts: [Int]? = [0, 50, 80, 80, 10, 5]) -> FactorModel {
        var meta = ModelMetadata()
        meta.itemKeys = [Vocabulary.missing, "Spider-Man (2002)", "Alien (1979)", "Aliens (1986)", "Brazil (1985)", "Amélie (2001)"]
        meta.itemLabels = meta.itemKeys
        meta.itemCounts = counts ?? []
        meta.itemGenres = [[], ["Action", "Adventure"], ["Horror", "Sci-Fi"], ["Action", "Sci-Fi"], ["Sci-Fi", "Comedy"], ["Comedy", "Romance"]]
        let v: [Float] = [0, 0, 0,
                          1, 2, 0,
                          0, 1, 3,
                          1, 1, 2,
                          -2, 0, 1,
                          0.5, -1, 0]
        return FactorModel(userFactors: nil, itemFactors: Matrix(rows: 6, cols: 3, data: v), userBias: nil, itemBias: nil, meta: meta)
    }

    func testMostRatedBreaksTiesByLabelAndSaysWhatWasChosen() throws {
        let catalog = try Catalog(model: model())
        let chosen = try ChosenItems.choose(.mostRated(3), from: catalog)
        // 80, 80 (Alien before Aliens in code-point order), then 50.
        XCTAssertEqual(chosen.rows, [2, 3, 1])
        XCTAssertEqual(chosen.description, "the 3 most-rated of 5 items")
        XCTAssertEqual(try ChosenItems.choose(.mostRated(9), from: catalog).description, "all 5 items")
        XCTAssertEqual(try ChosenItems.choose(.all, from: catalog).rows, [1, 2, 3, 4, 5])
    }

    func testWithoutCountsTheDefaultFallsBackAndAnExplicitRankingIsRefused() throws {
        let catalog = try Catalog(model: model(counts: nil))
        let fallback = try ChosenItems.choose(nil, from: catalog)
        XCTAssertEqual(fallback.rows, [1, 2, 3, 4, 5])
        XCTAssertNotNil(fallback.note)
        XCTAssertThrowsError(try ChosenItems.choose(.mostRated(2), from: catalog)) { XCTAssertEqual($0 as? ItemMapError, .noCounts) }
    }

    func testColouringByFirstGenreAndByOneGenre() throws {
        let catalog = try Catalog(model: model())
        let rows = [1, 2, 3, 4, 5]
        // First genres: Action, Horror, Action, Sci-Fi, Comedy -> Action is most frequent, the rest tie by name.
        let first = try ItemColouring(.firstGenre, rows: rows, catalog: catalog, maxGroups: 2)
        XCTAssertEqual(first.names, ["Action", "Comedy"])
        XCTAssertEqual(first.group, [0, nil, 0, nil, 1])
        let scifi = try ItemColouring(.genre("sci-fi"), rows: rows, catalog: catalog)
        XCTAssertEqual(scifi.names, ["Sci-Fi"])
        XCTAssertEqual(scifi.group, [nil, 0, 0, 0, nil])
        XCTAssertThrowsError(try ItemColouring(.genre("Western"), rows: rows, catalog: catalog))
        XCTAssertEqual(ItemColouring.Scheme("genre:Film-Noir"), .genre("Film-Noir"))
        XCTAssertNil(ItemColouring.Scheme("bias"))
    }

    /// x_i = v_i · d / ‖d‖, computed here in Double from the raw numbers.
    func expectedProjection(_ m: FactorModel, _ d: [Double], rows: [Int]) -> [Double] {
        let norm = d.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return rows.map { r in (0..<3).reduce(0.0) { $0 + Double(m.itemFactors[r, $1]) * d[$1] } / norm }
    }

    func testAxesProjectOnTheNormalisedDirection() throws {
        let m = model()
        let catalog = try Catalog(model: m)
        let rows = [1, 2, 3, 4, 5]
        let vectors = m.itemFactors.gathering(rows)

        // A title holding a hyphen resolves whole, not as a difference.
        let spider = try CustomAxis.parse("spider-man", vectors: m.itemFactors, catalog: catalog)
        XCTAssertEqual(spider.plus, .item(row: 1))
        XCTAssertNil(spider.minus)
        for (got, want) in zip(spider.project(vectors), expectedProjection(m, [1, 2, 0], rows: rows)) { XCTAssertEqual(Double(got), want, accuracy: 1e-6) }

        // A difference: from Brazil to Alien.
        let diff = try CustomAxis.parse("Alien (1979)-Brazil", vectors: m.itemFactors, catalog: catalog)
        XCTAssertEqual(diff.plus, .item(row: 2))
        XCTAssertEqual(diff.minus, .item(row: 4))
        XCTAssertEqual(diff.name, "Alien (1979) − Brazil (1985)")
        for (got, want) in zip(diff.project(vectors), expectedProjection(m, [2, 1, 2], rows: rows)) { XCTAssertEqual(Double(got), want, accuracy: 1e-6) }

        // A genre is the centroid of its items: Sci-Fi = rows 2, 3, 4; Comedy = rows 4, 5.
        let genres = try CustomAxis.parse("genre:Sci-Fi-genre:comedy", vectors: m.itemFactors, catalog: catalog)
        XCTAssertEqual(genres.plus, .genre("Sci-Fi"))
        XCTAssertEqual(genres.minus, .genre("Comedy"))
        let scifi: [Double] = [-1.0 / 3, 2.0 / 3, 6.0 / 3]   // (0+1-2, 1+1+0, 3+2+1) / 3
        let comedy: [Double] = [-0.75, -0.5, 0.5]          // (-2+0.5, 0-1, 1+0) / 2
        for (got, want) in zip(genres.project(vectors), expectedProjection(m, zip(scifi, comedy).map { $0 - $1 }, rows: rows)) {
            XCTAssertEqual(Double(got), want, accuracy: 1e-6)
        }
    }

    func testAxesRefuseWhatTheyCannotResolve() throws {
        let m = model()
        let catalog = try Catalog(model: m)
        // "Ali" is ambiguous (a prefix of Alien and Aliens), so no split resolves; "Alien" alone is exact.
        XCTAssertEqual(try CustomAxis.parse("Alien-Brazil", vectors: m.itemFactors, catalog: catalog).plus, .item(row: 2))
        XCTAssertThrowsError(try CustomAxis.parse("Ali-Brazil", vectors: m.itemFactors, catalog: catalog)) { error in
            XCTAssertEqual((error as? EmbtoolError)?.exitCode, 65)
        }
        XCTAssertThrowsError(try CustomAxis.parse("genre:Western", vectors: m.itemFactors, catalog: catalog))
        // The same item twice has no direction.
        XCTAssertThrowsError(try CustomAxis.parse("Brazil-Brazil", vectors: m.itemFactors, catalog: catalog))
    }

    func testMapCSVReadsBackAndTheSVGEscapesLabels() throws {
        var m = model()
        m.meta.itemLabels[5] = "<b>\"Amélie\", & co</b>"
        let catalog = try Catalog(model: m)
        let chosen = try ChosenItems.choose(.all, from: catalog)
        let xs: [Float] = [0.5, -1.25, 3e-7, 2, -0.1], ys: [Float] = [1, 2, 3, 4, 5]
        let map = ItemMap(layoutName: "test", chosen: chosen, catalog: catalog, x: xs, y: ys,
                          xAxis: .init(name: "x", title: "X"), yAxis: .init(name: "y", title: "Y"), dataset: "d", labelCount: 5)
        let text = String(decoding: map.csvTable.bytes, as: UTF8.self)
        let lines = text.split(separator: "\n")
        XCTAssertEqual(lines.first, "label,count,x,y")
        XCTAssertEqual(lines.count, 6)
        XCTAssertEqual(lines[5], "\"<b>\"\"Amélie\"\", & co</b>\",5,-0.1,5.0")
        XCTAssertEqual(Float(lines[3].split(separator: ",")[2]), 3e-7)
        let svg = map.scatterPlot(title: "t").render().svg
        XCTAssertFalse(svg.contains("<b>"))
        XCTAssertTrue(svg.contains("&lt;b&gt;"))
    }
}
