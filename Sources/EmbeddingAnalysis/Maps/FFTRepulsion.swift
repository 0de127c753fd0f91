import EmbeddingCore

/// The repulsive half of the t-SNE gradient by FFT-accelerated interpolation
/// (Linderman et al. 2019, FIt-SNE; openTSNE's `estimate_negative_gradient_fft_2d`):
///
///     F_i = Σ_{j≠i} K_ij²·(y_i − y_j),     Z = Σ_{i≠j} K_ij,     K_ij = 1 / (1 + ‖y_i − y_j‖²)
///
/// Both come from sums of the squared kernel against three charges per point,
/// q_j = (1, u_j, v_j) with (u, v) the position from the grid's centre:
///
///     φ_t(y_i) = Σ_j K²(y_i, y_j)·q_{j,t}
///     F_i = (u_i, v_i)·φ_0 − (φ_1, φ_2)
///
/// and, because K = K²·(1 + ‖y_i − y_j‖²) and K² is symmetric (so that
/// Σ_i Σ_j K²_ij·‖u_j‖² = Σ_i ‖u_i‖²·φ_0(y_i)),
///
///     Z = Σ_i [(1 + 2‖u_i‖²)·φ_0 − 2·(u_i·φ_1 + v_i·φ_2)] − N      (N: the j = i terms)
///
/// FIt-SNE and openTSNE convolve a fourth charge, ‖u_j‖², for Z per point;
/// only the total is needed, and the symmetry saves a quarter of the FFTs.
/// The interpolated kernel is symmetric too, so the identity holds for the
/// approximation exactly. The potentials φ are interpolated
/// (`InterpolationGrid`): `spreadCharges` puts each point's charges on the
/// 3 × 3 nodes of its box with Lagrange weights, `GridConvolution` multiplies
/// the node charges by the kernel matrix between nodes, `forces` interpolates
/// back.
final class FFTRepulsion {
    private var convolution: GridConvolution?
    /// The node spacing the convolution's kernel spectrum was made for (NaN: none yet).
    private var spacing: Float = .nan
    /// The node grids, kept between calls (every call overwrites them).
    private var charges: [Float] = [], potentials: [Float] = []

    /// Writes `F` (`count × 2`, interleaved) to `forces` and returns Z, on
    /// the grid openTSNE would use (`InterpolationGrid.covering`).
    func compute(_ y: UnsafePointer<Float>, count: Int, forces: UnsafeMutablePointer<Float>, threads: Int) -> Double {
        compute(y, count: count, grid: InterpolationGrid.covering(y, count: count), forces: forces, threads: threads)
    }

    /// The same on a given grid, which must cover every point.
    func compute(_ y: UnsafePointer<Float>, count: Int, grid: InterpolationGrid, forces: UnsafeMutablePointer<Float>,
                 threads: Int) -> Double {
        let nodes = grid.nodes
        if convolution?.nodes != nodes {
            convolution = GridConvolution(nodes: nodes)
            spacing = .nan
        }
        let convolution = convolution!
        let h = grid.boxWidth / Float(InterpolationGrid.nodesPerBox)
        if h != spacing {
            convolution.setKernel(threads: threads) { da, db in
                let d2 = h * h * Float(da * da + db * db)
                return 1 / ((1 + d2) * (1 + d2))
            }
            spacing = h
        }
        let located = grid.locate(y, count: count, threads: threads)
        let size = 3 * nodes * nodes
        if charges.count != size {
            charges = [Float](repeating: 0, count: size)
            potentials = [Float](repeating: 0, count: size)
        }
        var z = [Float](repeating: 0, count: count)
        charges.withUnsafeMutableBufferPointer { c in
            grid.spreadCharges(located, positions: y, into: c.baseAddress!, threads: threads)
        }
        charges.withUnsafeBufferPointer { c in
            potentials.withUnsafeMutableBufferPointer { p in
                convolution.convolve(c.baseAddress!, into: p.baseAddress!, threads: threads)
            }
        }
        potentials.withUnsafeBufferPointer { p in
            z.withUnsafeMutableBufferPointer { zp in
                grid.forces(located, positions: y, potentials: p.baseAddress!, forces: forces, z: zp.baseAddress!, threads: threads)
            }
        }
        // Fixed order whatever the threads.
        var total = 0.0
        for value in z { total += Double(value) }
        return total - Double(count)
    }
}

