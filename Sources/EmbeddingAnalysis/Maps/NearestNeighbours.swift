import EmbeddingCore
import Foundation

/// How `KNNGraph.build` finds neighbours.
public enum KNNMethod: String, CaseIterable, Sendable {
    /// Exact below `KNNGraph.exactLimit` points, NN-descent above.
    case automatic
    /// All pairs through blocked sgemm tiles and a top-k selection (`similar --all`'s path).
    case exact
    /// NN-descent (Dong, Moses & Li 2011) started from random-projection trees, as pynndescent.
    case nnDescent = "nn-descent"
}

/// The k nearest neighbours of every point (self excluded), nearest first.
/// Shapes: `indices` and `distances` are [count × k], row-major.
public struct KNNGraph: Sendable {
    public let count: Int
    public let k: Int
    public var indices: [Int32]
    /// Distances: 1 − cos for cosine, ‖a − b‖ for euclidean.
    public var distances: [Float]

    public init(count: Int, k: Int, indices: [Int32], distances: [Float]) {
        precondition(indices.count == count * k && distances.count == count * k)
        self.count = count
        self.k = k
        self.indices = indices
        self.distances = distances
    }

    /// Above this many points `.automatic` uses NN-descent. The exact sgemm
    /// path costs ~n²·d, NN-descent roughly n·log n. Measured by CPU time (the
    /// 2-core machine was shared, so wall times were not comparable) on the
    /// rows of the synthetic ml-25m item table, 50 factors, k = 14: exact
    /// 0.39 s against 0.55 s at 16,000 points, 1.43 s against 1.12 s at 32,000,
    /// 4.7 s against 2.8 s at 59,048, so they cross near 24,000. Quality is the
    /// same above it: at 59,048 the layouts' trustworthiness was 0.896 either way.
    public static let exactLimit = 24_000

    /// The k nearest neighbours of every row of `vectors`.
    ///
    /// - Parameters:
    ///   - metric: `.cosine` (distance 1 − cos) or `.euclidean` (‖a − b‖).
    ///   - seed: drives NN-descent's trees and sampling; the exact method ignores it.
    ///   - threads: worker threads; the result is the same for every count.
    ///   - progress: told which method runs and how far it is.
    /// - Throws: usage errors for k < 1, fewer than k + 1 points or the dot
    ///   metric; a data error naming the first row with a NaN or infinity.
    public static func build(_ vectors: Matrix, k: Int, metric: SimilarityMetric, method: KNNMethod = .automatic,
                             seed: UInt64, threads: Int, progress: ((String) -> Void)?) throws -> KNNGraph {
        try validate(vectors, k: k, metric: metric)
        let vectors = metric == .cosine ? (zeroRowsApart(vectors) ?? vectors) : vectors
        let n = vectors.rows
        let useExact = method == .exact || (method == .automatic && n <= exactLimit)
        if useExact {
            progress?("nearest neighbours: exact, \(n) × \(n) products")
            return exact(vectors, k: k, metric: metric, threads: threads)
        }
        progress?("nearest neighbours: NN-descent on random-projection trees (\(n) points, approximate)")
        var search = NNDescent(vectors, k: k, metric: metric, seed: seed, threads: threads)
        return search.run(progress: progress)
    }

    /// Cosine distance leaves a zero vector at distance 1 from every point, itself included, so its neighbours would
    /// be arbitrary ties. pynndescent, which umap-learn uses, puts two zero
    /// vectors at distance 0 and a zero vector at 1 from any other; so does this:
    /// the rows are made unit length and given one more coordinate, 0, or 1 for
    /// a zero row. nil when no row is zero.
    static func zeroRowsApart(_ vectors: Matrix) -> Matrix? {
        let n = vectors.rows, d = vectors.cols
        let norms = vectors.data.withUnsafeBufferPointer { SimilarityIndex.rowSquaredNorms($0.baseAddress!, rows: n, cols: d) }
        guard norms.contains(where: { !($0 > 0) }) else { return nil }
        var out = Matrix(rows: n, cols: d + 1)
        for i in 0..<n {
            let s = SimilarityIndex.inverseLength(norms[i])
            for j in 0..<d { out[i, j] = Float(Double(vectors[i, j]) * s) }
            out[i, d] = norms[i] > 0 ? 0 : 1
        }
        return out
    }

