import CMapKernels
import EmbeddingCore
import Foundation

/// UMAP's stochastic gradient descent on the fuzzy cross-entropy between the
/// graph and the layout (umap-learn's `optimize_layout_euclidean`, 2-D):
///
/// - edge e (weight w) is sampled every w_max / w epochs: in epoch t when
///   ⌊t·w/w_max⌋ passes an integer (`sampleFrequency`), the epochs at which
///   umap-learn's `epoch_of_next_sample` comes due;
/// - a sample pulls the edge's head along the attractive gradient
///   −2ab·d^(2(b−1)) / (1 + a·d^(2b)) · (yᵢ − yⱼ), twice: umap-learn's graph
///   holds both (i, j) and (j, i) and its `move_other` moves both ends of a
///   sampled edge, so each end of an edge is pulled twice per sampling period;
/// - and draws `negativeRate` random points per sample, each pushing the
///   head along the repulsive gradient 2γb / ((0.001 + d²)(1 + a·d^(2b))) ·
///   (yᵢ − yₖ). umap-learn draws the same number on average: its clock for
///   them runs `negativeRate` times faster than the edge's, so a sample gets
///   one more or one fewer where w_max / w is not a whole number of epochs,
///   and the first sample one fewer. With a fixed count the schedule keeps
///   no state: an epoch reads each edge's frequency and nothing else;
/// - every gradient component is clipped to [−4, 4]; the learning rate
///   falls linearly from `initialAlpha` to 0 over the epochs.
///
/// Deterministic on any number of threads, unlike umap-learn's Hogwild: an
/// epoch is one step for every point, from a snapshot. Each point takes all
/// its due samples' gradients (the pulls and the negative samples) at its
/// own position and the other points' at the start of the epoch, and moves
/// by α times their sum, where umap-learn moves the point after each sample.
/// Points are therefore independent within an epoch and can be split across
/// threads in any way with bit-identical results. The negative samples come
/// from the epoch's pool: n points (4,096 to 65,536) drawn uniformly by a
/// counter-based hash of (seed, epoch, entry), with their positions; a point
/// takes consecutive entries from a start hashed from (seed, point, epoch).
/// Each draw is still a uniform point, as umap-learn's, but the kernel reads
/// eight of them with two vector loads instead of gathering eight rows: SGD
/// 1.03 → 0.85 s at 59k, same trustworthiness and recall.
/// Measured against moving after each sample (seeds 1, 2, 3, 7, 42): on the
/// 59k item vectors trustworthiness 0.905–0.911 instead of 0.893–0.898 and
/// kNN recall 0.275–0.280 instead of 0.291–0.300; on ml-100k's 1,665 items
/// 0.892 instead of 0.894 (mean) and 0.218 instead of 0.227. umap-learn's
/// own, over the bench runs: 0.897–0.901 and 0.218 (59k), 0.892–0.895 and
/// 0.218–0.226 (ml-100k). And the epoch is no longer one long chain of
/// dependent arithmetic per point.
///
/// The epoch itself is the C kernel `embtool_umap_move_points` (CMapKernels),
/// eight lanes per vector operation, which Swift would compile to SSE only; the
/// kernel uses AVX2 where the CPU has it, with the same IEEE operations in the
/// same order on every variant. Per point, its lanes (one pull per due edge,
/// then the negative samples) pass in blocks of eight through a three-stage
/// pipeline: load the other ends' positions (gathered for pulls, read
/// straight from the pool for pushes), read the table, add the clipped
/// gradients. A lane's gradient coefficient c(d²) (the
/// pull's or a push's, as above) is read from a table of 128 points per octave
/// of d² with linear interpolation (relative error below 10⁻⁴), built once per
/// layout with x^b as 2^(b·log₂x) by two short polynomials: the power and the
/// two divisions per lane took a third of the epoch.
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

    /// Samples per epoch of each edge, w / w_max: the reciprocal of umap-learn's
    /// `make_epochs_per_sample` (0 for an edge of weight 0, never sampled).
    static func sampleFrequency(_ weights: [Float]) -> [Float] {
        let top = weights.max() ?? 1
        return weights.map { $0 > 0 ? $0 / top : 0 }
    }

    /// Whether an edge of frequency `f` is sampled in `epoch`: ⌊epoch·f⌋ passes
    /// an integer, never in epoch 0 (as umap-learn, whose clocks start one
    /// period in). The kernel's rule (`move_point` in CMapKernels), stated
    /// once in Swift so that the tests can hold it to umap-learn's clock.
    static func isDue(frequency f: Float, epoch: Int) -> Bool {
        epoch > 0 && Int32(Float(epoch) * f) > Int32(Float(epoch - 1) * f)
    }

    /// The most epochs a layout takes: the schedule counts epochs in single
    /// precision, exact to 2²⁴.
    public static let maximumEpochs = 1_000_000

    /// umap-learn's schedule for the number of epochs: 500 up to 10,000 points, else 200.
    public static func defaultEpochs(points: Int) -> Int { points <= 10_000 ? 500 : 200 }

    /// The learning rate of `epoch`: linear from `initialAlpha` to 0.
    func alpha(_ epoch: Int) -> Float { initialAlpha * (1 - Float(epoch) / Float(epochs)) }

    /// Optimises `positions` (`n × 2`, row-major) in place over `graph`
    /// (already pruned of edges sampled less than once).
    public func optimise(_ positions: inout [Float], graph: SparseGraph, threads: Int,
                         progress: ((Int, Int) -> Void)? = nil) {
        let n = graph.count
        precondition(positions.count == 2 * n)
        let state = LayoutState(graph: graph, positions: positions, negativeRate: negativeRate)
        let table = UnsafeMutablePointer<Float>.allocate(capacity: Int(EMBTOOL_UMAP_TABLE_FLOATS))
        defer { table.deallocate() }
        embtool_umap_coefficient_table(a, b, gamma, table)
        // Pieces of 256 points: at 1,665 points one epoch is under a millisecond
        // of work, and 1,024-point pieces left one of two threads mostly idle.
        let pieceSize = 256, pieces = (n + pieceSize - 1) / pieceSize
        // The pool's entries cost a hash and a row each: pieces of 2,048.
        let poolPiece = 2048, poolPieces = (state.poolSize + poolPiece - 1) / poolPiece
        // Each piece's scratch, kept across epochs: a piece runs on one worker at a time.
        let scratch = SharedBuffer(UnsafeMutablePointer<embtool_umap_scratch>.allocate(capacity: pieces))
        scratch.base.initialize(repeating: embtool_umap_scratch(), count: pieces)
        defer {
            for k in 0..<pieces { embtool_umap_scratch_free(scratch.base + k) }
            scratch.base.deallocate()
        }
        for epoch in 0..<epochs {
            var epochState = state.kernelState(coefficients: table, seed: seed)
            let alpha = alpha(epoch)
            withUnsafePointer(to: &epochState) { shared in
                let kernel = SharedConstant(shared)
                Parallel.pieces(poolPieces, workers: threads) { p in
                    embtool_umap_fill_pool(kernel.pointer, Int32(epoch), p * poolPiece, min(state.poolSize, (p + 1) * poolPiece))
                }
                embtool_umap_wrap_pool(kernel.pointer)
                Parallel.pieces(pieces, workers: threads) { p in
                    embtool_umap_move_points(kernel.pointer, p * pieceSize, min(n, (p + 1) * pieceSize), Int32(epoch),
                                             alpha, scratch.base + p)
                }
            }
            state.swapPositions()
            progress?(epoch + 1, epochs)
        }
        positions = Array(UnsafeBufferPointer(start: state.old, count: 2 * n))
    }
}

