@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingLinalg
@testable import EmbeddingTrain
@testable import EmbeddingAnalysis
@testable import EmbeddingRender
import Foundation
import XCTest

final class DataSynthTests: XCTestCase {
    func testSmallShapeLoadsWithTheDeclaredCountsAndNoRepeats() throws {
        let dir = try TestData.scratch(self)
        let shape = SynthShape.mlLatestSmall.scaled(0.5)
        let files = try Synth(shape: shape, seed: 7).write(to: dir)
        XCTAssertEqual(files, [dir + "/ratings.csv", dir + "/movies.csv"])
        let raw = try DatasetLoader.loadRaw(path: dir)
        XCTAssertEqual(raw.format, .mlLatest)
        XCTAssertEqual(raw.count, shape.ratings)
        XCTAssertEqual(raw.userIds.count, shape.users)
        XCTAssertEqual(raw.itemIds.count, shape.items, "every movie is rated")
        XCTAssertEqual(raw.catalog.count, shape.items)
        // No (user, item) pair twice; rows sorted by user, then movie, as ml-25m is.
        let pairs = zip(raw.user, raw.item).map { (Int(raw.userIds[Int($0)])!, Int(raw.itemIds[Int($1)])!) }
        XCTAssertEqual(Set(pairs.map { $0.0 * 10_000_000 + $0.1 }).count, pairs.count)
        XCTAssertTrue(zip(pairs, pairs.dropFirst()).allSatisfy { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) })
        // Half stars from 0.5 to 5, at least minPerUser ratings each.
        XCTAssertTrue(raw.rating.allSatisfy { $0 >= 0.5 && $0 <= 5 && ($0 * 2).rounded() == $0 * 2 })
        var perUser = [Int: Int]()
        for p in pairs { perUser[p.0, default: 0] += 1 }
        XCTAssertGreaterThanOrEqual(perUser.values.min()!, shape.minPerUser)
        // Titles with commas and quotes survive the CSV round trip.
        XCTAssertTrue(raw.catalog.values.contains { $0.title.contains(", The (") })
        XCTAssertTrue(raw.catalog.values.contains { $0.title.hasPrefix("Say \"Movie ") })
    }

    func testSameSeedSameBytesOtherSeedOtherBytes() throws {
        let shape = SynthShape.ml100k.scaled(0.2)
        let a = try TestData.scratch(self), b = try TestData.scratch(self), c = try TestData.scratch(self)
        _ = try Synth(shape: shape, seed: 1).write(to: a)
        _ = try Synth(shape: shape, seed: 1).write(to: b)
        _ = try Synth(shape: shape, seed: 2).write(to: c)
        let read = { (dir: String) in try Data(contentsOf: URL(fileURLWithPath: dir + "/ratings.csv")) }
        XCTAssertEqual(try read(a), try read(b))
        XCTAssertNotEqual(try read(a), try read(c))
        // Whole stars for the ml-100k shape.
        let raw = try DatasetLoader.loadRaw(path: a)
        XCTAssertEqual(Set(raw.rating), [1, 2, 3, 4, 5])
    }

    /// The planted structure is visible in the data: items' mean ratings follow
    /// their planted biases (users average out over many ratings).
    func testPlantedBiasesShowInItemMeans() throws {
        let shape = SynthShape.ml1m.scaled(0.1)
        let synth = try Synth(shape: shape, seed: 3)
        let dir = try TestData.scratch(self)
        _ = try synth.write(to: dir)
        let r = try DatasetLoader.load(path: dir, itemKey: .id)
        let means = r.itemMeans(), counts = r.itemCounts()
        var xs: [Double] = [], ys: [Double] = []
        for (j, id) in synth.itemIds.enumerated() {
            let row = r.items.index(of: String(id))!
            if counts[row] >= 30 { xs.append(Double(synth.itemBias[j])); ys.append(Double(means[row])) }
        }
        XCTAssertGreaterThan(xs.count, 50)
        let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
        let cov = zip(xs, ys).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
        let corr = cov / (xs.reduce(0) { $0 + ($1 - mx) * ($1 - mx) } * ys.reduce(0) { $0 + ($1 - my) * ($1 - my) }).squareRoot()
        XCTAssertGreaterThan(corr, 0.6)
    }

    func testML25mShapeCountsAddUpExactly() throws {
        let shape = SynthShape.ml25m
        XCTAssertEqual([shape.users, shape.items, shape.ratings], [162_541, 59_047, 25_000_095])
        let counts = Synth.userCounts(shape: shape, cap: shape.items * 3 / 5, seed: 42)
        XCTAssertEqual(counts.count, shape.users)
        XCTAssertEqual(counts.reduce(0, +), shape.ratings)
        XCTAssertGreaterThanOrEqual(counts.min()!, shape.minPerUser)
        XCTAssertLessThanOrEqual(counts.max()!, shape.items * 3 / 5)
        // Power law: the busiest 1% of users give a large share of the ratings.
        let top = counts.sorted(by: >).prefix(shape.users / 100).reduce(0, +)
        XCTAssertGreaterThan(Double(top) / Double(shape.ratings), 0.1)
    }

    func testImpossibleShapesAreUsageErrors() {
        var s = SynthShape.ml100k
        s.ratings = s.users * s.items
        assertEmbtoolError(.usage, ["do not fit"]) { try Synth(shape: s, seed: 1) }
    }
}