    /// The checks `build` makes before any work.
    static func validate(_ vectors: Matrix, k: Int, metric: SimilarityMetric) throws {
        guard metric != .dot else { throw EmbtoolError.usage("nearest neighbours need a distance: cosine or euclidean, not dot") }
        guard k >= 1 else { throw EmbtoolError.usage("the number of neighbours must be at least 1, got \(k)") }
        guard vectors.rows > k else {
            throw EmbtoolError.usage("\(vectors.rows) points cannot have \(k) neighbours each (need at least \(k + 1))")
        }
        if let bad = vectors.data.firstIndex(where: { !$0.isFinite }) {
            throw EmbtoolError.data("row \(bad / max(1, vectors.cols)) has a non-finite value (NaN or infinity)")
        }
    }

    /// Exact neighbours: `SimilarityIndex.allNeighbours` (blocked sgemm and
    /// top-k per row), scores turned into distances — 1 − cos, or ‖a − b‖
    /// from the negated distance the index reports.
    static func exact(_ vectors: Matrix, k: Int, metric: SimilarityMetric, threads: Int) -> KNNGraph {
        let n = vectors.rows
        let all = SimilarityIndex(table: vectors, candidates: Array(0..<n), metric: metric).allNeighbours(top: k, threads: threads)
        let distances = all.scores.map { metric == .cosine ? max(0, 1 - $0) : -$0 }
        return KNNGraph(count: n, k: k, indices: all.rows, distances: distances)
    }

    /// The share of `truth`'s neighbours (same k or more) that `self` found,
    /// over all points: recall@k.
    public func recall(against truth: KNNGraph) -> Double {
        precondition(truth.count == count && truth.k >= k)
        var hits = 0
        for i in 0..<count {
            let found = Set(indices[(i * k)..<((i + 1) * k)])
            for j in 0..<k where found.contains(truth.indices[i * truth.k + j]) { hits += 1 }
        }
        return Double(hits) / Double(count * k)
    }
}

/// NN-descent with a random-projection-forest start, following pynndescent:
///
/// 1. `forestLeaves`: `trees` random-projection trees (angular splits for
///    cosine: the hyperplane between two random points' directions; euclidean:
///    the perpendicular bisector of two random points) cut the points into
///    leaves of at most `leafSize`; every pair in a leaf is offered to both
///    points' neighbour heaps. Rows still short of k get random points.
/// 2. `iterate`, up to `iterations` times: each point's neighbours are split
///    into new (not yet joined) and old, sampled to `maxCandidates` by a random
///    priority together with the reverse neighbours; every new–new and new–old
///    pair of a point's candidates is a possible neighbour of each other
///    (the local join). Stop when fewer than `delta·n·k` heap entries change.
///
/// Determinism whatever the thread count: random numbers are hashes of (seed,
/// coordinates), never a shared stream; candidate pairs are generated in
/// pieces whose boundaries do not depend on the threads, and the heaps are
/// updated by destination ranges, each heap receiving its offers in piece order.
struct NNDescent {
    /// Points, their dimensions, neighbours sought per point.
    let n, dims, k: Int
    let metric: SimilarityMetric
    let seed: UInt64
    let threads: Int
    /// Unit rows for cosine (so 1 − x·y is the distance), the rows as given for euclidean.
    private(set) var points: [Float]
    /// The random-projection forest that seeds the graph, then the descent's limits (pynndescent's names).
    let trees, leafSize, maxCandidates, iterations: Int
    let delta: Float = 0.001
    /// Rows per threshold refresh during the local join (pynndescent's block).
    let vertexBlock = 16_384
    /// Rows (or leaves) per generation piece: the unit of determinism.
    let piece = 256

