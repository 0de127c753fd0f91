import EmbeddingCore
import Foundation

/// UMAP's stochastic gradient descent on the fuzzy cross-entropy between the
/// graph and the layout (umap-learn's `optimize_layout_euclidean`, 2-D):
///
/// - edge e (weight w) is sampled every `epochsPerSample[e] = w_max / w` epochs;
/// - a sample pulls the edge's head along the attractive gradient
///   −2ab·d^(2(b−1)) / (1 + a·d^(2b)) · (yᵢ − yⱼ), twice: umap-learn's graph
///   holds both (i, j) and (j, i) and its `move_other` moves both ends of a
///   sampled edge, so each end of an edge is pulled twice per sampling period;
/// - and draws `negativeRate` random points per sample (as umap-learn, at the
///   rate `epochsPerSample / negativeRate`), each pushing the head along the
///   repulsive gradient 2γb / ((0.001 + d²)(1 + a·d^(2b))) · (yᵢ − yₖ);
/// - every gradient component is clipped to [−4, 4]; the learning rate
///   falls linearly from `initialAlpha` to 0 over the epochs.
///
/// Deterministic on any number of threads, unlike umap-learn's Hogwild: in
/// an epoch every point moves only itself, reading the other points where
/// they were at the start of the epoch (a snapshot) and its own position
/// live; its negative samples come from a generator seeded by (seed, point,
/// epoch). Points are therefore independent within an epoch and can be
/// split across threads in any way with bit-identical results. All the
/// gradients of one sample (the pull and its negative samples) are taken at
/// the point's position before the sample and applied together, eight lanes
/// at a time (`gradient`), where umap-learn moves the point after each.
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
        let state = LayoutState(graph: graph, positions: positions, negativeRate: negativeRate)
        // Pieces of 256 points: at 1,665 points one epoch is under a millisecond
        // of work, and 1,024-point pieces left one of two threads mostly idle.
        let pieceSize = 256, pieces = (n + pieceSize - 1) / pieceSize
        let terms = [LaneTerms(edgeLanes: 1, a: a, b: b, gamma: gamma), LaneTerms(edgeLanes: 0, a: a, b: b, gamma: gamma)]
        for epoch in 0..<epochs {
            let alpha = initialAlpha * (1 - Float(epoch) / Float(epochs))
            Parallel.pieces(pieces, workers: threads) { p in
                var blocks = SampleBlocks()
                defer { blocks.deallocate() }
                for i in (p * pieceSize)..<min(n, (p + 1) * pieceSize) {
                    terms.withUnsafeBufferPointer { t in
                        movePoint(i, epoch: epoch, alpha: alpha, state: state, blocks: &blocks, terms: t.baseAddress!)
                    }
                }
            }
            state.swapPositions()
            progress?(epoch + 1, epochs)
        }
        positions = Array(UnsafeBufferPointer(start: state.old, count: 2 * n))
    }

    /// One point's work in one epoch, in two passes: the due edges' samples are
    /// laid out in `blocks` of eight lanes (a sample's first block holds the
    /// edge's other end in lane 0, then its negative samples; a sample of the
    /// point itself is skipped, as umap-learn skips it), then `walk` moves the
    /// point through them.
    @inline(__always)
    func movePoint(_ i: Int, epoch: Int, alpha: Float, state: LayoutState, blocks: inout SampleBlocks,
                   terms: UnsafePointer<LaneTerms>) {
        let now = Float(epoch), n = state.count, old = state.old
        var rng = SampleStream(seed: CounterHash.hash(seed, UInt64(i), UInt64(epoch)))
        var count = 0
        for e in state.rowStart[i]..<state.rowStart[i &+ 1] where state.nextSample[e] <= now {
            state.nextSample[e] += state.perSample[e]
            let negatives = max(0, Int((now - state.nextNegative[e]) / state.perNegative[e]))
            state.nextNegative[e] += Float(negatives) * state.perNegative[e]
            blocks.reserve(count &+ (negatives &+ 8) &>> 3)
            var lanes = blocks.lanes(count)
            let j = Int(state.columns[e])
            lanes.put(old[2 &* j], old[2 &* j &+ 1])
            var left = negatives
            while left > 0 {
                let (k1, k2) = rng.twoBelow(n)
                if k1 != i { lanes.put(old[2 &* k1], old[2 &* k1 &+ 1]) }
                if left > 1 && k2 != i { lanes.put(old[2 &* k2], old[2 &* k2 &+ 1]) }
                left &-= 2
            }
            count = lanes.close()
        }
        let moved = UMAPLayout.walk(SIMD2(old[2 &* i], old[2 &* i &+ 1]), blocks, count: count, terms, b: b, alpha: alpha)
        state.new[2 &* i] = moved.x
        state.new[2 &* i &+ 1] = moved.y
    }

    /// Moves p through `count` blocks: each block's summed, clipped gradient at p,
    /// times `alpha`, from eight lanes of other positions o (lanes past the
    /// block's count weigh nothing):
    ///
    ///     c = (c₀ + c₁·a·d^(2b)) / ((d² + ε)(1 + a·d^(2b))),   p ← p + α·Σ w·clip(c·(p − o))
    ///
    /// which is the attraction −2ab·d^(2b)/(d²·(1 + a·d^(2b))) in an edge lane
    /// (c₀ = 0, c₁ = −2b, ε = 0, weight 2: it counts twice) and the repulsion
    /// 2γb/((0.001 + d²)(1 + a·d^(2b))) in a negative lane (c₀ = 2γb, c₁ = 0,
    /// ε = 0.001, weight 1). Coincident points (d² = 0) add nothing, as in umap-learn.
    ///
    /// In SIMD4 halves: on SSE2, SIMD8 selects and min/max compile lane by
    /// lane, SIMD4's to `maxps`/`minps`.
    @inline(__always)
    static func walk(_ start: SIMD2<Float>, _ blocks: SampleBlocks, count: Int, _ terms: UnsafePointer<LaneTerms>,
                     b: Float, alpha: Float) -> SIMD2<Float> {
        var p = start
        for block in 0..<count {
            let at = blocks.block(block), used = Float(blocks.used(block))
            let t = terms + Int(blocks.kind(block))
            let (xLow, yLow) = half(p, at, t, high: false, used: used, b: b)
            let (xHigh, yHigh) = half(p, at + 16, t, high: true, used: used, b: b)
            let gx = xLow + xHigh, gy = yLow + yHigh
            let pairs = SIMD4(lowHalf: gx.lowHalf + gx.highHalf, highHalf: gy.lowHalf + gy.highHalf)
            p += (pairs.evenHalf + pairs.oddHalf) * alpha
        }
        return p
    }

    /// Four lanes of `walk`'s gradient, unsummed; `at` points at their x (their
    /// y are 32 bytes on); lanes numbered `used` or more weigh nothing. Not
    /// inlined: inlined, the compiler turned its SIMD4 selects back into lane
    /// by lane code (callgrind: up to 2.5× the instructions).
    @inline(never)
    static func half(_ p: SIMD2<Float>, _ at: UnsafeRawPointer, _ terms: UnsafePointer<LaneTerms>, high: Bool,
                     used: Float, b: Float) -> (SIMD4<Float>, SIMD4<Float>) {
        let t = high ? terms.pointee.high : terms.pointee.low, a = terms.pointee.a
        let dx = p.x - at.load(as: SIMD4<Float>.self), dy = p.y - at.load(fromByteOffset: 32, as: SIMD4<Float>.self)
        // min(max(used − lane, 0), 1): 1 for the lanes in use, else 0.
        let weight = t.weight * atMost(atLeast(used - t.lane, 0), 1)
        // The floor keeps the coefficient finite where d² = 0 (dx = dy = 0 there).
        let d2 = atLeast(dx * dx + dy * dy, 1e-30)
        let ap = a * fastPow(d2, b)   // a·d^(2b)
        let coefficient = (t.c0 + t.c1 * ap) / ((d2 + t.epsilon) * (ap + 1))
        return (weight * clip(coefficient * dx), weight * clip(coefficient * dy))
    }

    /// umap-learn's gradient clip to [−4, 4], lane by lane.
    @inline(__always)
    static func clip(_ v: SIMD4<Float>) -> SIMD4<Float> { atMost(atLeast(v, -4), 4) }

    /// max(v, floor) lane by lane, as a select that compiles to `maxps` (the
    /// standard library's `pointwiseMax` and `clamped` go lane by lane).
    @inline(__always)
    static func atLeast(_ v: SIMD4<Float>, _ floor: Float) -> SIMD4<Float> {
        let f = SIMD4(repeating: floor)
        return v.replacing(with: f, where: v .< f)
    }

    /// min(v, ceiling) lane by lane, as a select that compiles to `minps`.
    @inline(__always)
    static func atMost(_ v: SIMD4<Float>, _ ceiling: Float) -> SIMD4<Float> {
        let c = SIMD4(repeating: ceiling)
        return v.replacing(with: c, where: v .> c)
    }

    /// x^b for x > 0 (normal), lane by lane, as 2^(b·log₂x), each by a short
    /// polynomial, with no libm call, so four lanes cost about what one `powf`
    /// does. Relative error (tested against `pow`): below 2·10⁻⁶ for x in
    /// [10⁻⁴, 10⁴], below 10⁻⁵ wherever x^b is a normal float (the rounding of
    /// b·log₂x to single precision dominates there); results below 2⁻¹²⁶ are 2⁻¹²⁶.
    @inline(__always)
    static func fastPow(_ x: SIMD4<Float>, _ b: Float) -> SIMD4<Float> { fastExp2(b * fastLog2(x)) }

    /// log₂x for normal x > 0: x = 2^e·m with m in [√½, √2) (found by
    /// subtracting √½'s bits, so no branch), then log₂m = (2/ln2)·atanh(t),
    /// t = (m − 1)/(m + 1), |t| ≤ 0.172, by an odd polynomial to t⁵ fitted
    /// for the least largest error there (3.3·10⁻⁸).
    @inline(__always)
    static func fastLog2(_ x: SIMD4<Float>) -> SIMD4<Float> {
        let bits = unsafeBitCast(x, to: SIMD4<Int32>.self)
        let e = (bits &- 0x3F35_04F3) &>> 23
        let m = unsafeBitCast(bits &- (e &<< 23), to: SIMD4<Float>.self)
        let t = (m - 1) / (m + 1), t2 = t * t
        var series: SIMD4<Float> = t2 * 0.5994649100 + 0.9614543622
        series = series * t2 + 2.8853913955
        return SIMD4<Float>(e) + t * series
    }

    /// 2^y: y = i + f with f in [−½, ½], 2^f by a polynomial to f⁵ fitted for
    /// the least largest relative error there (8.3·10⁻⁸), 2^i by the exponent
    /// bits (y clamped to [−126, 126], the normal range).
    /// i is rounded by adding and subtracting 1.5·2²³ (no libm call).
    @inline(__always)
    static func fastExp2(_ y: SIMD4<Float>) -> SIMD4<Float> {
        let y = atMost(atLeast(y, -126), 126)
        let shifted: SIMD4<Float> = y + 12_582_912
        let f: SIMD4<Float> = y - (shifted - 12_582_912)
        var p: SIMD4<Float> = f * 0.0013280815 + 0.0096770464
        p = p * f + 0.0555071204
        p = p * f + 0.2402208705
        p = p * f + 0.6931469566
        p = p * f + 1.0000000797
        let exponent = (unsafeBitCast(shifted, to: SIMD4<Int32>.self) &- 0x4B40_0000) &+ 127
        return p * unsafeBitCast(exponent &<< 23, to: SIMD4<Float>.self)
    }
}

