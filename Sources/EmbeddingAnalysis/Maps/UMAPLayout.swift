import EmbeddingCore
import Foundation

/// UMAP's stochastic gradient descent on the fuzzy cross-entropy between the
/// graph and the layout (umap-learn's `optimize_layout_euclidean`, 2-D):
///
/// - edge e (weight w) is sampled every `epochsPerSample[e] = w_max / w` epochs;
/// - a sample pulls its head along the attractive gradient
///   −2ab·d^(2(b−1)) / (1 + a·d^(2b)) · (yᵢ − yⱼ);
/// - and draws `negativeRate` random points per sample (as umap-learn, at the
///   rate `epochsPerSample / negativeRate`), each pushing the head along the
///   repulsive gradient 2γb / ((0.001 + d²)(1 + a·d^(2b))) · (yᵢ − yₖ), all of
///   one sample's taken at the same position and applied together;
/// - every gradient component is clipped to [−4, 4]; the learning rate
///   falls linearly from `initialAlpha` to 0 over the epochs.
///
/// Deterministic on any number of threads, unlike umap-learn's Hogwild: in
/// an epoch every point moves only itself, reading the other points where
/// they were at the start of the epoch (a snapshot) and its own position
/// live; its negative samples come from a generator seeded by (seed, point,
/// epoch). Points are therefore independent within an epoch and can be
/// split across threads in any way with bit-identical results. Both
/// directions of an edge are in the symmetric graph, so an edge still moves
/// both of its ends each time it is sampled, as umap-learn's `move_other`
/// does, one step each from the same pair of positions.
public struct UMAPLayout {
    public var a: Float
    public var b: Float
    public var gamma: Float = 1
    public var initialAlpha: Float = 1
    public var negativeRate: Int = 5
    public var epochs: Int
    public var seed: UInt64

    public init(a: Float, b: Float, epochs: Int, seed: UInt64) {
        self.a = a
        self.b = b
        self.epochs = epochs
        self.seed = seed
    }

    /// umap-learn's `make_epochs_per_sample`: w_max / w for each edge.
    public static func epochsPerSample(_ weights: [Float]) -> [Float] {
        let top = weights.max() ?? 1
        return weights.map { $0 > 0 ? top / $0 : -1 }
    }

    /// umap-learn's schedule for the number of epochs: 500 up to 10,000 points, else 200.
    public static func defaultEpochs(points: Int) -> Int { points <= 10_000 ? 500 : 200 }