    init(_ vectors: Matrix, k: Int, metric: SimilarityMetric, seed: UInt64, threads: Int) {
        n = vectors.rows
        dims = vectors.cols
        self.k = k
        self.metric = metric
        self.seed = seed
        self.threads = max(1, threads)
        if metric == .cosine {
            let norms = SimilarityIndex.rowSquaredNorms(vectors.data, rows: n, cols: dims)
            var unit = vectors.data
            for r in 0..<n {
                let s = SimilarityIndex.inverseLength(norms[r])
                for j in 0..<dims { unit[r * dims + j] = Float(Double(unit[r * dims + j]) * s) }
            }
            points = unit
        } else {
            points = vectors.data
        }
        // umap-learn's iteration count for its NNDescent call, and pynndescent's leaf size.
        // umap-learn asks for 60 candidates; 20 gave the same recall@15 (0.986 against 0.987 on
        // 32,000 planted points) in half the time, the local join being quadratic in them.
        // pynndescent's tree count cut to two thirds: the descent that follows makes up the
        // difference. On the 59,048 synthetic item vectors (k = 14) 12 trees instead of 17 gave
        // recall 0.978 instead of 0.982 against brute force (pynndescent's own graph, as umap-learn
        // builds it: 0.869) in 0.95 s instead of 1.09 s; 8 or 10 trees were no faster (more rounds).
        let pynndescentTrees = min(64, 5 + Int((Double(n).squareRoot() / 20).rounded()))
        trees = max(1, (2 * pynndescentTrees + 2) / 3)
        iterations = max(5, Int(log2(Double(n)).rounded()))
        leafSize = max(60, min(256, 5 * k))
        maxCandidates = 20
    }

    /// The distance the search ranks by: 1 − x·y (cosine on unit rows) or
    /// ‖x − y‖² (euclidean; the square root is taken at the end).
    @inline(__always)
    static func distance(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, dims: Int, cosine: Bool) -> Float {
        cosine ? 1 - dot(x, y, dims: dims) : squaredDistance(x, y, dims: dims)
    }