/// A read-only pointer handed to the workers of a parallel loop.
struct SharedConstant<Pointee>: @unchecked Sendable {
    let pointer: UnsafePointer<Pointee>
    init(_ pointer: UnsafePointer<Pointee>) { self.pointer = pointer }
}

/// The SGD's working arrays as raw buffers the worker threads share: within an
/// epoch each worker writes only its own points' positions in `new` and their
/// edges' sampling clocks, and reads `old`, the positions of the epoch before.
final class LayoutState: @unchecked Sendable {
    let count: Int
    let rowStart: UnsafeMutablePointer<Int>
    let columns: UnsafeMutablePointer<Int32>
    /// The fewest entries in a pool of negative samples: with few points, a
    /// point's window of the pool should not wrap onto itself.
    static let smallestPool = 4096
    /// The most: 65,536 entries (768 KB) stay in a core's L2 cache, where a
    /// pool of every point would not; each entry is still a uniform draw. At a
    /// million points the SGD took 26.9 s instead of 38.2 s; on the 59k items
    /// a pool of 4,096 (14 points per entry, as a million has at 65,536) gave
    /// the same trustworthiness and recall as a pool of all of them (0.9082
    /// and 0.2781 against 0.9085 and 0.2775, five seeds).
    static let largestPool = 65_536

    /// Each edge's samples per epoch (`UMAPLayout.sampleFrequency`).
    let frequency: UnsafeMutablePointer<Float>
    let negativeRate: Int32
    /// The epoch's negative samples, with 8 entries of room on either side.
    let poolSize: Int
    let poolIndex: UnsafeMutablePointer<Int32>
    let poolX: UnsafeMutablePointer<Float>
    let poolY: UnsafeMutablePointer<Float>
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
        // Eight entries of room past the last edge: the kernel reads edges eight at a time.
        columns = copy(graph.columns + [Int32](repeating: 0, count: 8))
        frequency = copy(UMAPLayout.sampleFrequency(graph.weights) + [Float](repeating: 0, count: 8))
        self.negativeRate = Int32(clamping: negativeRate)
        poolSize = min(max(count, LayoutState.smallestPool), LayoutState.largestPool)
        poolIndex = .allocate(capacity: poolSize + 16)
        poolX = .allocate(capacity: poolSize + 16)
        poolY = .allocate(capacity: poolSize + 16)
        old = copy(positions)
        new = copy(positions)
    }

    /// The kernel's view of the arrays for one epoch.
    func kernelState(coefficients: UnsafePointer<Float>, seed: UInt64) -> embtool_umap_epoch {
        embtool_umap_epoch(count: count, row_start: rowStart, columns: columns, frequency: frequency,
                           negative_rate: negativeRate, old_positions: old, new_positions: new,
                           coefficients: coefficients, seed: seed, pool_size: poolSize, pool_index: poolIndex + 8,
                           pool_x: poolX + 8, pool_y: poolY + 8)
    }

    /// After an epoch: its output becomes the next epoch's input.
    func swapPositions() { swap(&old, &new) }

    deinit {
        for p in [frequency, poolX, poolY, old, new] { p.deallocate() }
        poolIndex.deallocate()
        rowStart.deallocate()
        columns.deallocate()
    }
}