/// The negative samples' indices: SplitMix64 outputs (a counter, so each draw
/// is independent work the CPU can overlap), two indices from each.
struct SampleStream {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    /// Two indices uniform in `0..<n` (n < 2³²) by Lemire's multiply-shift on
    /// each 32-bit half of one output (bias below 2⁻³²·n).
    @inline(__always)
    mutating func twoBelow(_ n: Int) -> (Int, Int) {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z &>> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z &>> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z &>> 31
        let m = UInt64(UInt32(truncatingIfNeeded: n))
        return (Int(((z &>> 32) &* m) &>> 32), Int(((z & 0xFFFF_FFFF) &* m) &>> 32))
    }
}

/// The per-lane constants of `UMAPLayout.gradient` for one kind of block:
/// a sample's first block (lane 0 the edge) or a continuation (all negative samples).
struct LaneTerms {
    struct Half {
        var c0, c1, epsilon, weight: SIMD4<Float>
        /// The lanes' numbers in the block, 0…3 or 4…7.
        var lane: SIMD4<Float>
    }
    var low: Half
    var high: Half
    var a: SIMD4<Float>

    /// `edgeLanes` 1: lane 0 attracts, the others repel; 0: all repel.
    init(edgeLanes: Int, a: Float, b: Float, gamma: Float) {
        func terms(_ edge: SIMD4<Float>, _ lane: SIMD4<Float>) -> Half {
            Half(c0: (1 - edge) * (2 * gamma * b), c1: edge * (-2 * b), epsilon: (1 - edge) * 0.001, weight: 1 + edge, lane: lane)
        }
        low = terms(SIMD4(edgeLanes == 1 ? 1 : 0, 0, 0, 0), SIMD4(0, 1, 2, 3))
        high = terms(SIMD4(repeating: 0), SIMD4(4, 5, 6, 7))
        self.a = SIMD4(repeating: a)
    }
}

