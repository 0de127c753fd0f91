import Foundation

/// Places text labels beside their points so that no two labels overlap and
/// none leaves the frame, hiding as few points as it can.
///
/// The point-feature labelling problem, solved as Christensen, Marks & Shieber
/// do (*An empirical study of algorithms for point-feature label placement*,
/// ACM TOG 1995): every label gets a fixed set of candidate boxes — eight
/// directions around its point (right preferred, as cartographers do) at
/// four distances, the farther ones drawn with a leader line — and one
/// candidate per label is chosen to minimise
///
///     E = Σ_i [ preference(c_i) + Σ weight of the points under box(c_i) ]
///       + Σ_{i<j} ( 100·[box(c_i) overlaps box(c_j)]
///                 + 8·[a leader line of one crosses the other's box] )
///
/// first greedily in priority order, then by simulated annealing (one label
/// moves per step, Metropolis acceptance, geometric cooling, a fixed seed so
/// the picture is the same on every run). Whatever overlap survives is
/// removed by dropping the lower-priority label of each clashing pair, so the
/// guarantee holds even when the plot is too crowded for every label.
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
        var leader: Bool
        var cost: Double
        /// Where the leader line meets the box (meaningful when `leader`).
        var leaderEnd: (x: Double, y: Double)
    }

    static let overlapCost = 100.0
    static let crossingCost = 8.0
    /// Space kept free around each label, so labels never touch.
    static let padding = 1.5

    /// - Parameters:
    ///   - labels: requests in priority order (the first is kept when two clash).
    ///   - markers: every drawn point (including the labelled ones).
    ///   - frame: the labels stay inside it.
    /// - Returns: a placement per request, nil for a label that could not be placed.
    public static func place(_ labels: [Request], markers: [Marker], frame: Box, seed: UInt64 = 1) -> [Placement?] {
        let grid = MarkerGrid(markers, cell: 24)
        let candidates = labels.map { candidatesFor($0, frame: frame, grid: grid) }
        let n = labels.count

        // Labels whose candidate regions can meet: only these pairs interact.
        let reach = candidates.map { cs in cs.dropFirst().reduce(cs.first?.box) { acc, c in acc.map { union($0, c.box) } } }
        var neighbours = [[Int]](repeating: [], count: n)
        for i in 0..<n {
            guard let ri = reach[i] else { continue }
            for j in (i + 1)..<max(i + 1, n) {
                guard let rj = reach[j], ri.insetBy(-padding).overlap(rj) > 0 else { continue }
                neighbours[i].append(j)
                neighbours[j].append(i)
            }
        }

        func clash(_ i: Int, _ ci: Int, _ j: Int, _ cj: Int) -> Bool {
            candidates[i][ci].box.insetBy(-padding).overlap(candidates[j][cj].box) > 0
        }
        func crossing(_ i: Int, _ ci: Int, _ j: Int, _ cj: Int) -> Bool {
            let a = candidates[i][ci], b = candidates[j][cj]
            return (a.leader && b.box.intersects(segmentFrom: (labels[i].x, labels[i].y), to: a.leaderEnd))
                || (b.leader && a.box.intersects(segmentFrom: (labels[j].x, labels[j].y), to: b.leaderEnd))
        }
        func pairCost(_ i: Int, _ ci: Int, _ j: Int, _ cj: Int) -> Double {
            clash(i, ci, j, cj) ? overlapCost : crossing(i, ci, j, cj) ? crossingCost : 0
        }

        // Greedy start: in priority order, the cheapest candidate given those already placed.
        var choice = [Int](repeating: -1, count: n)
        for i in 0..<n where !candidates[i].isEmpty {
            var best = 0, bestCost = Double.infinity
            for (c, cand) in candidates[i].enumerated() {
                var cost = cand.cost
                for j in neighbours[i] where choice[j] >= 0 { cost += pairCost(i, c, j, choice[j]) }
                if cost < bestCost { best = c; bestCost = cost }
            }
            choice[i] = best
        }

        // Simulated annealing over the movable labels.
        let movable = (0..<n).filter { candidates[$0].count > 1 }
        if !movable.isEmpty {
            var rng = SplitMix64(seed: seed)
            func localCost(_ i: Int, _ c: Int) -> Double {
                var cost = candidates[i][c].cost
                for j in neighbours[i] where choice[j] >= 0 { cost += pairCost(i, c, j, choice[j]) }
                return cost
            }
            let steps = max(20_000, 2_000 * movable.count)
            let t0 = 4.0, t1 = 0.02
            let cooling = Foundation.pow(t1 / t0, 1 / Double(steps))
            var t = t0
            for _ in 0..<steps {
                let i = movable[Int(rng.next() % UInt64(movable.count))]
                let c = Int(rng.next() % UInt64(candidates[i].count))
                if c != choice[i] {
                    let delta = localCost(i, c) - localCost(i, choice[i])
                    if delta <= 0 || Double(rng.nextFloat()) < Foundation.exp(-delta / t) { choice[i] = c }
                }
                t *= cooling
            }
            // A final greedy sweep settles each label at its best spot given the others.
            for i in movable {
                var best = choice[i], bestCost = localCost(i, best)
                for c in candidates[i].indices where localCost(i, c) < bestCost {
                    best = c
                    bestCost = localCost(i, c)
                }
                choice[i] = best
            }
        }

        // The guarantee: of two clashing labels, the lower-priority one goes.
        var kept = choice.map { $0 >= 0 }
        for j in 0..<n where kept[j] {
            if neighbours[j].contains(where: { $0 < j && kept[$0] && clash($0, choice[$0], j, choice[j]) }) {
                // Try to rescue it at a spot clear of every kept label first.
                let free = candidates[j].indices.filter { c in
                    !neighbours[j].contains { kept[$0] && clash(j, c, $0, choice[$0]) }
                }
                if let c = free.min(by: { candidates[j][$0].cost < candidates[j][$1].cost }) {
                    choice[j] = c
                } else {
                    kept[j] = false
                }
            }
        }
        return (0..<n).map { i in
            kept[i] ? Placement(box: candidates[i][choice[i]].box, leader: candidates[i][choice[i]].leader) : nil
        }
    }

    /// Eight directions (right first: the conventional reading position) at
    /// four distances, keeping those inside the frame.
    static func candidatesFor(_ r: Request, frame: Box, grid: MarkerGrid) -> [Candidate] {
        // (dx, dy) unit direction and the preference cost of that side.
        let directions: [(Double, Double, Double)] = [
            (1, 0, 0), (-1, 0, 0.4), (0.7, -0.7, 0.6), (0.7, 0.7, 0.7), (-0.7, -0.7, 0.8), (-0.7, 0.7, 0.9), (0, -1, 1.0), (0, 1, 1.1),
        ]
        let distances: [(Double, Double)] = [(r.radius + 2, 0), (r.radius + 10, 1.2), (r.radius + 20, 2.4), (r.radius + 34, 4)]
        var out: [Candidate] = []
        for (gap, distanceCost) in distances {
            for (dx, dy, sideCost) in directions {
                // The box corner or edge midpoint nearest the point sits `gap` away along (dx, dy).
                let ax = r.x + dx * gap, ay = r.y + dy * gap
                let x = dx > 0.1 ? ax : dx < -0.1 ? ax - r.width : ax - r.width / 2
                let y = dy > 0.1 ? ay : dy < -0.1 ? ay - r.height : ay - r.height / 2
                let box = Box(x: x, y: y, width: r.width, height: r.height)
                guard frame.contains(box) else { continue }
                let covered = grid.weight(in: box, excluding: (r.x, r.y))
                let end = (min(max(r.x, box.x), box.maxX), min(max(r.y, box.y), box.maxY))
                out.append(Candidate(box: box, leader: distanceCost > 0, cost: sideCost + distanceCost + covered, leaderEnd: end))
            }
        }
        return out
    }

    static func union(_ a: Box, _ b: Box) -> Box {
        let x = min(a.x, b.x), y = min(a.y, b.y)
        return Box(x: x, y: y, width: max(a.maxX, b.maxX) - x, height: max(a.maxY, b.maxY) - y)
    }
}

/// Markers binned in a uniform grid, for counting those under a box.
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
