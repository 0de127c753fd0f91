@testable import EmbeddingAnalysis
import CMapKernels
import XCTest

/// The C kernel of UMAP's layout epoch against the algorithm written plainly
/// (`UMAPReferenceLayout`): the same layout to the bit, on every vector
/// variant the CPU has and any number of threads.
final class UMAPKernelTests: XCTestCase {
    func testKernelMovesPointsAsTheReferenceDoes() throws {
        let x = Planted.twoClusters(150, dims: 6, separation: 4, seed: 3)
        let knn = try KNNGraph.build(x, k: 9, metric: .euclidean, method: .exact, seed: 1, threads: 1, progress: nil)
        let epochs = 40
        let graph = UMAP.prune(FuzzySimplicialSet.build(knn, threads: 1), epochs: epochs, points: x.rows)
        let start = UMAP.scaledToBox(UMAP.noisyScale(UMAP.pcaCoordinates(x), seed: 9))
        let layout = UMAPLayout(a: 1.577, b: 0.8951, epochs: epochs, seed: 17)
        let expected = UMAPReferenceLayout.optimise(start, graph: graph, layout: layout)
        XCTAssertNotEqual(expected, start)

        let supported = embtool_umap_level()
        defer { embtool_umap_set_level(supported) }
        for level in 0...supported {
            XCTAssertEqual(embtool_umap_set_level(level), level)
            for threads in [1, 2] {
                var positions = start
                layout.optimise(&positions, graph: graph, threads: threads)
                let differing = zip(positions, expected).filter { $0.bitPattern != $1.bitPattern }.count
                XCTAssertEqual(differing, 0, "variant \(level), \(threads) threads: coordinates unlike the reference's")
            }
        }
    }

    func testCoefficientTableFollowsTheGradient() {
        // c(d²) against the formulas in double precision: the pull −2ab·d^(2(b−1))/(1 + a·d^(2b)),
        // a push 2γb/((0.001 + d²)(1 + a·d^(2b))); a, b for min-dist 0.1, and another curve.
        for (a, b, gamma) in [(1.577, 0.8951, 1.0), (0.583, 1.334, 2.0)] as [(Double, Double, Double)] {
            var table = [Float](repeating: 0, count: Int(EMBTOOL_UMAP_TABLE_FLOATS))
            embtool_umap_coefficient_table(Float(a), Float(b), Float(gamma), &table)
            var worst = 0.0
            var d2 = 1e-8
            while d2 < 1e8 {
                let ap = a * pow(d2, b)
                let pull = -2 * a * b * pow(d2, b - 1) / (1 + ap), push = 2 * gamma * b / ((0.001 + d2) * (1 + ap))
                let readPull = Double(embtool_umap_coefficient(table, Float(d2), 1))
                let readPush = Double(embtool_umap_coefficient(table, Float(d2), 0))
                worst = max(worst, abs(readPull - pull) / abs(pull), abs(readPush - push) / push)
                d2 *= 1.0137  // not a multiple of the table's step
            }
            XCTAssertLessThan(worst, 1e-4, "a \(a), b \(b): largest relative error \(worst)")
            // Outside the table: coincident points and enormous distances give finite coefficients.
            for edge: Int32 in [0, 1] {
                XCTAssertTrue(embtool_umap_coefficient(table, 0, edge).isFinite)
                XCTAssertTrue(embtool_umap_coefficient(table, 1e30, edge).isFinite)
                XCTAssertLessThan(abs(embtool_umap_coefficient(table, 1e30, edge)), 1e-15)
            }
        }
    }

    func testHubWithManyNegativeSamplesGrowsTheScratch() throws {
        // A star: the hub's 119 edges are all due every epoch, so its pulls alone span
        // fifteen blocks of eight lanes and its 20 draws per edge hundreds more.
        let n = 120
        var rowStart = [0], columns: [Int32] = []
        columns += (1..<n).map { Int32($0) }
        rowStart.append(columns.count)
        for _ in 1..<n { columns.append(0); rowStart.append(columns.count) }
        let graph = SparseGraph(count: n, rowStart: rowStart, columns: columns, weights: [Float](repeating: 1, count: columns.count))
        var layout = UMAPLayout(a: 1.577, b: 0.8951, epochs: 12, seed: 2)
        layout.negativeRate = 20
        let start = (0..<(2 * n)).map { Float(($0 * 7919) % 101) / 10 }
        let expected = UMAPReferenceLayout.optimise(start, graph: graph, layout: layout)
        var positions = start
        layout.optimise(&positions, graph: graph, threads: 2)
        XCTAssertEqual(zip(positions, expected).filter { $0.bitPattern != $1.bitPattern }.count, 0)
        XCTAssertTrue(positions.allSatisfy(\.isFinite))
    }
}