/// A worker's scratch for one point's samples in one epoch: blocks of eight
/// lanes, each block the x and y vectors of up to eight other positions (64
/// bytes, aligned for vector loads), how many lanes it uses and its kind (0: it
/// starts a sample, lane 0 the edge; 1: it continues one). Grows when a point
/// has more samples. Unused lanes keep old (finite) values and weigh nothing.
struct SampleBlocks {
    static let stride = 64
    private(set) var base: UnsafeMutableRawPointer
    private(set) var counts: UnsafeMutablePointer<Int32>
    private(set) var kinds: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int

    init(capacity: Int = 64) {
        self.capacity = capacity
        base = .allocate(byteCount: capacity * SampleBlocks.stride, alignment: 64)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: capacity * SampleBlocks.stride)
        counts = .allocate(capacity: capacity)
        kinds = .allocate(capacity: capacity)
    }

    func deallocate() {
        base.deallocate()
        counts.deallocate()
        kinds.deallocate()
    }

    /// Room for `count` blocks, the ones held kept (only one point's samples are
    /// ever held, so this stays near its degree).
    @inline(__always)
    mutating func reserve(_ count: Int) {
        guard count > capacity else { return }
        let grown = SampleBlocks(capacity: 2 * count)
        grown.base.copyMemory(from: base, byteCount: capacity * SampleBlocks.stride)
        grown.counts.update(from: counts, count: capacity)
        grown.kinds.update(from: kinds, count: capacity)
        deallocate()
        self = grown
    }

    /// A cursor filling lanes from the start of block `start` on.
    @inline(__always)
    func lanes(_ start: Int) -> Lanes { Lanes(blocks: self, block: start) }

    @inline(__always) func block(_ index: Int) -> UnsafeRawPointer { UnsafeRawPointer(base + index &* SampleBlocks.stride) }
    @inline(__always) func used(_ index: Int) -> Int32 { counts[index] }
    @inline(__always) func kind(_ index: Int) -> UInt8 { kinds[index] }

    /// Fills one sample's lanes, block after block.
    struct Lanes {
        let blocks: SampleBlocks
        var block: Int
        var lane = 0
        var first = true

        init(blocks: SampleBlocks, block: Int) {
            self.blocks = blocks
            self.block = block
        }

        @inline(__always)
        mutating func put(_ x: Float, _ y: Float) {
            let at = blocks.base + block &* SampleBlocks.stride + lane &* 4
            at.storeBytes(of: x, as: Float.self)
            at.storeBytes(of: y, toByteOffset: 32, as: Float.self)
            lane &+= 1
            if lane == 8 { close(); block &+= 1 }
        }

        /// Records the current block (if it has lanes) and returns the next free block.
        @inline(__always) @discardableResult
        mutating func close() -> Int {
            if lane > 0 {
                blocks.counts[block] = Int32(lane)
                blocks.kinds[block] = first ? 0 : 1
                first = false
                lane = 0
                return block &+ 1
            }
            return block
        }
    }
}

