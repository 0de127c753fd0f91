import EmbeddingCore


/// `out = T·x` for four real `n × n` node grids at once, where T is the
/// two-level Toeplitz matrix of a kernel that depends on the node offset:
///
///     out_t[a][b] = Σ_{a'<n} Σ_{b'<n} k(a − a', b − b')·x_t[a'][b']      (t = 0…3)
///
/// with `k` even in each offset and symmetric under swapping them (a radial
/// kernel). The product runs as a circular convolution of length P ≥ 2n − 1
/// per axis (the circulant embedding): forward FFT, multiply by the kernel's
/// spectrum, inverse FFT. The spectrum of an even real kernel is real, so two
/// grids ride in one complex grid (x₀ + i·x₁, x₂ + i·x₃) and come back apart.
///
/// Three passes per complex grid, each over column strips of `lanes` columns
/// that stay in cache (see `FFT`), transposing on the way so every transform
/// runs down columns:
/// 1. FFT along a of the n non-zero columns (rows n… are zero), written transposed to `T` (n × P);
/// 2. per column strip of `T`: FFT along b, times the spectrum, inverse FFT along b — the
///    only pass over all P columns, and its rows ≥ n are neither read nor written;
/// 3. inverse FFT along a of the n rows of `T`, of which the first n outputs are kept.
/// Strips are independent, so the result does not depend on the thread count.
final class GridConvolution {
    let nodes: Int
    let length: Int
    private let fft: FFT
    /// k̂ / P², `P × P` row-major; symmetric, so the orientation does not matter.
    private let spectrum: UnsafeMutablePointer<Float>
    /// Pass-1 output, pass-3 input: per complex grid, real and imaginary `n × P`
    /// planes (re₀, im₀, re₁, im₁), one after the other.
    private let transposed: UnsafeMutablePointer<Float>
    static let lanes = 16

    /// `nodes` per side; the FFT length is `FFT.smoothLength(atLeast: 2·nodes)`.
    init(nodes n: Int) {
        nodes = n
        length = FFT.smoothLength(atLeast: 2 * n)
        fft = FFT(length: length)!
        spectrum = .allocate(capacity: length * length)
        spectrum.initialize(repeating: 0, count: length * length)
        transposed = .allocate(capacity: 4 * n * length)
        transposed.initialize(repeating: 0, count: 4 * n * length)
    }

    deinit {
        spectrum.deallocate()
        transposed.deallocate()
    }

    /// Sets the kernel: `k(da, db)` for offsets `0 ≤ da, db ≤ P/2` (it is
    /// mirrored to negative offsets). Two FFT passes over the `P × P` grid.
    func setKernel(threads: Int, _ k: (Int, Int) -> Float) {
        let p = length, w = Self.lanes
        var grid = [Float](repeating: 0, count: p * p)
        for a in 0..<p {
            for b in 0..<p { grid[a * p + b] = k(min(a, p - a), min(b, p - b)) }
        }
        let scale = 1 / Float(p * p)
        let strips = (p + w - 1) / w
        var spectralIm = [Float](repeating: 0, count: p * p)
        grid.withUnsafeMutableBufferPointer { g in
            spectralIm.withUnsafeMutableBufferPointer { outIm in
                let g = SharedBuffer(g.baseAddress!), out = SharedBuffer(spectrum), outIm = SharedBuffer(outIm.baseAddress!)
                // Pass A: down columns of the kernel grid, written transposed (out[b][a]).
                strided(strips, threads: threads) { strip, ws in
                    let b0 = strip * w, valid = min(w, p - b0)
                    ws.loadRows(from: g.base + b0, stride: p, rows: p, valid: valid, into: ws.re)
                    ws.im.update(repeating: 0, count: p * w)
                    self.fft.transform(re: ws.re, im: ws.im, scratchRe: ws.sr, scratchIm: ws.si, lanes: w, inverse: false)
                    ws.storeTransposed(ws.re, valid: valid, rows: p, to: out.base + b0 * p, stride: p)
                    ws.storeTransposed(ws.im, valid: valid, rows: p, to: outIm.base + b0 * p, stride: p)
                }
                // Pass B: down columns of the transposed result; the imaginary part is rounding noise.
                strided(strips, threads: threads) { strip, ws in
                    let a0 = strip * w, valid = min(w, p - a0)
                    ws.loadRows(from: out.base + a0, stride: p, rows: p, valid: valid, into: ws.re)
                    ws.loadRows(from: outIm.base + a0, stride: p, rows: p, valid: valid, into: ws.im)
                    self.fft.transform(re: ws.re, im: ws.im, scratchRe: ws.sr, scratchIm: ws.si, lanes: w, inverse: false)
                    for b in 0..<p {
                        for l in 0..<valid { out.base[b * p + a0 + l] = ws.re[b * w + l] * scale }
                    }
                }
            }
        }
    }

