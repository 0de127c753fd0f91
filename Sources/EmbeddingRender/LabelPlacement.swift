import Foundation
import EmbeddingCore

/// Places text labels beside their points so that no two labels overlap and
/// none leaves the frame, hiding as few points as it can.
///
/// The point-feature labelling problem, solved as Christensen, Marks & Shieber
/// do (*An empirical study of algorithms for point-feature label placement*,
/// ACM TOG 1995): every label gets a fixed set of candidate boxes — eight
/// directions around its point (right preferred, as cartographers do) at four
/// distances up to ~34 px, plus a wide ring of sixteen directions at 50–90 px
/// that costs much more and is used only where the near spots are taken; the
/// farther spots are drawn with a leader line. One candidate per label is
/// chosen to minimise
///
///     E = Σ_i [ preference(c_i) + Σ weight of the points under box(c_i) ]
///       + Σ_{i<j} ( 1000·[box(c_i) overlaps box(c_j)]
///                 + 40·[a leader line of one crosses the other's box]
///                 + 25·[their leader lines cross] )
///
/// first greedily in priority order, then by simulated annealing (one label
/// moves per step, Metropolis acceptance, geometric cooling, a fixed seed so
/// the picture is the same on every run), then a settling sweep. Whatever
/// overlap survives is removed in priority order: a label clashing with a
/// more important one moves to its cheapest free spot or, if it has none, is
/// dropped — so the guarantee (no overlaps, nothing outside the frame) holds
/// however crowded the plot.
public enum LabelPlacement {
    public struct Request: Sendable {
        /// The point the label names, in canvas pixels.
        public var x: Double, y: Double
        /// Radius of the point's marker, which the label must not cover.
        public var radius: Double
        /// Size of the text's box.
        public var width: Double, height: Double
        public init(x: Double, y: Double, radius: Double, width: Double, height: Double) {
            self.x = x; self.y = y; self.radius = radius; self.width = width; self.height = height
        }
    }

    public struct Placement: Equatable, Sendable {
        public var box: Box
        /// The box stands off from its point: draw a line from the point to it.
        public var leader: Bool
    }

    /// An obstacle the labels should avoid covering: a drawn point, and how
    /// much covering it costs (a labelled point's marker matters more than a
    /// point of the background cloud).
    public struct Marker: Sendable {
        public var x: Double, y: Double, radius: Double, weight: Double
        public init(x: Double, y: Double, radius: Double, weight: Double = 0.25) {
            self.x = x; self.y = y; self.radius = radius; self.weight = weight
        }
    }

    struct Candidate {
        var box: Box
        /// The box with the padding kept free around a label.
        var padded: Box
        var leader: Bool
        /// Where the leader line meets the box (meaningful when `leader`).
        var end: (x: Double, y: Double)
        var cost: Double
    }

    static let overlapCost = 1000.0
    static let crossingCost = 40.0
    static let leadersCrossCost = 25.0
    /// Space kept free around each label, so labels never touch.
    static let padding = 1.5