/// The SGD's working arrays as raw buffers the worker threads share: within an
/// epoch each worker writes only its own points' positions in `new` and their
/// edges' sampling clocks, and reads `old`, the positions of the epoch before.
final class LayoutState: @unchecked Sendable {
    let count: Int
    let rowStart: UnsafeMutablePointer<Int>
    let columns: UnsafeMutablePointer<Int32>
    let perSample: UnsafeMutablePointer<Float>
    let perNegative: UnsafeMutablePointer<Float>
    /// The epoch at which each edge is next sampled, and its negative samples next due.
    let nextSample: UnsafeMutablePointer<Float>
    let nextNegative: UnsafeMutablePointer<Float>
    private(set) var old: UnsafeMutablePointer<Float>
    private(set) var new: UnsafeMutablePointer<Float>

    init(graph: SparseGraph, positions: [Float], negativeRate: Int) {
        func copy<T>(_ a: [T]) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: max(1, a.count))
            p.initialize(from: a, count: a.count)
            return p
        }
        count = graph.count
        rowStart = copy(graph.rowStart)
        columns = copy(graph.columns)
        let every = UMAPLayout.epochsPerSample(graph.weights)
        let everyNegative = every.map { $0 / Float(negativeRate) }
        perSample = copy(every)
        perNegative = copy(everyNegative)
        nextSample = copy(every)
        nextNegative = copy(everyNegative)
        old = copy(positions)
        new = copy(positions)
    }

    /// After an epoch: its output becomes the next epoch's input.
    func swapPositions() { swap(&old, &new) }

    deinit {
        for p in [perSample, perNegative, nextSample, nextNegative, old, new] { p.deallocate() }
        rowStart.deallocate()
        columns.deallocate()
    }
}