    /// `potentials = T·charges` for four `n × n` grids stored one after the
    /// other (`4·n·n` floats each).
    func convolve(_ charges: UnsafePointer<Float>, into potentials: UnsafeMutablePointer<Float>, threads: Int) {
        let n = nodes, p = length, w = Self.lanes, nn = n * n
        let strips = (n + w - 1) / w, fullStrips = (p + w - 1) / w
        let x = UnsafeMutablePointer(mutating: charges)
        let out = SharedBuffer(potentials)
        let t = (0..<4).map { transposed + $0 * n * p }
        do {
            // Pass 1: grids (0, 1) and (2, 3) as complex grids 0 and 1.
            strided(2 * strips, threads: threads) { job, ws in
                let grid = job / strips, b0 = (job % strips) * w, valid = min(w, n - b0)
                let re = x + 2 * grid * nn, im = re + nn
                ws.loadRows(from: re + b0, stride: n, rows: n, valid: valid, into: ws.re)
                ws.loadRows(from: im + b0, stride: n, rows: n, valid: valid, into: ws.im)
                self.fft.transform(re: ws.re, im: ws.im, scratchRe: ws.sr, scratchIm: ws.si, lanes: w, inverse: false)
                ws.storeTransposed(ws.re, valid: valid, rows: p, to: t[2 * grid] + b0 * p, stride: p)
                ws.storeTransposed(ws.im, valid: valid, rows: p, to: t[2 * grid + 1] + b0 * p, stride: p)
            }
            // Pass 2: along b, for every column a of T.
            do {
                let k = SharedBuffer(spectrum)
                strided(2 * fullStrips, threads: threads) { job, ws in
                    let grid = job / fullStrips, a0 = (job % fullStrips) * w, valid = min(w, p - a0)
                    let tr = t[2 * grid], ti = t[2 * grid + 1]
                    ws.loadRows(from: tr + a0, stride: p, rows: n, valid: valid, into: ws.re)
                    ws.loadRows(from: ti + a0, stride: p, rows: n, valid: valid, into: ws.im)
                    self.fft.transform(re: ws.re, im: ws.im, scratchRe: ws.sr, scratchIm: ws.si, lanes: w, inverse: false)
                    for b in 0..<p { Self.scale(ws.re + b * w, ws.im + b * w, by: k.base + b * p + a0, count: valid) }
                    self.fft.transform(re: ws.re, im: ws.im, scratchRe: ws.sr, scratchIm: ws.si, lanes: w, inverse: true)
                    Self.copyRows(ws.re, stride: w, to: tr + a0, stride: p, rows: n, count: valid)
                    Self.copyRows(ws.im, stride: w, to: ti + a0, stride: p, rows: n, count: valid)
                }
            }
            // Pass 3: inverse along a; rows a < n are the result.
            strided(2 * strips, threads: threads) { job, ws in
                let grid = job / strips, b0 = (job % strips) * w, valid = min(w, n - b0)
                ws.loadTransposed(from: t[2 * grid] + b0 * p, stride: p, valid: valid, rows: p, into: ws.re)
                ws.loadTransposed(from: t[2 * grid + 1] + b0 * p, stride: p, valid: valid, rows: p, into: ws.im)
                self.fft.transform(re: ws.re, im: ws.im, scratchRe: ws.sr, scratchIm: ws.si, lanes: w, inverse: true)
                let re = out.base + 2 * grid * nn, im = re + nn
                Self.copyRows(ws.re, stride: w, to: re + b0, stride: n, rows: n, count: valid)
                Self.copyRows(ws.im, stride: w, to: im + b0, stride: n, rows: n, count: valid)
            }
        }
    }

    /// `count` floats from each of `rows` rows, sixteen at a time when the
    /// strip is full (a `memcpy` per row of 64 bytes costs more than the copy).
    static func copyRows(_ source: UnsafeMutablePointer<Float>, stride sstride: Int, to destination: UnsafeMutablePointer<Float>,
                         stride dstride: Int, rows: Int, count: Int) {
        typealias V = SIMD16<Float>
        if count == 16 {
            for r in 0..<rows {
                UnsafeMutableRawPointer(destination + r * dstride)
                    .storeBytes(of: UnsafeRawPointer(source + r * sstride).loadUnaligned(as: V.self), as: V.self)
            }
        } else {
            for r in 0..<rows { (destination + r * dstride).update(from: source + r * sstride, count: count) }
        }
    }