    /// x·y in four-lane vectors with four running sums (sixteen products in
    /// flight: one scalar sum would be a single dependency chain and scalar
    /// instructions), the last dims mod 16 one by one.
    @inline(__always)
    static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, dims: Int) -> Float {
        let rx = UnsafeRawPointer(x), ry = UnsafeRawPointer(y)
        var a0 = SIMD4<Float>(), a1 = a0, a2 = a0, a3 = a0
        var j = 0
        while j + 16 <= dims {
            let o = 4 * j
            a0 += rx.loadUnaligned(fromByteOffset: o, as: SIMD4<Float>.self) * ry.loadUnaligned(fromByteOffset: o, as: SIMD4<Float>.self)
            a1 += rx.loadUnaligned(fromByteOffset: o + 16, as: SIMD4<Float>.self) * ry.loadUnaligned(fromByteOffset: o + 16, as: SIMD4<Float>.self)
            a2 += rx.loadUnaligned(fromByteOffset: o + 32, as: SIMD4<Float>.self) * ry.loadUnaligned(fromByteOffset: o + 32, as: SIMD4<Float>.self)
            a3 += rx.loadUnaligned(fromByteOffset: o + 48, as: SIMD4<Float>.self) * ry.loadUnaligned(fromByteOffset: o + 48, as: SIMD4<Float>.self)
            j += 16
        }
        var s = ((a0 + a1) + (a2 + a3)).sum()
        while j < dims { s += x[j] * y[j]; j += 1 }
        return s
    }

    /// ‖x − y‖², laid out as `dot`.
    @inline(__always)
    static func squaredDistance(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, dims: Int) -> Float {
        let rx = UnsafeRawPointer(x), ry = UnsafeRawPointer(y)
        var a0 = SIMD4<Float>(), a1 = a0, a2 = a0, a3 = a0
        var j = 0
        while j + 16 <= dims {
            let o = 4 * j
            let d0 = rx.loadUnaligned(fromByteOffset: o, as: SIMD4<Float>.self) - ry.loadUnaligned(fromByteOffset: o, as: SIMD4<Float>.self)
            let d1 = rx.loadUnaligned(fromByteOffset: o + 16, as: SIMD4<Float>.self) - ry.loadUnaligned(fromByteOffset: o + 16, as: SIMD4<Float>.self)
            let d2 = rx.loadUnaligned(fromByteOffset: o + 32, as: SIMD4<Float>.self) - ry.loadUnaligned(fromByteOffset: o + 32, as: SIMD4<Float>.self)
            let d3 = rx.loadUnaligned(fromByteOffset: o + 48, as: SIMD4<Float>.self) - ry.loadUnaligned(fromByteOffset: o + 48, as: SIMD4<Float>.self)
            a0 += d0 * d0; a1 += d1 * d1; a2 += d2 * d2; a3 += d3 * d3
            j += 16
        }
        var s = ((a0 + a1) + (a2 + a3)).sum()
        while j < dims { let d = x[j] - y[j]; s += d * d; j += 1 }
        return s
    }

    /// A proposed edge p–q at distance d, offered to both heaps.
    struct Offer { var p: Int32; var q: Int32; var d: Float }

    /// Mutating: the points are replaced by their renumbered copy, so the table is held once.
    mutating func run(progress: ((String) -> Void)?) -> KNNGraph {
        let forest = forestLeaves()
        progress?("nearest neighbours: \(trees) trees, \(forest.reduce(0) { $0 + $1.count }) leaves")
        // The descent runs on the points renumbered in the order of the first tree's
        // leaves: points that are close then sit close in memory, so the rows a leaf or
        // a local join reads come from a few pages rather than from all over the table.
        let order = forest[0].flatMap { $0 }
        var position = [Int32](repeating: 0, count: n)
        for (p, i) in order.enumerated() { position[Int(i)] = Int32(p) }
        renumber(order)
        let heap = NeighbourHeaps(rows: n, k: k)
        initialiseFromLeaves(heap, forest: forest.map { tree in tree.map { leaf in leaf.map { position[Int($0)] } } })
        fillShortRows(heap)
        progress?("nearest neighbours: leaves joined")
        for iteration in 0..<iterations {
            let changed = iterate(heap, iteration: iteration)
            progress?("nearest neighbours: NN-descent iteration \(iteration + 1), \(changed) updates")
            if Float(changed) <= delta * Float(n * k) { break }
        }
        return heap.renumbered(order).sorted(euclidean: metric == .euclidean)
    }

    /// Takes the points in `order` (point p becomes point order[p]); the old table is released.
    mutating func renumber(_ order: [Int32]) {
        let dims = self.dims
        points = [Float](unsafeUninitializedCapacity: points.count) { out, count in
            points.withUnsafeBufferPointer { x in
                for (p, i) in order.enumerated() {
                    (out.baseAddress! + p * dims).initialize(from: x.baseAddress! + Int(i) * dims, count: dims)
                }
            }
            count = points.count
        }
    }

    // MARK: Random-projection forest

    /// The leaves of each tree, each leaf a list of point indices.
    func forestLeaves() -> [[[Int32]]] {
        var perTree = [[[Int32]]](repeating: [], count: trees)
        perTree.withUnsafeMutableBufferPointer { out in
            let shared = SharedBuffer(out)
            points.withUnsafeBufferPointer { x in
                let xs = SharedBuffer(UnsafeMutablePointer(mutating: x.baseAddress!))
                Parallel.pieces(trees, workers: threads) { t in
                    shared[t] = treeLeaves(UnsafePointer(xs.base), tree: t)
                }
            }
        }
        return perTree
    }

    /// One tree's leaves: ranges of an index array partitioned in place by
    /// random hyperplanes until each range holds at most `leafSize` points.
    func treeLeaves(_ x: UnsafePointer<Float>, tree: Int) -> [[Int32]] {
        var order = (0..<n).map { Int32($0) }
        var rng = XorShiftStar(seed: CounterHash.hash(seed, 0x7265_6573, UInt64(tree)))
        var leaves: [[Int32]] = []
        var stack: [(Int, Int, Int)] = [(0, n, 0)]
        var normal = [Float](repeating: 0, count: dims)
        var side = [Bool](repeating: false, count: n)
        var scratch = [Int32](repeating: 0, count: n)
        let cosine = metric == .cosine
        while let (lo, hi, depth) = stack.popLast() {
            let size = hi - lo
            if size <= leafSize || depth >= 200 {
                leaves.append(Array(order[lo..<hi]))
                continue
            }
            let li = rng.below(size)
            var ri = rng.below(size - 1)
            if ri >= li { ri += 1 }
            let left = x + Int(order[lo + li]) * dims, right = x + Int(order[lo + ri]) * dims
            // Rows are already unit length for cosine, so the normal is their difference.
            var offset: Float = 0
            var norm2: Float = 0
            for j in 0..<dims {
                normal[j] = left[j] - right[j]
                norm2 += normal[j] * normal[j]
                if !cosine { offset -= normal[j] * (left[j] + right[j]) / 2 }
            }
            var leftCount = 0
            for t in lo..<hi {
                let margin = offset + normal.withUnsafeBufferPointer { NNDescent.dot($0.baseAddress!, x + Int(order[t]) * dims, dims: dims) }
                let goesLeft = abs(margin) < 1e-8 * max(norm2, 1e-30) ? (rng.next() & 1 == 0) : margin > 0
                side[t] = goesLeft
                if goesLeft { leftCount += 1 }
            }
            if leftCount == 0 || leftCount == size {
                // Degenerate split (duplicates, or all on one side): halve at random.
                leftCount = 0
                for t in lo..<hi { side[t] = rng.next() & 1 == 0; if side[t] { leftCount += 1 } }
                if leftCount == 0 || leftCount == size {
                    for t in lo..<hi { side[t] = t - lo < size / 2 }
                    leftCount = size / 2
                }
            }
            var l = lo, r = lo + leftCount
            for t in lo..<hi {
                if side[t] { scratch[l] = order[t]; l += 1 } else { scratch[r] = order[t]; r += 1 }
            }
            for t in lo..<hi { order[t] = scratch[t] }
            stack.append((lo + leftCount, hi, depth + 1))
            stack.append((lo, lo + leftCount, depth + 1))
        }
        return leaves
    }

    /// Joins every pair within each leaf: both points' heaps are offered the
    /// pair. The trees go in order; within a tree the leaves part the points,
    /// so pieces of `piece` leaves go to the workers, each writing only its
    /// leaves' heaps, and every heap sees its candidates in the same order for
    /// any thread count. The heaps end as they did when the pairs went through
    /// `generate` and `apply` (as the local join's must), where every worker
    /// scanned every pair: at 59k points 0.23–0.24 s instead of 0.26 s.
    func initialiseFromLeaves(_ heap: NeighbourHeaps, forest: [[[Int32]]]) {
        let cosine = metric == .cosine, dims = self.dims
        points.withUnsafeBufferPointer { xb in
            let x = SharedBuffer(UnsafeMutablePointer(mutating: xb.baseAddress!))
            for leaves in forest {
                Parallel.pieces((leaves.count + piece - 1) / piece, workers: threads) { p in
                    for leaf in leaves[(p * piece)..<min(leaves.count, (p + 1) * piece)] {
                        for a in 0..<leaf.count {
                            let pa = Int(leaf[a]), xa = UnsafePointer(x.base) + pa * dims
                            for b in (a + 1)..<leaf.count {
                                let pb = Int(leaf[b])
                                let d = NNDescent.distance(xa, UnsafePointer(x.base) + pb * dims, dims: dims, cosine: cosine)
                                _ = heap.push(pa, leaf[b], d, isNew: true)
                                _ = heap.push(pb, leaf[a], d, isNew: true)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Rows with fewer than k entries (a leaf smaller than k + 1) get random points.
    func fillShortRows(_ heap: NeighbourHeaps) {
        let cosine = metric == .cosine
        points.withUnsafeBufferPointer { xb in
            let x = xb.baseAddress!
            for i in 0..<n where heap.filled(i) < k {
                var rng = XorShiftStar(seed: CounterHash.hash(seed, 0x6669_6C6C, UInt64(i)))
                while heap.filled(i) < k {
                    let j = rng.below(n)
                    if j == i { continue }
                    _ = heap.push(i, Int32(j), NNDescent.distance(x + i * dims, x + j * dims, dims: dims, cosine: cosine), isNew: true)
                }
            }
        }
    }

    // MARK: NN-descent

    /// One round of candidate sampling and local join; returns the number of
    /// heap entries that changed.
    func iterate(_ heap: NeighbourHeaps, iteration: Int) -> Int {
        let (newCandidates, oldCandidates) = buildCandidates(heap, iteration: iteration)
        let cosine = metric == .cosine, dims = self.dims, m = maxCandidates
        var changed = 0
        for blockStart in stride(from: 0, to: n, by: vertexBlock) {
            let blockEnd = min(n, blockStart + vertexBlock)
            let pieces = (blockEnd - blockStart + piece - 1) / piece
            let offers = generate(pieces: pieces) { p, x, out in
                for i in (blockStart + p * piece)..<min(blockEnd, blockStart + (p + 1) * piece) {
                    let fresh = newCandidates[(i * m)..<((i + 1) * m)], old = oldCandidates[(i * m)..<((i + 1) * m)]
                    for a in fresh.indices {
                        let pa = fresh[a]
                        if pa < 0 { continue }
                        let xa = x + Int(pa) * dims, ta = heap.threshold(Int(pa))
                        for b in (a + 1)..<fresh.endIndex {
                            let q = fresh[b]
                            if q < 0 || q == pa { continue }
                            let d = NNDescent.distance(xa, x + Int(q) * dims, dims: dims, cosine: cosine)
                            if d < max(ta, heap.threshold(Int(q))) { out.append(Offer(p: pa, q: q, d: d)) }
                        }
                        for q in old {
                            if q < 0 || q == pa { continue }
                            let d = NNDescent.distance(xa, x + Int(q) * dims, dims: dims, cosine: cosine)
                            if d < max(ta, heap.threshold(Int(q))) { out.append(Offer(p: pa, q: q, d: d)) }
                        }
                    }
                }
            }
            changed += apply(offers, to: heap)
        }
        return changed
    }

    /// Each point's new and old candidates (`n × maxCandidates`, −1 padded):
    /// its heap entries and the points that hold it in theirs, new or old by the
    /// entry's flag, the `maxCandidates` of lowest random priority kept. New
    /// entries that were sampled are then flagged old. Workers own ranges of
    /// destination rows and all scan the edges in the same order.
    ///
    /// The old candidates are gathered only for points with a new one: the
    /// local join pairs new with new and new with old, so a point without new
    /// candidates has no use for old ones. Late rounds, where few entries are
    /// new, then skip most of the scan's hashing (59k points: 0.03 → 0.01 s a
    /// round); the lists that are used are the same.
    func buildCandidates(_ heap: NeighbourHeaps, iteration: Int) -> (new: [Int32], old: [Int32]) {
        let m = maxCandidates, n = self.n, k = self.k
        var newIdx = [Int32](repeating: -1, count: n * m), oldIdx = [Int32](repeating: -1, count: n * m)
        var newPri = [Float](repeating: .infinity, count: n * m), oldPri = [Float](repeating: .infinity, count: n * m)
        let iterSeed = CounterHash.hash(seed, 0x6361_6E64, UInt64(iteration))
        let workers = max(1, min(threads, n / 1024 + 1))
        newIdx.withUnsafeMutableBufferPointer { ni in
            oldIdx.withUnsafeMutableBufferPointer { oi in
                newPri.withUnsafeMutableBufferPointer { np in
                    oldPri.withUnsafeMutableBufferPointer { op in
                        let ni = SharedBuffer(ni), oi = SharedBuffer(oi), np = SharedBuffer(np), op = SharedBuffer(op)
                        // One scan for the new entries, one for the old, each worker pushing into its rows.
                        var hasNew = [Bool](repeating: true, count: n)
                        func scan(new: Bool, into ix: SharedBuffer<Int32>, _ pr: SharedBuffer<Float>) {
                            Parallel.run(workers: workers) { w in
                                let lo = n * w / workers, hi = n * (w + 1) / workers
                                for i in 0..<n {
                                    for j in 0..<k where heap.isNew(i, j) == new {
                                        let idx = heap.index(i, j)
                                        if idx < 0 { continue }
                                        // A row wants old candidates only if it has a new one.
                                        let mine = i >= lo && i < hi && hasNew[i]
                                        let theirs = Int(idx) >= lo && Int(idx) < hi && hasNew[Int(idx)]
                                        if !mine && !theirs { continue }
                                        let priority = CounterHash.unit(iterSeed, UInt64(i), UInt64(idx))
                                        if mine { NeighbourHeaps.priorityPush(pr.base + i * m, ix.base + i * m, m, priority, idx) }
                                        if theirs { NeighbourHeaps.priorityPush(pr.base + Int(idx) * m, ix.base + Int(idx) * m, m, priority, Int32(i)) }
                                    }
                                }
                            }
                        }
                        scan(new: true, into: ni, np)
                        hasNew.withUnsafeMutableBufferPointer { hb in
                            let hb = SharedBuffer(hb)
                            Parallel.run(workers: workers) { w in
                                for i in (n * w / workers)..<(n * (w + 1) / workers) {
                                    hb[i] = (0..<m).contains { ni[i * m + $0] >= 0 }
                                }
                            }
                        }
                        scan(new: false, into: oi, op)
                        // Entries now sampled as new are joined this round: flag them old
                        // (after every worker has read the flags, hence a second pass).
                        Parallel.run(workers: workers) { w in
                            let lo = n * w / workers, hi = n * (w + 1) / workers
                            for i in lo..<hi {
                                for j in 0..<k where heap.isNew(i, j) {
                                    let idx = heap.index(i, j)
                                    for c in 0..<m where ni[i * m + c] == idx { heap.markOld(i, j); break }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (newIdx, oldIdx)
    }

    /// Runs `body(piece, points, offers)` for each piece on the worker
    /// threads and returns the pieces' offers in piece order.
    func generate(pieces: Int, _ body: (Int, UnsafePointer<Float>, inout [Offer]) -> Void) -> [[Offer]] {
        var out = [[Offer]](repeating: [], count: pieces)
        points.withUnsafeBufferPointer { xb in
            let x = SharedBuffer(UnsafeMutablePointer(mutating: xb.baseAddress!))
            out.withUnsafeMutableBufferPointer { ob in
                let o = SharedBuffer(ob)
                Parallel.pieces(pieces, workers: threads) { p in
                    var local: [Offer] = []
                    body(p, UnsafePointer(x.base), &local)
                    o[p] = local
                }
            }
        }
        return out
    }

    /// Pushes every offer into both endpoints' heaps. Worker w owns rows
    /// `[n·w/T, n·(w+1)/T)` and reads all offers in order, so each heap sees its
    /// offers in the same order for any T. Returns the number of entries changed.
    func apply(_ offers: [[Offer]], to heap: NeighbourHeaps) -> Int {
        let workers = max(1, min(threads, n / 1024 + 1))
        var changed = [Int](repeating: 0, count: workers)
        changed.withUnsafeMutableBufferPointer { cb in
            let c = SharedBuffer(cb)
            Parallel.run(workers: workers) { w in
                let lo = Int32(n * w / workers), hi = Int32(n * (w + 1) / workers)
                var count = 0
                for list in offers {
                    for o in list {
                        if o.p >= lo && o.p < hi && heap.push(Int(o.p), o.q, o.d, isNew: true) { count += 1 }
                        if o.q >= lo && o.q < hi && heap.push(Int(o.q), o.p, o.d, isNew: true) { count += 1 }
                    }
                }
                c[w] = count
            }
        }
        return changed.reduce(0, +)
    }
}

/// Per-row bounded max-heaps of (distance, index, new-flag), `rows × k`:
/// the root is the worst neighbour kept, so a closer offer replaces it.
final class NeighbourHeaps: @unchecked Sendable {
    let rows, k: Int
    let distances: UnsafeMutablePointer<Float>
    let indices: UnsafeMutablePointer<Int32>
    let flags: UnsafeMutablePointer<UInt8>

    init(rows: Int, k: Int) {
        self.rows = rows
        self.k = k
        distances = .allocate(capacity: rows * k)
        distances.initialize(repeating: .infinity, count: rows * k)
        indices = .allocate(capacity: rows * k)
        indices.initialize(repeating: -1, count: rows * k)
        flags = .allocate(capacity: rows * k)
        flags.initialize(repeating: 0, count: rows * k)
    }

    deinit {
        distances.deallocate()
        indices.deallocate()
        flags.deallocate()
    }

    /// The worst distance kept for row i (∞ while the row is not full).
    @inline(__always) func threshold(_ i: Int) -> Float { distances[i * k] }
    @inline(__always) func index(_ i: Int, _ j: Int) -> Int32 { indices[i * k + j] }
    @inline(__always) func isNew(_ i: Int, _ j: Int) -> Bool { flags[i * k + j] != 0 }
    @inline(__always) func markOld(_ i: Int, _ j: Int) { flags[i * k + j] = 0 }
    func filled(_ i: Int) -> Int { (0..<k).reduce(0) { $0 + (indices[i * k + $1] >= 0 ? 1 : 0) } }

    /// Offers `q` at distance `d` to row `i`: kept if closer than the root and
    /// not already present. Returns whether the heap changed.
    @inline(__always)
    func push(_ i: Int, _ q: Int32, _ d: Float, isNew: Bool) -> Bool {
        let dist = distances + i * k, idx = indices + i * k, flag = flags + i * k
        if !(d < dist[0]) || Int(q) == i { return false }
        for j in 0..<k where idx[j] == q { return false }
        NeighbourHeaps.siftDown(dist, idx, flag, k, d, q, isNew ? 1 : 0)
        return true
    }

    /// Replaces the root with (d, q, f) and restores the max-heap order.
    @inline(__always)
    static func siftDown(_ dist: UnsafeMutablePointer<Float>, _ idx: UnsafeMutablePointer<Int32>,
                         _ flag: UnsafeMutablePointer<UInt8>, _ k: Int, _ d: Float, _ q: Int32, _ f: UInt8) {
        let i = rootSlot(dist, k, d) { from, to in idx[to] = idx[from]; flag[to] = flag[from] }
        dist[i] = d; idx[i] = q; flag[i] = f
    }

    /// Where a new root key `d` settles in a max-heap of `k` keys: children
    /// larger than `d` move up a level (`move(from, to)` carries their
    /// payload) and the freed slot is returned.
    @inline(__always)
    static func rootSlot(_ keys: UnsafeMutablePointer<Float>, _ k: Int, _ d: Float, move: (Int, Int) -> Void) -> Int {
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var swap = i
            var top = d
            if l < k && keys[l] > top { swap = l; top = keys[l] }
            if r < k && keys[r] > top { swap = r }
            if swap == i { return i }
            keys[i] = keys[swap]; move(swap, i)
            i = swap
        }
    }

    /// The same max-heap push keyed by priority, for candidate sampling
    /// (duplicates are skipped: a point can be both neighbour and reverse neighbour).
    @inline(__always)
    static func priorityPush(_ pri: UnsafeMutablePointer<Float>, _ idx: UnsafeMutablePointer<Int32>, _ m: Int, _ p: Float, _ q: Int32) {
        if !(p < pri[0]) { return }
        for j in 0..<m where idx[j] == q { return }
        let i = rootSlot(pri, m, p) { from, to in idx[to] = idx[from] }
        pri[i] = p; idx[i] = q
    }

    /// The heaps of points numbered `order[p]` for p: row p becomes row order[p],
    /// and every index q order[q].
    func renumbered(_ order: [Int32]) -> NeighbourHeaps {
        let out = NeighbourHeaps(rows: rows, k: k)
        for p in 0..<rows {
            let from = p * k, to = Int(order[p]) * k
            for j in 0..<k {
                out.distances[to + j] = distances[from + j]
                out.indices[to + j] = indices[from + j] < 0 ? -1 : order[Int(indices[from + j])]
                out.flags[to + j] = flags[from + j]
            }
        }
        return out
    }

    /// Every row sorted nearest first (ties by index), as a `KNNGraph`;
    /// squared euclidean distances become distances, cosine ones are clamped at 0.
    func sorted(euclidean: Bool) -> KNNGraph {
        var outIdx = [Int32](repeating: -1, count: rows * k)
        var outDist = [Float](repeating: 0, count: rows * k)
        var order = [Int](repeating: 0, count: k)
        for i in 0..<rows {
            let base = i * k
            for j in 0..<k { order[j] = j }
            order.sort { (distances[base + $0], indices[base + $0]) < (distances[base + $1], indices[base + $1]) }
            for (t, j) in order.enumerated() {
                outIdx[base + t] = indices[base + j]
                let d = distances[base + j]
                outDist[base + t] = euclidean ? d.squareRoot() : max(0, d)
            }
        }
        return KNNGraph(count: rows, k: k, indices: outIdx, distances: outDist)
    }
}
