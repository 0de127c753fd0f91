import EmbeddingCore

/// The same repulsive sums as `FFTRepulsion` by the Barnes–Hut approximation
/// (van der Maaten 2014; openTSNE's `quad_tree` and
/// `estimate_negative_gradient_bh`):
///
///     F_i = Σ_{j≠i} K_ij²·(y_i − y_j),     Z = Σ_{i≠j} K_ij,     K_ij = 1 / (1 + ‖y_i − y_j‖²)
///
/// A quadtree cell of side ℓ whose centre of mass c lies at distance d from
/// y_i stands for all its m points when ℓ/d < θ: it adds m·K(y_i, c) to Z_i
/// and m·K(y_i, c)²·(y_i − c) to F_i. Otherwise its children are visited.
/// Leaves hold up to `leafSize` points and are summed exactly when they are
/// not far enough to stand as one (openTSNE's leaves hold one point, so
/// this is never less accurate).
struct QuadTree {
    static let leafSize = 8
    /// Levels below the root; deeper cells would be below Float resolution.
    static let depth = 16

    /// Per node, in depth-first order: centre of mass, point count, side,
    /// the index after its subtree, and for leaves its points
    /// `first ..< first + count` in sorted order (−1 for inner nodes).
    private(set) var centreX: [Float] = [], centreY: [Float] = [], count: [Float] = [], side: [Float] = []
    private(set) var next: [Int32] = [], first: [Int32] = []
    /// Points in Morton (Z-order) order, and each one's original index.
    let sortedX: [Float], sortedY: [Float], order: [Int32]

    /// Builds the tree over `count` interleaved 2-D points: sort by Morton
    /// code within the bounding square (ties by index, so the order is
    /// unique), then cut the sorted run recursively by two code bits a level.
    init(_ y: UnsafePointer<Float>, count n: Int) {
        let (keys, rootSide) = Self.mortonKeys(y, count: n)
        order = keys.map { Int32(truncatingIfNeeded: $0) }
        sortedX = order.map { y[2 * Int($0)] }
        sortedY = order.map { y[2 * Int($0) + 1] }
        let codes = keys.map { UInt32($0 >> 32) }
        if n > 0 { build(codes, 0, n, level: 0, side: rootSide) }
    }

    /// Per point `code << 32 | index`, sorted, where `code` interleaves the
    /// bits of the point's cell among 2¹⁶ × 2¹⁶ in the bounding square (a
    /// Z-order curve: points close in the order are close in the plane);
    /// and the square's side.
    static func mortonKeys(_ y: UnsafePointer<Float>, count n: Int) -> (keys: [UInt64], side: Float) {
        var lowX = Float.infinity, lowY = Float.infinity, highX = -Float.infinity, highY = -Float.infinity
        for i in 0..<n {
            lowX = min(lowX, y[2 * i]); highX = max(highX, y[2 * i])
            lowY = min(lowY, y[2 * i + 1]); highY = max(highY, y[2 * i + 1])
        }
        let side = max(highX - lowX, highY - lowY, Float.leastNormalMagnitude * 1e6)
        let cells = Float(1 << Self.depth), scale = cells / side
        var keys = [UInt64](repeating: 0, count: n)
        for i in 0..<n {
            let qx = UInt32(min(max((y[2 * i] - lowX) * scale, 0), cells - 1))
            let qy = UInt32(min(max((y[2 * i + 1] - lowY) * scale, 0), cells - 1))
            keys[i] = UInt64(Self.interleave(qx, qy)) << 32 | UInt64(i)
        }
        keys.sort()
        return (keys, side)
    }

    /// Bits of x at even positions, bits of y at odd ones.
    static func interleave(_ x: UInt32, _ y: UInt32) -> UInt32 {
        func spread(_ v: UInt32) -> UInt32 {
            var v = v & 0xFFFF
            v = (v | (v << 8)) & 0x00FF_00FF
            v = (v | (v << 4)) & 0x0F0F_0F0F
            v = (v | (v << 2)) & 0x3333_3333
            v = (v | (v << 1)) & 0x5555_5555
            return v
        }
        return spread(x) | (spread(y) << 1)
    }

    private mutating func build(_ codes: [UInt32], _ lo: Int, _ hi: Int, level: Int, side: Float) {
        let node = centreX.count
        var sx: Double = 0, sy: Double = 0
        for s in lo..<hi { sx += Double(sortedX[s]); sy += Double(sortedY[s]) }
        centreX.append(Float(sx / Double(hi - lo)))
        centreY.append(Float(sy / Double(hi - lo)))
        count.append(Float(hi - lo))
        self.side.append(side)
        next.append(0)
        let leaf = hi - lo <= Self.leafSize || level == Self.depth
        first.append(leaf ? Int32(lo) : -1)
        if !leaf {
            // The children's two code bits sit at 2·(depth − 1 − level).
            let shift = UInt32(2 * (Self.depth - 1 - level))
            var start = lo
            for quadrant in UInt32(0)..<4 {
                var end = start
                while end < hi && (codes[end] >> shift) & 3 == quadrant { end += 1 }
                if end > start { build(codes, start, end, level: level + 1, side: side / 2) }
                start = end
            }
        }
        next[node] = Int32(centreX.count)
    }

    /// `F` into `forces` (`count × 2`, interleaved, original order) and
    /// `Σ_i Z_i` returned, summed in a fixed order. Points are visited in
    /// sorted order, so consecutive walks share the top of the tree in cache.
    func repulsion(theta: Float, forces: UnsafeMutablePointer<Float>, threads: Int) -> Double {
        let n = order.count, chunk = 256
        var z = [Float](repeating: 0, count: n)
        let out = SharedBuffer(forces)
        z.withUnsafeMutableBufferPointer { zb in
            let zOut = SharedBuffer(zb.baseAddress!)
            Parallel.pieces((n + chunk - 1) / chunk, workers: threads) { job in
                for s in (job * chunk)..<min(n, (job + 1) * chunk) {
                    let (fx, fy, zi) = walk(from: s, theta2: theta * theta)
                    let i = Int(order[s])
                    out.base[2 * i] = fx
                    out.base[2 * i + 1] = fy
                    zOut.base[i] = zi
                }
            }
        }
        var total = 0.0
        for value in z { total += Double(value) }
        return total
    }

    /// One point's sums: a stackless depth-first walk (`next` skips a subtree).
    @inline(__always)
    private func walk(from s: Int, theta2: Float) -> (Float, Float, Float) {
        let x = sortedX[s], y = sortedY[s]
        var fx: Float = 0, fy: Float = 0, z: Float = 0
        var node = 0
        let nodes = centreX.count
        while node < nodes {
            let dx = x - centreX[node], dy = y - centreY[node]
            let d2 = dx * dx + dy * dy
            let l = side[node]
            if l * l < theta2 * d2 {
                let q = 1 / (1 + d2), m = count[node]
                z += m * q
                fx += m * q * q * dx
                fy += m * q * q * dy
                node = Int(next[node])
            } else if first[node] >= 0 {
                let start = Int(first[node]), end = start + Int(count[node])
                for t in start..<end where t != s {
                    let ex = x - sortedX[t], ey = y - sortedY[t]
                    let q = 1 / (1 + ex * ex + ey * ey)
                    z += q
                    fx += q * q * ex
                    fy += q * q * ey
                }
                node = Int(next[node])
            } else {
                node += 1
            }
        }
        return (fx, fy, z)
    }
}
