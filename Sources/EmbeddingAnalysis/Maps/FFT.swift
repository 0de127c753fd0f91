import EmbeddingCore
import Foundation

/// A complex discrete Fourier transform of one length `n`, applied to `lanes`
/// sequences at once:
///
///     X[k] = Σ_{j<n} x[j]·e^{∓2πi·jk/n}      (− forward, + inverse; no 1/n)
///
/// Layout: split complex, element `j` of lane `l` at `re[j·lanes + l]`,
/// `im[j·lanes + l]` (an `n × lanes` row-major block). t-SNE's interpolation
/// grid transforms the columns of a 2-D grid, so the lanes are neighbouring
/// columns: every butterfly is a loop over contiguous floats that the compiler
/// vectorises, and a block of 16–32 columns stays in L2 through all stages.
///
/// Algorithm: Stockham autosort (no bit reversal), decimation in frequency,
/// mixed radix 4, 2, 3, 5. A stage of radix p on sub-length `n_s = p·m` with
/// stride `s` reads `a_r = x[q + s(k + r·m)]` and writes
/// `y[q + s(p·k + t)] = w^{kt}·Σ_r a_r·ω_p^{rt}` (w = e^{∓2πi/n_s}), then the
/// next stage runs on length m with stride s·p. Lengths with a prime factor
/// above 5 are refused (`FFT.smoothLength` gives the next usable one).
struct FFT: Sendable {
    let length: Int
    private let stages: [Stage]
    /// cos and sin of 2π·k·t/n_s for every stage, k in 0..<m, t in 1..<p, stage after stage.
    private let twiddleCos: [Float]
    private let twiddleSin: [Float]

    private struct Stage: Sendable {
        var radix: Int, m: Int, stride: Int, twiddles: Int
    }

    /// nil when `length` < 1 or has a prime factor other than 2, 3, 5.
    init?(length n: Int) {
        guard n >= 1, let radices = FFT.radices(n) else { return nil }
        length = n
        var stages: [Stage] = [], cosines: [Float] = [], sines: [Float] = []
        var sub = n, stride = 1
        for p in radices {
            let m = sub / p
            stages.append(Stage(radix: p, m: m, stride: stride, twiddles: cosines.count))
            for k in 0..<m {
                for t in 1..<p {
                    let angle = 2 * Double.pi * Double(k * t) / Double(sub)
                    cosines.append(Float(cos(angle)))
                    sines.append(Float(sin(angle)))
                }
            }
            sub = m
            stride *= p
        }
        self.stages = stages
        twiddleCos = cosines
        twiddleSin = sines
    }

    /// Radix-4 stages first (fewest passes), then 2, 3, 5; nil for other primes.
    static func radices(_ n: Int) -> [Int]? {
        var rest = n, out: [Int] = []
        while rest % 4 == 0 { out.append(4); rest /= 4 }
        for p in [2, 3, 5] { while rest % p == 0 { out.append(p); rest /= p } }
        return rest == 1 ? out : nil
    }

    /// The smallest length ≥ `n` whose only prime factors are 2, 3 and 5.
    static func smoothLength(atLeast n: Int) -> Int {
        var m = max(1, n)
        while radices(m) == nil { m += 1 }
        return m
    }

    /// Transforms the `length × lanes` block in `re`/`im` in place; `scratchRe`
    /// and `scratchIm` hold as many floats and are overwritten. `lanes` is a
    /// multiple of 4 (the butterflies work on four lanes at a time).
    func transform(re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>,
                   scratchRe: UnsafeMutablePointer<Float>, scratchIm: UnsafeMutablePointer<Float>,
                   lanes: Int, inverse: Bool) {
        precondition(lanes > 0 && lanes % 4 == 0, "FFT: lanes must be a positive multiple of 4, got \(lanes)")
        let sign: Float = inverse ? 1 : -1
        var (xr, xi, yr, yi) = (re, im, scratchRe, scratchIm)
        twiddleCos.withUnsafeBufferPointer { tc in
            twiddleSin.withUnsafeBufferPointer { ts in
                for stage in stages {
                    let block = stage.stride * lanes
                    let c = tc.baseAddress! + stage.twiddles, s = ts.baseAddress! + stage.twiddles
                    switch stage.radix {
                    case 4: FFT.radix4(xr, xi, yr, yi, m: stage.m, block: block, c: c, s: s, sign: sign)
                    case 2: FFT.radix2(xr, xi, yr, yi, m: stage.m, block: block, c: c, s: s, sign: sign)
                    case 3: FFT.radix3(xr, xi, yr, yi, m: stage.m, block: block, c: c, s: s, sign: sign)
                    default: FFT.radix5(xr, xi, yr, yi, m: stage.m, block: block, c: c, s: s, sign: sign)
                    }
                    swap(&xr, &yr)
                    swap(&xi, &yi)
                }
            }
        }
        if xr != re {
            re.update(from: xr, count: length * lanes)
            im.update(from: xi, count: length * lanes)
        }
    }