    /// Optimises `positions` (`n × 2`, row-major) in place over `graph`
    /// (already pruned of edges sampled less than once).
    public func optimise(_ positions: inout [Float], graph: SparseGraph, threads: Int,
                         progress: ((Int, Int) -> Void)? = nil) {
        let n = graph.count
        precondition(positions.count == 2 * n)
        let perSample = UMAPLayout.epochsPerSample(graph.weights)
        let perNegative = perSample.map { $0 / Float(negativeRate) }
        var nextSample = perSample
        var nextNegative = perNegative
        var snapshot = positions
        let pieceSize = 1024, pieces = (n + pieceSize - 1) / pieceSize
        let a = self.a, b = self.b, gamma = self.gamma, seed = self.seed
        for epoch in 0..<epochs {
            let alpha = initialAlpha * (1 - Float(epoch) / Float(epochs))
            snapshot.withUnsafeBufferPointer { old in
                positions.withUnsafeMutableBufferPointer { new in
                    nextSample.withUnsafeMutableBufferPointer { ns in
                        nextNegative.withUnsafeMutableBufferPointer { nn in
                            graph.rowStart.withUnsafeBufferPointer { rs in
                                graph.columns.withUnsafeBufferPointer { cs in
                                    perSample.withUnsafeBufferPointer { ps in
                                        perNegative.withUnsafeBufferPointer { pn in
                                            let old = SharedBuffer(UnsafeMutablePointer(mutating: old.baseAddress!))
                                            let new = SharedBuffer(new), ns = SharedBuffer(ns), nn = SharedBuffer(nn)
                                            let rs = SharedBuffer(UnsafeMutablePointer(mutating: rs.baseAddress!))
                                            let cs = SharedBuffer(UnsafeMutablePointer(mutating: cs.baseAddress!))
                                            let ps = SharedBuffer(UnsafeMutablePointer(mutating: ps.baseAddress!))
                                            let pn = SharedBuffer(UnsafeMutablePointer(mutating: pn.baseAddress!))
                                            Parallel.pieces(pieces, workers: threads) { p in
                                                for i in (p * pieceSize)..<min(n, (p + 1) * pieceSize) {
                                                    UMAPLayout.movePoint(i, epoch: epoch, n: n, old: old, new: new,
                                                                         rowStart: rs, columns: cs, perSample: ps, perNegative: pn,
                                                                         nextSample: ns, nextNegative: nn,
                                                                         a: a, b: b, gamma: gamma, alpha: alpha, seed: seed)
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            swap(&snapshot, &positions)
            progress?(epoch + 1, epochs)
        }
        // After the last swap `snapshot` holds the last epoch's output.
        positions = snapshot
    }

    /// One point's work in one epoch: its due edges, each with its negative
    /// samples, moving only point i (read live), the others read from `old`.
    @inline(__always)
    static func movePoint(_ i: Int, epoch: Int, n: Int, old: SharedBuffer<Float>, new: SharedBuffer<Float>,
                          rowStart: SharedBuffer<Int>, columns: SharedBuffer<Int32>,
                          perSample: SharedBuffer<Float>, perNegative: SharedBuffer<Float>,
                          nextSample: SharedBuffer<Float>, nextNegative: SharedBuffer<Float>,
                          a: Float, b: Float, gamma: Float, alpha: Float, seed: UInt64) {
        var x = old[2 * i], y = old[2 * i + 1]
        let now = Float(epoch)
        var rng = XorShiftStar(seed: CounterHash.hash(seed, UInt64(i), UInt64(epoch)))
        for e in rowStart[i]..<rowStart[i + 1] where nextSample[e] <= now {
            let j = Int(columns[e])
            let dx = x - old[2 * j], dy = y - old[2 * j + 1]
            let d2 = dx * dx + dy * dy
            if d2 > 0 {
                let p = fastPow(d2, b)   // d^(2b)
                let coefficient = -2 * a * b * (p / d2) / (a * p + 1)
                x += clip(coefficient * dx) * alpha
                y += clip(coefficient * dy) * alpha
            }
            nextSample[e] += perSample[e]
            // The negative samples' gradients are all taken at the position after
            // the attractive step and applied together: independent chains the
            // CPU overlaps, where umap-learn moves the point after each one.
            let negatives = Int((now - nextNegative[e]) / perNegative[e])
            var gx: Float = 0, gy: Float = 0
            for _ in 0..<max(0, negatives) {
                let k = rng.below(n)
                if k == i { continue }
                let nx = x - old[2 * k], ny = y - old[2 * k + 1]
                let n2 = nx * nx + ny * ny
                guard n2 > 0 else { continue }
                let coefficient = 2 * gamma * b / ((0.001 + n2) * (a * fastPow(n2, b) + 1))
                gx += clip(coefficient * nx)
                gy += clip(coefficient * ny)
            }
            x += gx * alpha
            y += gy * alpha
            nextNegative[e] += Float(max(0, negatives)) * perNegative[e]
        }
        new[2 * i] = x
        new[2 * i + 1] = y
    }

    /// umap-learn's gradient clip to [−4, 4].
    @inline(__always)
    static func clip(_ v: Float) -> Float { min(4, max(-4, v)) }

    /// x^b for x > 0 as 2^(b·log₂x), each by a short polynomial: relative
    /// error below 10⁻⁶, several times cheaper than `powf` in the inner loop.
    @inline(__always)
    static func fastPow(_ x: Float, _ b: Float) -> Float { fastExp2(b * fastLog2(x)) }

    /// log₂x for normal x > 0: x = 2^e·m with m in [√½, √2), then
    /// log₂m = (2/ln2)·atanh(t), t = (m − 1)/(m + 1), |t| ≤ 0.172, by its odd series to t⁹.
    @inline(__always)
    static func fastLog2(_ x: Float) -> Float {
        let bits = x.bitPattern
        var e = Int32(bitPattern: (bits >> 23) & 0xFF) - 127
        var m = Float(bitPattern: (bits & 0x007F_FFFF) | 0x3F80_0000)
        if m > 1.41421356 { m *= 0.5; e += 1 }
        let t = (m - 1) / (m + 1), t2 = t * t
        let series = t * (2.885390082 + t2 * (0.961796694 + t2 * (0.577078016 + t2 * (0.412198583 + t2 * 0.320598898))))
        return Float(e) + series
    }

    /// 2^y: y = i + f with f in [−½, ½], 2^f by its Taylor polynomial to f⁶,
    /// 2^i by the exponent bits (inputs clamped to the float range). i is
    /// rounded by adding 1.5·2²³ (no libm call).
    @inline(__always)
    static func fastExp2(_ y: Float) -> Float {
        let y = min(127, max(-126, y))
        let shifted = y + 12_582_912, i = shifted - 12_582_912, f = y - i
        let p = 1 + f * (0.693147181 + f * (0.240226507 + f * (0.0555041087 + f * (0.00961812911 + f * (0.00133335581 + f * 0.000154035304)))))
        let exponent = Int32(bitPattern: shifted.bitPattern &- 0x4B40_0000) &+ 127
        return p * Float(bitPattern: UInt32(bitPattern: exponent) << 23)
    }
}
