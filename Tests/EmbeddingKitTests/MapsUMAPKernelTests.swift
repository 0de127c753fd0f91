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

    func testHubWithManyNegativeSamplesGrowsTheScratch() throws {
        // A star: the hub's edges are all due every epoch, so one point's samples fill
        // far more blocks than the scratch starts with; and a sample of 20 negative
        // draws spans three blocks of eight lanes.
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
/// each point, reading the others where the previous epoch left them, takes
/// its due edges in order; a sample is the edge's other end and its negative
/// draws (the point itself skipped), taken eight at a time (the kernel's
/// blocks), each group's clipped gradients summed (lane k with k + 4, then the
/// pairs) and added times α. x^b is the kernel's (checked against `pow` in
/// `testFastPowMatchesPow`).
enum UMAPReferenceLayout {
    static func optimise(_ start: [Float], graph: SparseGraph, layout: UMAPLayout) -> [Float] {
        let n = graph.count, a = layout.a, b = layout.b
        let perSample = UMAPLayout.epochsPerSample(graph.weights)
        let perNegative = perSample.map { $0 / Float(layout.negativeRate) }
        var nextSample = perSample, nextNegative = perNegative
        var old = start
        for epoch in 0..<layout.epochs {
            let alpha = layout.initialAlpha * (1 - Float(epoch) / Float(layout.epochs)), now = Float(epoch)
            var new = old
            for i in 0..<n {
                var stream = CounterHash.hash(layout.seed, UInt64(i), UInt64(epoch))
                var px = old[2 * i], py = old[2 * i + 1]
                for e in graph.rowStart[i]..<graph.rowStart[i + 1] where nextSample[e] <= now {
                    nextSample[e] += perSample[e]
                    let negatives = max(0, Int((now - nextNegative[e]) / perNegative[e]))
                    nextNegative[e] += Float(negatives) * perNegative[e]
                    var others = [(point: Int(graph.columns[e]), edge: true)]
                    var left = negatives
                    while left > 0 {
                        let (k1, k2) = twoBelow(&stream, n)
                        if k1 != i { others.append((k1, false)) }
                        if left > 1 && k2 != i { others.append((k2, false)) }
                        left -= 2
                    }
                    for group in stride(from: 0, to: others.count, by: 8) {
                        var gx = [Float](repeating: 0, count: 8), gy = gx
                        for lane in 0..<min(8, others.count - group) {
                            let (k, edge) = others[group + lane]
                            let dx = px - old[2 * k], dy = py - old[2 * k + 1]
                            let d2 = max(dx * dx + dy * dy, 1e-30)
                            let ap = a * fastPow(d2, b)
                            // Attraction −2ab·d^(2b)/(d²(1 + a·d^(2b))), twice; repulsion 2γb/((0.001 + d²)(1 + a·d^(2b))).
                            let c = edge ? (-2 * b * ap) / (d2 * (ap + 1)) : (2 * layout.gamma * b) / ((d2 + 0.001) * (ap + 1))
                            let w: Float = edge ? 2 : 1
                            gx[lane] = w * min(max(c * dx, -4), 4)
                            gy[lane] = w * min(max(c * dy, -4), 4)
                        }
                        px = px + (((gx[0] + gx[4]) + (gx[2] + gx[6])) + ((gx[1] + gx[5]) + (gx[3] + gx[7]))) * alpha
                        py = py + (((gy[0] + gy[4]) + (gy[2] + gy[6])) + ((gy[1] + gy[5]) + (gy[3] + gy[7]))) * alpha
                    }
                }
                new[2 * i] = px
                new[2 * i + 1] = py
            }
            old = new
        }
        return old
    }

    /// SplitMix64's next output, cut into two indices below n by Lemire's multiply-shift.
    static func twoBelow(_ state: inout UInt64, _ n: Int) -> (Int, Int) {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let m = UInt64(n)
        return (Int(((z >> 32) * m) >> 32), Int(((z & 0xFFFF_FFFF) * m) >> 32))
    }

    static func fastPow(_ x: Float, _ b: Float) -> Float {
        var input = x, out: Float = 0
        embtool_umap_fast_pow(&input, &out, 1, b)
        return out
    }
}