/// The square of boxes t-SNE's interpolation runs on, and the three steps
/// that use it. Sized as openTSNE sizes it (`min_num_intervals=50`,
/// `ints_in_interval=1`): 50 boxes across `[min, max]²` of both coordinates
/// while that range is below 50, else boxes one unit wide. openTSNE then
/// stretches the boxes to span the range exactly (a little under one unit);
/// here they stay one unit and the square extends past the maximum, so that
/// the kernel's spectrum, which depends only on the node spacing and the FFT
/// length, is reused until the box count changes. The count is rounded up to
/// one whose FFT length `2·3·boxes` has no prime factor above 5 (openTSNE
/// rounds to FFTW's preferred sizes). Three equispaced nodes per box side, at
/// 1/6, 1/2, 5/6 of it.
struct InterpolationGrid: Equatable {
    static let nodesPerBox = 3
    static let minimumBoxes = 50

    let boxes: Int
    /// Lower corner on both axes.
    let origin: Float
    let boxWidth: Float
    var nodes: Int { Self.nodesPerBox * boxes }

    static func covering(_ y: UnsafePointer<Float>, count: Int) -> InterpolationGrid {
        var low = Float.infinity, high = -Float.infinity
        for i in 0..<(2 * count) {
            low = min(low, y[i])
            high = max(high, y[i])
        }
        // A point cloud of zero extent still needs boxes of non-zero width.
        let range = max(high - low, Float.leastNormalMagnitude * 1e6)
        if range <= Float(minimumBoxes) { return InterpolationGrid(boxes: minimumBoxes, origin: low, boxWidth: range / Float(minimumBoxes)) }
        var boxes = Int(range.rounded(.up))
        while FFT.radices(2 * nodesPerBox * boxes) == nil { boxes += 1 }
        return InterpolationGrid(boxes: boxes, origin: low, boxWidth: 1)
    }

    /// Each point's box and Lagrange weights.
    struct Located {
        /// Box row (y) and column (x) per point.
        var boxRow: [Int32], boxColumn: [Int32]
        /// Per point: three weights along x, then three along y.
        var weights: [Float]
    }

    /// The weights of the nodes at 1/6, 1/2, 5/6 for a position `t` in [0, 1]
    /// of its box: the Lagrange basis polynomials, which reproduce any
    /// quadratic exactly.
    @inline(__always)
    static func lagrangeWeights(_ t: Float) -> (Float, Float, Float) {
        let a = t - 1 / 6, b = t - 0.5, c = t - 5 / 6
        return (4.5 * b * c, -9 * a * c, 4.5 * a * b)
    }

    func locate(_ y: UnsafePointer<Float>, count: Int, threads: Int) -> Located {
        var rows = [Int32](repeating: 0, count: count), columns = rows
        var weights = [Float](repeating: 0, count: 6 * count)
        let scale = 1 / boxWidth, last = Float(boxes - 1), chunk = 4096
        rows.withUnsafeMutableBufferPointer { rb in
            columns.withUnsafeMutableBufferPointer { cb in
                weights.withUnsafeMutableBufferPointer { wb in
                    let rows = SharedBuffer(rb), columns = SharedBuffer(cb), w = SharedBuffer(wb)
                    Parallel.pieces((count + chunk - 1) / chunk, workers: threads) { job in
                        for i in (job * chunk)..<min(count, (job + 1) * chunk) {
                            let fx = (y[2 * i] - origin) * scale, fy = (y[2 * i + 1] - origin) * scale
                            // The point at the upper edge belongs to the last box.
                            let bx = min(fx.rounded(.down), last), by = min(fy.rounded(.down), last)
                            columns[i] = Int32(bx)
                            rows[i] = Int32(by)
                            (w[6 * i], w[6 * i + 1], w[6 * i + 2]) = Self.lagrangeWeights(fx - bx)
                            (w[6 * i + 3], w[6 * i + 4], w[6 * i + 5]) = Self.lagrangeWeights(fy - by)
                        }
                    }
                }
            }
        }
        return Located(boxRow: rows, boxColumn: columns, weights: weights)
    }