    /// `re[l] *= f[l]`, `im[l] *= f[l]` for l < count.
    @inline(__always)
    static func scale(_ re: UnsafeMutablePointer<Float>, _ im: UnsafeMutablePointer<Float>, by f: UnsafeMutablePointer<Float>,
                      count: Int) {
        typealias V = SIMD16<Float>
        if count == 16 {
            let k = UnsafeRawPointer(f).loadUnaligned(as: V.self)
            UnsafeMutableRawPointer(re).storeBytes(of: UnsafeRawPointer(re).loadUnaligned(as: V.self) * k, as: V.self)
            UnsafeMutableRawPointer(im).storeBytes(of: UnsafeRawPointer(im).loadUnaligned(as: V.self) * k, as: V.self)
        } else {
            for l in 0..<count {
                re[l] *= f[l]
                im[l] *= f[l]
            }
        }
    }

    /// Per-worker strip buffers: a `P × lanes` complex block and its scratch.
    private struct Workspace {
        let re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>
        let sr: UnsafeMutablePointer<Float>, si: UnsafeMutablePointer<Float>
        let lanes: Int, length: Int

        /// Strip rows `0..<rows` from `valid` consecutive columns at `source`
        /// (row stride `stride`); the other lanes and rows are zero.
        func loadRows(from source: UnsafeMutablePointer<Float>, stride: Int, rows: Int, valid: Int,
                      into strip: UnsafeMutablePointer<Float>) {
            if valid < lanes { strip.update(repeating: 0, count: rows * lanes) }
            (strip + rows * lanes).update(repeating: 0, count: (length - rows) * lanes)
            GridConvolution.copyRows(source, stride: stride, to: strip, stride: lanes, rows: rows, count: valid)
        }

        /// Lane l of the strip becomes row l at `destination` (row stride
        /// `stride`), `rows` long.
        func storeTransposed(_ strip: UnsafeMutablePointer<Float>, valid: Int, rows: Int,
                             to destination: UnsafeMutablePointer<Float>, stride: Int) {
            Self.transpose(strip, stride: lanes, rows: rows, columns: valid, to: destination, stride: stride)
        }

        /// Row l at `source` (row stride `stride`) becomes lane l; the other lanes are zero.
        func loadTransposed(from source: UnsafeMutablePointer<Float>, stride: Int, valid: Int, rows: Int,
                            into strip: UnsafeMutablePointer<Float>) {
            if valid < lanes { strip.update(repeating: 0, count: length * lanes) }
            Self.transpose(source, stride: stride, rows: valid, columns: rows, to: strip, stride: lanes)
        }

        /// `destination[c·dstride + r] = source[r·sstride + c]` for r < rows,
        /// c < columns: 4 × 4 blocks through registers, the edges one by one.
        static func transpose(_ source: UnsafeMutablePointer<Float>, stride sstride: Int, rows: Int, columns: Int,
                              to destination: UnsafeMutablePointer<Float>, stride dstride: Int) {
            typealias V = SIMD4<Float>
            @inline(__always) func load(_ p: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
            @inline(__always) func store(_ p: UnsafeMutablePointer<Float>, _ v: V) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }
            let rows4 = rows & ~3, columns4 = columns & ~3
            for r in Swift.stride(from: 0, to: rows4, by: 4) {
                for c in Swift.stride(from: 0, to: columns4, by: 4) {
                    let s = source + r * sstride + c
                    let a = load(s), b = load(s + sstride), e = load(s + 2 * sstride), f = load(s + 3 * sstride)
                    let d = destination + c * dstride + r
                    store(d, V(a[0], b[0], e[0], f[0]))
                    store(d + dstride, V(a[1], b[1], e[1], f[1]))
                    store(d + 2 * dstride, V(a[2], b[2], e[2], f[2]))
                    store(d + 3 * dstride, V(a[3], b[3], e[3], f[3]))
                }
                for c in columns4..<columns {
                    for k in 0..<4 { destination[c * dstride + r + k] = source[(r + k) * sstride + c] }
                }
            }
            for r in rows4..<rows {
                for c in 0..<columns { destination[c * dstride + r] = source[r * sstride + c] }
            }
        }
    }

    /// Runs `body(job, workspace)` for every job in `0..<count`, jobs dealt to
    /// `threads` workers round-robin; each worker owns one workspace.
    private func strided(_ count: Int, threads: Int, _ body: (Int, Workspace) -> Void) {
        let workers = max(1, min(threads, count)), size = length * Self.lanes
        func run(_ worker: Int) {
            let memory = UnsafeMutablePointer<Float>.allocate(capacity: 4 * size)
            defer { memory.deallocate() }
            let ws = Workspace(re: memory, im: memory + size, sr: memory + 2 * size, si: memory + 3 * size,
                               lanes: Self.lanes, length: length)
            for job in stride(from: worker, to: count, by: workers) { body(job, ws) }
        }
        Parallel.run(workers: workers, run)
    }
}