    // Each butterfly: inputs a_r at x + (k + r·m)·block, outputs y_t at
    // y + (p·k + t)·block, all `block` floats long, four at a time; output t
    // is multiplied by the twiddle w^{kt} = cos + i·sign·sin.

    typealias V = SIMD4<Float>

    @inline(__always)
    private static func load(_ p: UnsafeMutablePointer<Float>, _ j: Int) -> V {
        UnsafeRawPointer(p + j).loadUnaligned(as: V.self)
    }

    @inline(__always)
    private static func store(_ p: UnsafeMutablePointer<Float>, _ j: Int, _ v: V) {
        UnsafeMutableRawPointer(p + j).storeBytes(of: v, as: V.self)
    }

    /// Stores (ar + i·ai)·(wr + i·wi).
    @inline(__always)
    private static func twiddle(_ yr: UnsafeMutablePointer<Float>, _ yi: UnsafeMutablePointer<Float>, _ j: Int,
                                _ ar: V, _ ai: V, _ wr: Float, _ wi: Float) {
        store(yr, j, ar * wr - ai * wi)
        store(yi, j, ar * wi + ai * wr)
    }

    private static func radix2(_ xr: UnsafeMutablePointer<Float>, _ xi: UnsafeMutablePointer<Float>,
                               _ yr: UnsafeMutablePointer<Float>, _ yi: UnsafeMutablePointer<Float>,
                               m: Int, block: Int, c: UnsafePointer<Float>, s: UnsafePointer<Float>, sign: Float) {
        let mb = m * block
        for k in 0..<m {
            let ar = xr + k * block, ai = xi + k * block
            let br = yr + 2 * k * block, bi = yi + 2 * k * block
            let wr = c[k], wi = sign * s[k]
            for j in stride(from: 0, to: block, by: 4) {
                let pr = load(ar, j), pi = load(ai, j), qr = load(ar, j + mb), qi = load(ai, j + mb)
                store(br, j, pr + qr)
                store(bi, j, pi + qi)
                twiddle(br, bi, j + block, pr - qr, pi - qi, wr, wi)
            }
        }
    }

    private static func radix4(_ xr: UnsafeMutablePointer<Float>, _ xi: UnsafeMutablePointer<Float>,
                               _ yr: UnsafeMutablePointer<Float>, _ yi: UnsafeMutablePointer<Float>,
                               m: Int, block: Int, c: UnsafePointer<Float>, s: UnsafePointer<Float>, sign: Float) {
        let mb = m * block
        for k in 0..<m {
            let ar = xr + k * block, ai = xi + k * block
            let br = yr + 4 * k * block, bi = yi + 4 * k * block
            let w1r = c[3 * k], w1i = sign * s[3 * k]
            let w2r = c[3 * k + 1], w2i = sign * s[3 * k + 1]
            let w3r = c[3 * k + 2], w3i = sign * s[3 * k + 2]
            for j in stride(from: 0, to: block, by: 4) {
                let b0r = load(ar, j), b0i = load(ai, j)
                let b1r = load(ar, j + mb), b1i = load(ai, j + mb)
                let b2r = load(ar, j + 2 * mb), b2i = load(ai, j + 2 * mb)
                let b3r = load(ar, j + 3 * mb), b3i = load(ai, j + 3 * mb)
                let t0r = b0r + b2r, t0i = b0i + b2i
                let t1r = b0r - b2r, t1i = b0i - b2i
                let t2r = b1r + b3r, t2i = b1i + b3i
                // (b1 − b3)·ω₄ with ω₄ = sign·i: (x + iy)·(sign·i) = −sign·y + i·sign·x.
                let dr = b1r - b3r, di = b1i - b3i
                let t3r = -sign * di, t3i = sign * dr
                store(br, j, t0r + t2r)
                store(bi, j, t0i + t2i)
                twiddle(br, bi, j + block, t1r + t3r, t1i + t3i, w1r, w1i)
                twiddle(br, bi, j + 2 * block, t0r - t2r, t0i - t2i, w2r, w2i)
                twiddle(br, bi, j + 3 * block, t1r - t3r, t1i - t3i, w3r, w3i)
            }
        }
    }