    /// - Parameters:
    ///   - labels: requests in priority order (the first is kept when two clash).
    ///   - markers: every drawn point (including the labelled ones).
    ///   - frame: the labels stay inside it.
    /// - Returns: a placement per request, nil for a label that found no room.
    public static func place(_ labels: [Request], markers: [Marker], frame: Box, seed: UInt64 = 1) -> [Placement?] {
        let grid = MarkerGrid(markers, cell: 24)
        let n = labels.count
        let candidates = labels.map { ring($0, frame: frame, grid: grid, wide: false) + ring($0, frame: frame, grid: grid, wide: true) }

        @inline(__always) func pairCost(_ a: Candidate, _ ai: Int, _ b: Candidate, _ bi: Int) -> Double {
            if a.padded.overlap(b.box) > 0 { return overlapCost }
            if a.leader && b.box.intersects(segmentFrom: (labels[ai].x, labels[ai].y), to: a.end) { return crossingCost }
            if b.leader && a.box.intersects(segmentFrom: (labels[bi].x, labels[bi].y), to: b.end) { return crossingCost }
            if a.leader && b.leader && segmentsCross((labels[ai].x, labels[ai].y), a.end, (labels[bi].x, labels[bi].y), b.end) {
                return leadersCrossCost
            }
            return 0
        }

        // Labels whose candidate regions can meet: only these pairs interact.
        let reach = candidates.map { cs in cs.dropFirst().reduce(cs.first?.padded) { acc, c in acc.map { union($0, c.padded) } } }
        var neighbours = [[Int]](repeating: [], count: n)
        for i in 0..<n {
            guard let ri = reach[i] else { continue }
            for j in (i + 1)..<max(i + 1, n) where reach[j].map({ ri.overlap($0) > 0 }) ?? false {
                neighbours[i].append(j)
                neighbours[j].append(i)
            }
        }

        var choice = [Int](repeating: -1, count: n)
        func localCost(_ i: Int, _ c: Int) -> Double {
            let cand = candidates[i][c]
            var cost = cand.cost
            for j in neighbours[i] where choice[j] >= 0 { cost += pairCost(cand, i, candidates[j][choice[j]], j) }
            return cost
        }
        func best(_ i: Int) -> Int {
            var best = 0, bestCost = Double.infinity
            for c in candidates[i].indices {
                let cost = localCost(i, c)
                if cost < bestCost { best = c; bestCost = cost }
            }
            return best
        }

        // Greedy start in priority order, then annealing, then a settling sweep.
        for i in 0..<n where !candidates[i].isEmpty { choice[i] = best(i) }
        let movable = (0..<n).filter { candidates[$0].count > 1 }
        if !movable.isEmpty {
            var rng = SplitMix64(seed: seed)
            // Work grows with labels × neighbours; keep the total bounded.
            let meanDegree = max(1, movable.reduce(0) { $0 + neighbours[$1].count } / movable.count)
            let steps = min(max(20_000, 1_000 * movable.count), 30_000_000 / meanDegree)
            let t0 = 60.0, t1 = 0.02
            let cooling = pow(t1 / t0, 1 / Double(steps))
            var t = t0
            for _ in 0..<steps {
                let i = movable[Int(rng.next() % UInt64(movable.count))]
                let c = Int(rng.next() % UInt64(candidates[i].count))
                if c != choice[i] {
                    let delta = localCost(i, c) - localCost(i, choice[i])
                    if delta <= 0 || Double(rng.nextFloat()) < exp(-delta / t) { choice[i] = c }
                }
                t *= cooling
            }
            for i in movable { choice[i] = best(i) }
        }
        // The guarantee. In priority order, a label that clashes with a kept,
        // more important one moves to its cheapest spot clear of every kept
        // label; failing that it is dropped.
        var kept = [Bool](repeating: false, count: n)
        var keptIndices: [Int] = []
        for i in 0..<n where choice[i] >= 0 {
            func clear(_ cand: Candidate) -> Bool {
                !keptIndices.contains { candidates[$0][choice[$0]].padded.overlap(cand.box) > 0 || cand.padded.overlap(candidates[$0][choice[$0]].box) > 0 }
            }
            if !clear(candidates[i][choice[i]]) {
                // The cheapest of its spots that is clear of every kept label.
                guard let free = candidates[i].indices.filter({ clear(candidates[i][$0]) }).min(by: { candidates[i][$0].cost < candidates[i][$1].cost }) else { continue }
                choice[i] = free
            }
            kept[i] = true
            keptIndices.append(i)
        }
        return (0..<n).map { i in
            kept[i] ? Placement(box: candidates[i][choice[i]].box, leader: candidates[i][choice[i]].leader) : nil
        }
    }

