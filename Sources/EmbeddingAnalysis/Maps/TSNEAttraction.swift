import EmbeddingCore

/// The attractive half of the t-SNE gradient,
///
///     A_i = Σ_j p_ij·K_ij·(y_i − y_j),     K_ij = 1 / (1 + ‖y_i − y_j‖²),
///
/// over the upper triangle of the symmetric P: each pair once, its term added
/// to i and subtracted from j. That halves both the kernels evaluated and the
/// matrix read every iteration (which, at 8.7 M entries for 59k points, is
/// what bounds this step).
///
/// The subtraction from j may cross into rows another worker owns, so the rows
/// are cut into `pieces` fixed runs (the same for any thread count), each with
/// a private buffer for what its pairs give to later rows; `A_i` is then its
/// own row's sum plus the buffers' entries for i, in piece order. The floats
/// therefore do not depend on the thread count.
final class TSNEAttraction {
    static let pieces = 8
    let count: Int
    private let rowStart: [Int]
    private let columns: [Int32]
    private let weights: [Float]
    /// First row of each piece, and `count` at the end.
    private let pieceStart: [Int]
    /// Piece q's buffer: 2·(count − pieceStart[q]) floats from `bufferStart[q]`.
    private let bufferStart: [Int]
    private let buffers: UnsafeMutablePointer<Float>

    /// The pairs j > i of `p` (which must be symmetric) with the points
    /// renumbered: position i holds point `order[i]`. Pieces balanced by pairs.
    init(_ p: SparseGraph, order: [Int32]) {
        let n = p.count
        count = n
        var position = [Int32](repeating: 0, count: n)
        for (i, point) in order.enumerated() { position[Int(point)] = Int32(i) }
        var starts = [Int](repeating: 0, count: n + 1)
        var cols = [Int32](repeating: 0, count: p.edgeCount / 2 + 1), w = [Float](repeating: 0, count: p.edgeCount / 2 + 1)
        var used = 0
        p.rowStart.withUnsafeBufferPointer { ps in
            p.columns.withUnsafeBufferPointer { pc in
                p.weights.withUnsafeBufferPointer { pw in
                    position.withUnsafeBufferPointer { pos in
                        cols.withUnsafeMutableBufferPointer { cb in
                            w.withUnsafeMutableBufferPointer { wb in
                                for i in 0..<n {
                                    let point = Int(order[i])
                                    for t in ps[point]..<ps[point + 1] {
                                        let j = pos[Int(pc[t])]
                                        if Int(j) > i {
                                            cb[used] = j
                                            wb[used] = pw[t]
                                            used += 1
                                        }
                                    }
                                    starts[i + 1] = used
                                }
                            }
                        }
                    }
                }
            }
        }
        rowStart = starts
        columns = cols
        weights = w
        var cuts = [0]
        for q in 1..<Self.pieces {
            let target = used * q / Self.pieces
            var row = cuts.last!
            while row < n && starts[row] < target { row += 1 }
            cuts.append(row)
        }
        cuts.append(n)
        pieceStart = cuts
        var offsets = [0]
        for q in 0..<Self.pieces { offsets.append(offsets[q] + 2 * (n - cuts[q])) }
        bufferStart = offsets
        buffers = .allocate(capacity: offsets.last!)
    }

    deinit { buffers.deallocate() }

    /// Point j's (x, y).
    @inline(__always)
    private func pair(_ y: UnsafePointer<Float>, _ j: Int) -> SIMD2<Float> {
        UnsafeRawPointer(y + 2 * j).loadUnaligned(as: SIMD2<Float>.self)
    }

    /// Subtracts `f` from the pair at `given + 2·j`.
    @inline(__always)
    private func give(_ given: UnsafeMutablePointer<Float>, _ j: Int, _ f: SIMD2<Float>) {
        let p = UnsafeMutableRawPointer(given + 2 * j)
        p.storeBytes(of: p.loadUnaligned(as: SIMD2<Float>.self) - f, as: SIMD2<Float>.self)
    }

    /// `A` (`count × 2`, interleaved) into `out`.
    func forces(_ y: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, threads: Int) {
        typealias V = SIMD4<Float>
        let n = count, result = SharedBuffer(out), scratch = SharedBuffer(buffers)
        rowStart.withUnsafeBufferPointer { starts in
            columns.withUnsafeBufferPointer { cols in
                weights.withUnsafeBufferPointer { vals in
                    let starts = starts.baseAddress!, cols = cols.baseAddress!, vals = vals.baseAddress!
                    Parallel.pieces(Self.pieces, workers: threads) { q in
                        let r0 = pieceStart[q], r1 = pieceStart[q + 1]
                        // given[2(j − r0)]: what this piece's pairs give to row j.
                        let given = scratch.base + bufferStart[q]
                        given.update(repeating: 0, count: 2 * (n - r0))
                        for i in r0..<r1 {
                            let xi = y[2 * i], yi = y[2 * i + 1], here = V(xi, yi, xi, yi)
                            var ax = V(), ay = V()
                            var t = starts[i]
                            let end = starts[i + 1]
                            // Four pairs at a time: one vector division for four kernels;
                            // positions and what is given move as (x, y) pairs.
                            while t + 4 <= end {
                                let j0 = Int(cols[t]), j1 = Int(cols[t + 1]), j2 = Int(cols[t + 2]), j3 = Int(cols[t + 3])
                                let d01 = here - V(lowHalf: pair(y, j0), highHalf: pair(y, j1))
                                let d23 = here - V(lowHalf: pair(y, j2), highHalf: pair(y, j3))
                                let dx = V(d01[0], d01[2], d23[0], d23[2]), dy = V(d01[1], d01[3], d23[1], d23[3])
                                let w = V(vals[t], vals[t + 1], vals[t + 2], vals[t + 3]) / (1 + dx * dx + dy * dy)
                                let fx = w * dx, fy = w * dy
                                ax += fx
                                ay += fy
                                let f01 = V(fx[0], fy[0], fx[1], fy[1]), f23 = V(fx[2], fy[2], fx[3], fy[3])
                                give(given, j0 - r0, f01.lowHalf)
                                give(given, j1 - r0, f01.highHalf)
                                give(given, j2 - r0, f23.lowHalf)
                                give(given, j3 - r0, f23.highHalf)
                                t += 4
                            }
                            var sx = (ax[0] + ax[1]) + (ax[2] + ax[3]), sy = (ay[0] + ay[1]) + (ay[2] + ay[3])
                            while t < end {
                                let j = Int(cols[t])
                                let dx = xi - y[2 * j], dy = yi - y[2 * j + 1]
                                let w = vals[t] / (1 + dx * dx + dy * dy)
                                sx += w * dx
                                sy += w * dy
                                given[2 * (j - r0)] -= w * dx
                                given[2 * (j - r0) + 1] -= w * dy
                                t += 1
                            }
                            result[2 * i] = sx
                            result[2 * i + 1] = sy
                        }
                    }
                    // Each row adds what the pieces at or before its own gave it, in piece order.
                    Parallel.pieces(Self.pieces, workers: threads) { piece in
                        for i in pieceStart[piece]..<pieceStart[piece + 1] {
                            var sx = result[2 * i], sy = result[2 * i + 1]
                            for q in 0...piece {
                                let given = scratch.base + bufferStart[q] + 2 * (i - pieceStart[q])
                                sx += given[0]
                                sy += given[1]
                            }
                            result[2 * i] = sx
                            result[2 * i + 1] = sy
                        }
                    }
                }
            }
        }
    }
}