    private static func radix3(_ xr: UnsafeMutablePointer<Float>, _ xi: UnsafeMutablePointer<Float>,
                               _ yr: UnsafeMutablePointer<Float>, _ yi: UnsafeMutablePointer<Float>,
                               m: Int, block: Int, c: UnsafePointer<Float>, s: UnsafePointer<Float>, sign: Float) {
        let mb = m * block
        let half: Float = -0.5, r = sign * 0.866_025_403_784_438_6  // cos, sign·sin of 2π/3
        for k in 0..<m {
            let ar = xr + k * block, ai = xi + k * block
            let br = yr + 3 * k * block, bi = yi + 3 * k * block
            let w1r = c[2 * k], w1i = sign * s[2 * k]
            let w2r = c[2 * k + 1], w2i = sign * s[2 * k + 1]
            for j in stride(from: 0, to: block, by: 4) {
                let b0r = load(ar, j), b0i = load(ai, j)
                let b1r = load(ar, j + mb), b1i = load(ai, j + mb)
                let b2r = load(ar, j + 2 * mb), b2i = load(ai, j + 2 * mb)
                let sr = b1r + b2r, si = b1i + b2i
                let dr = b1r - b2r, di = b1i - b2i
                let mr = b0r + half * sr, mi = b0i + half * si
                // ±i·r·d = ∓r·di + i·(±r·dr)
                store(br, j, b0r + sr)
                store(bi, j, b0i + si)
                twiddle(br, bi, j + block, mr - r * di, mi + r * dr, w1r, w1i)
                twiddle(br, bi, j + 2 * block, mr + r * di, mi - r * dr, w2r, w2i)
            }
        }
    }

    private static func radix5(_ xr: UnsafeMutablePointer<Float>, _ xi: UnsafeMutablePointer<Float>,
                               _ yr: UnsafeMutablePointer<Float>, _ yi: UnsafeMutablePointer<Float>,
                               m: Int, block: Int, c: UnsafePointer<Float>, s: UnsafePointer<Float>, sign: Float) {
        let mb = m * block
        // cos and sign·sin of 2π/5 and 4π/5.
        let c1: Float = 0.309_016_994_374_947_4, c2: Float = -0.809_016_994_374_947_5
        let s1 = sign * 0.951_056_516_295_153_6, s2 = sign * 0.587_785_252_292_473_1
        for k in 0..<m {
            let ar = xr + k * block, ai = xi + k * block
            let br = yr + 5 * k * block, bi = yi + 5 * k * block
            let w1r = c[4 * k], w1i = sign * s[4 * k], w2r = c[4 * k + 1], w2i = sign * s[4 * k + 1]
            let w3r = c[4 * k + 2], w3i = sign * s[4 * k + 2], w4r = c[4 * k + 3], w4i = sign * s[4 * k + 3]
            for j in stride(from: 0, to: block, by: 4) {
                let b0r = load(ar, j), b0i = load(ai, j)
                let p1r = load(ar, j + mb), p1i = load(ai, j + mb)
                let p2r = load(ar, j + 2 * mb), p2i = load(ai, j + 2 * mb)
                let p3r = load(ar, j + 3 * mb), p3i = load(ai, j + 3 * mb)
                let p4r = load(ar, j + 4 * mb), p4i = load(ai, j + 4 * mb)
                let e1r = p1r + p4r, e1i = p1i + p4i, d1r = p1r - p4r, d1i = p1i - p4i
                let e2r = p2r + p3r, e2i = p2i + p3i, d2r = p2r - p3r, d2i = p2i - p3i
                let m1r = b0r + c1 * e1r + c2 * e2r, m1i = b0i + c1 * e1i + c2 * e2i
                let m2r = b0r + c2 * e1r + c1 * e2r, m2i = b0i + c2 * e1i + c1 * e2i
                // i·(s1·d1 + s2·d2) and i·(s2·d1 − s1·d2), as (−imag, real).
                let n1r = -(s1 * d1i + s2 * d2i), n1i = s1 * d1r + s2 * d2r
                let n2r = -(s2 * d1i - s1 * d2i), n2i = s2 * d1r - s1 * d2r
                store(br, j, b0r + e1r + e2r)
                store(bi, j, b0i + e1i + e2i)
                twiddle(br, bi, j + block, m1r + n1r, m1i + n1i, w1r, w1i)
                twiddle(br, bi, j + 2 * block, m2r + n2r, m2i + n2i, w2r, w2i)
                twiddle(br, bi, j + 3 * block, m2r - n2r, m2i - n2i, w3r, w3i)
                twiddle(br, bi, j + 4 * block, m1r - n1r, m1i - n1i, w4r, w4i)
            }
        }
    }
}