    /// Step 1: the three charge grids (`3 × nodes × nodes`), each node the
    /// weighted sum of the charges of the points in its box. Box rows own
    /// disjoint node rows, so workers take whole box rows (zeroing them first)
    /// and every node sums its points in index order: the same floats for any
    /// thread count.
    func spreadCharges(_ located: Located, positions y: UnsafePointer<Float>, into charges: UnsafeMutablePointer<Float>,
                       threads: Int) {
        let n = nodes, nn = n * n, (cx, cy) = centre
        // Points by box row, each row in index order (a counting sort).
        var start = [Int](repeating: 0, count: boxes + 1)
        for r in located.boxRow { start[Int(r) + 1] += 1 }
        for r in 0..<boxes { start[r + 1] += start[r] }
        var order = [Int32](repeating: 0, count: located.boxRow.count)
        var fill = start
        for (i, r) in located.boxRow.enumerated() {
            order[fill[Int(r)]] = Int32(i)
            fill[Int(r)] += 1
        }
        let out = SharedBuffer(charges)
        located.weights.withUnsafeBufferPointer { w in
            located.boxColumn.withUnsafeBufferPointer { columns in
                order.withUnsafeBufferPointer { order in
                    let w = w.baseAddress!, columns = columns.baseAddress!, order = order.baseAddress!
                    Parallel.pieces(boxes, workers: threads) { row in
                        let a0 = 3 * row
                        for grid in 0..<3 { (out.base + grid * nn + a0 * n).update(repeating: 0, count: 3 * n) }
                        for s in start[row]..<start[row + 1] {
                            let i = Int(order[s]), b0 = 3 * Int(columns[i])
                            let u = y[2 * i] - cx, v = y[2 * i + 1] - cy
                            let q = (Float(1), u, v)
                            for da in 0..<3 {
                                for db in 0..<3 {
                                    let weight = w[6 * i + 3 + da] * w[6 * i + db]
                                    let node = (a0 + da) * n + b0 + db
                                    out.base[node] += weight * q.0
                                    out.base[nn + node] += weight * q.1
                                    out.base[2 * nn + node] += weight * q.2
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Steps 3 and 4: each point's potentials interpolated from its box's
    /// nodes, then `F_i` into `forces` and its term of Z into `z`.
    func forces(_ located: Located, positions y: UnsafePointer<Float>, potentials: UnsafePointer<Float>,
                forces: UnsafeMutablePointer<Float>, z: UnsafeMutablePointer<Float>, threads: Int) {
        let n = nodes, nn = n * n, (cx, cy) = centre, count = located.boxRow.count
        let forces = SharedBuffer(forces), z = SharedBuffer(z)
        located.weights.withUnsafeBufferPointer { w in
            located.boxRow.withUnsafeBufferPointer { rows in
                located.boxColumn.withUnsafeBufferPointer { columns in
                    let w = w.baseAddress!, rows = rows.baseAddress!, columns = columns.baseAddress!
                    let chunk = 4096
                    Parallel.pieces((count + chunk - 1) / chunk, workers: threads) { job in
                        for i in (job * chunk)..<min(count, (job + 1) * chunk) {
                            let a0 = 3 * Int(rows[i]), b0 = 3 * Int(columns[i])
                            var phi0: Float = 0, phi1: Float = 0, phi2: Float = 0
                            for da in 0..<3 {
                                for db in 0..<3 {
                                    let weight = w[6 * i + 3 + da] * w[6 * i + db]
                                    let node = (a0 + da) * n + b0 + db
                                    phi0 += weight * potentials[node]
                                    phi1 += weight * potentials[nn + node]
                                    phi2 += weight * potentials[2 * nn + node]
                                }
                            }
                            let u = y[2 * i] - cx, v = y[2 * i + 1] - cy
                            forces.base[2 * i] = u * phi0 - phi1
                            forces.base[2 * i + 1] = v * phi0 - phi2
                            z.base[i] = (1 + 2 * (u * u + v * v)) * phi0 - 2 * (u * phi1 + v * phi2)
                        }
                    }
                }
            }
        }
    }

    /// The grid's centre, the origin of the charges' coordinates (keeps
    /// u² + v² small, and with it the cancellation in Z's terms).
    var centre: (Float, Float) {
        let c = origin + Float(boxes) * boxWidth / 2
        return (c, c)
    }
}