/// UMAP's layout SGD as `UMAPLayout` documents it, lane by lane in scalar Swift:
/// in an epoch each point takes every gradient at its own position and the
/// others' where the previous epoch left them. An edge is due when
/// `UMAPLayout.isDue` says. The point's lanes are first one pull per due
/// edge (the edge's other end, weight 2), in edge order, then `negativeRate`
/// negative samples per due edge (weight 1; none from the point itself):
/// consecutive entries, wrapping, of the epoch's pool (draws 0, 1, … of a
/// stream keyed by the epoch), from an entry drawn for the point.
/// Lane L of every block of eight adds its clipped gradient into accumulator
/// L; the eight are summed (k with k + 4, then the pairs) and added times α.
/// The gradient's coefficient c(d²) is read from the kernel's table (checked
/// against the formulas in `testCoefficientTableFollowsTheGradient`).
enum UMAPReferenceLayout {
    static func optimise(_ start: [Float], graph: SparseGraph, layout: UMAPLayout) -> [Float] {
        let n = graph.count, a = layout.a, b = layout.b
        let frequency = UMAPLayout.sampleFrequency(graph.weights)
        let poolSize = min(max(n, LayoutState.smallestPool), LayoutState.largestPool)
        var table = [Float](repeating: 0, count: Int(EMBTOOL_UMAP_TABLE_FLOATS))
        embtool_umap_coefficient_table(a, b, layout.gamma, &table)
        var old = start
        for epoch in 0..<layout.epochs {
            let alpha = layout.initialAlpha * (1 - Float(epoch) / Float(layout.epochs))
            var new = old
            let poolKey = CounterHash.hash(layout.seed, 0x706F_6F6C, UInt64(epoch))
            let pool = (0..<poolSize).map { drawIndex(poolKey, UInt32($0), n) }
            for i in 0..<n {
                var pulls: [Int] = []
                for e in graph.rowStart[i]..<graph.rowStart[i + 1] where UMAPLayout.isDue(frequency: frequency[e], epoch: epoch) {
                    pulls.append(Int(graph.columns[e]))
                }
                let pushes = pulls.count * layout.negativeRate
                let key = CounterHash.hash(layout.seed, UInt64(i), UInt64(epoch))
                let start = Int((UInt64(UInt32(truncatingIfNeeded: key)) * UInt64(poolSize)) >> 32)
                let x = old[2 * i], y = old[2 * i + 1]
                var sumX = [Float](repeating: 0, count: 8), sumY = sumX
                for g in 0..<(pulls.count + pushes) {
                    let pull = g < pulls.count
                    let k = pull ? pulls[g] : pool[(start + g - pulls.count) % poolSize]
                    guard pull || k != i else { continue }
                    let dx = x - old[2 * k], dy = y - old[2 * k + 1]
                    let c = embtool_umap_coefficient(table, dx * dx + dy * dy, pull ? 1 : 0)
                    let w: Float = pull ? 2 : 1
                    sumX[g % 8] = sumX[g % 8] + w * min(max(c * dx, -4), 4)
                    sumY[g % 8] = sumY[g % 8] + w * min(max(c * dy, -4), 4)
                }
                func total(_ s: [Float]) -> Float { ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7])) }
                new[2 * i] = x + total(sumX) * alpha
                new[2 * i + 1] = y + total(sumY) * alpha
            }
            old = new
        }
        return old
    }

    /// Draw d of a stream: lowbias32((key_lo + d·0x9E3779B9) ^ key_hi), cut below n
    /// by Lemire's multiply-shift.
    static func drawIndex(_ key: UInt64, _ d: UInt32, _ n: Int) -> Int {
        var x = (d &* 0x9E37_79B9 &+ UInt32(truncatingIfNeeded: key)) ^ UInt32(truncatingIfNeeded: key >> 32)
        x ^= x >> 16
        x &*= 0x7FEB_352D
        x ^= x >> 15
        x &*= 0x846C_A68B
        x ^= x >> 16
        return Int((UInt64(x) * UInt64(n)) >> 32)
    }

}