    /// Candidate boxes around a point, keeping those inside the frame: eight
    /// directions (right first, the conventional reading position) at four
    /// distances, or for `wide` sixteen directions at three larger distances.
    static func ring(_ r: Request, frame: Box, grid: MarkerGrid, wide: Bool) -> [Candidate] {
        // (dx, dy) unit direction and the preference cost of that side.
        var directions: [(Double, Double, Double)] = [
            (1, 0, 0), (-1, 0, 0.4), (0.7071, -0.7071, 0.6), (0.7071, 0.7071, 0.7),
            (-0.7071, -0.7071, 0.8), (-0.7071, 0.7071, 0.9), (0, -1, 1.0), (0, 1, 1.1),
        ]
        var distances: [(Double, Double)] = [(r.radius + 2, 0), (r.radius + 10, 1.2), (r.radius + 20, 2.4), (r.radius + 34, 4)]
        if wide {
            directions += [(0.9239, -0.3827, 0.5), (0.9239, 0.3827, 0.5), (-0.9239, -0.3827, 0.7), (-0.9239, 0.3827, 0.7),
                           (0.3827, -0.9239, 0.9), (0.3827, 0.9239, 0.9), (-0.3827, -0.9239, 1.0), (-0.3827, 0.9239, 1.0)]
            distances = [(r.radius + 50, 15), (r.radius + 70, 20), (r.radius + 90, 25)]
        }
        var out: [Candidate] = []
        for (gap, distanceCost) in distances {
            for (dx, dy, sideCost) in directions {
                // The box's corner or edge midpoint nearest the point sits `gap` away along (dx, dy).
                let ax = r.x + dx * gap, ay = r.y + dy * gap
                let x = dx > 0.1 ? ax : dx < -0.1 ? ax - r.width : ax - r.width / 2
                let y = dy > 0.1 ? ay : dy < -0.1 ? ay - r.height : ay - r.height / 2
                let box = Box(x: x, y: y, width: r.width, height: r.height)
                guard frame.contains(box) else { continue }
                let covered = grid.weight(in: box, excluding: (r.x, r.y))
                let end = (min(max(r.x, box.x), box.maxX), min(max(r.y, box.y), box.maxY))
                out.append(Candidate(box: box, padded: box.insetBy(-padding), leader: distanceCost > 0, end: end,
                                     cost: sideCost + distanceCost + covered))
            }
        }
        return out
    }

    /// Whether segments p1p2 and q1q2 properly cross (orientation test).
    static func segmentsCross(_ p1: (Double, Double), _ p2: (Double, Double), _ q1: (Double, Double), _ q2: (Double, Double)) -> Bool {
        func orient(_ a: (Double, Double), _ b: (Double, Double), _ c: (Double, Double)) -> Double {
            (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0)
        }
        let d1 = orient(q1, q2, p1), d2 = orient(q1, q2, p2), d3 = orient(p1, p2, q1), d4 = orient(p1, p2, q2)
        return ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))
    }

    static func union(_ a: Box, _ b: Box) -> Box {
        let x = min(a.x, b.x), y = min(a.y, b.y)
        return Box(x: x, y: y, width: max(a.maxX, b.maxX) - x, height: max(a.maxY, b.maxY) - y)
    }
}

/// Markers binned in a uniform grid, for weighing those under a box.
struct MarkerGrid {
    let cell: Double
    var bins: [Int64: [LabelPlacement.Marker]] = [:]

    init(_ markers: [LabelPlacement.Marker], cell: Double) {
        self.cell = cell
        for m in markers { bins[key(Int((m.x / cell).rounded(.down)), Int((m.y / cell).rounded(.down))), default: []].append(m) }
    }

    func key(_ cx: Int, _ cy: Int) -> Int64 { Int64(cx) << 32 | Int64(UInt32(bitPattern: Int32(truncatingIfNeeded: cy))) }

    /// Total weight of the markers touching `box`, other than the one at `own`.
    func weight(in box: Box, excluding own: (Double, Double)) -> Double {
        let maxR = cell / 2
        let x0 = Int(((box.x - maxR) / cell).rounded(.down)), x1 = Int(((box.maxX + maxR) / cell).rounded(.down))
        let y0 = Int(((box.y - maxR) / cell).rounded(.down)), y1 = Int(((box.maxY + maxR) / cell).rounded(.down))
        var total = 0.0
        for cx in x0...x1 {
            for cy in y0...y1 {
                for m in bins[key(cx, cy)] ?? [] where !(m.x == own.0 && m.y == own.1) && box.touches(cx: m.x, cy: m.y, r: m.radius) {
                    total += m.weight
                }
            }
        }
        return total
    }
}
