import CLapack
import CTrainKernels

/// A [rows, width] slice of `DotBiasAdam`'s parameters (some factor columns,
/// and in the last block the bias as one more column) with Adam's state and
/// the current batch's gradient, stepped lazily.
///
/// Dense Adam steps every row at every batch; a row the batch did not touch
/// takes the zero-gradient step (`AdamStep.applyZeroGradient`), which depends on
/// that step's scalars alone. So a row is left as it was until it is next read,
/// and is then brought up to date by replaying the steps it missed, oldest
/// first, with the row held in registers
/// (`embtool_adam_replay_zero_gradient_steps`): the same operations in the same
/// order on every element, hence the same bits as the dense pass, but each row
/// is loaded and stored once per touch instead of once per step. A row is read
/// when a batch touches it (`catchUp(row:to:)`, before the forward pass) and
/// when the whole model is (`catchUpAll(to:)`).
///
/// Row `r` owns `4 · stride` contiguous floats: parameters, `m`, `sqrt(v)` and
/// the gradient, `stride` each (`width` rounded up to 16 floats, one AVX-512
/// vector). Padding lanes hold zeros, which both Adam steps keep at zero.
final class LazyAdamBlock {
    let rows: Int
    /// Factor columns, then the bias column if `hasBias`.
    let factors: Int, hasBias: Bool
    var width: Int { factors + (hasBias ? 1 : 0) }
    let stride: Int
    let data: UnsafeMutablePointer<Float>
    /// The step whose update row `r` holds (0: the initial parameters).
    let current: UnsafeMutablePointer<Int32>
    /// The rows the current batch touched, each once, in first-touch order.
    let touched: UnsafeMutablePointer<Int32>
    private(set) var touchedCount = 0

    init(rows: Int, factors: Int, hasBias: Bool, maxBatch: Int) {
        self.rows = rows
        self.factors = factors
        self.hasBias = hasBias
        stride = max(16, (factors + (hasBias ? 1 : 0) + 15) / 16 * 16)
        data = .allocate(capacity: rows * 4 * stride)
        data.initialize(repeating: 0, count: rows * 4 * stride)
        current = .allocate(capacity: rows)
        current.initialize(repeating: 0, count: rows)
        touched = .allocate(capacity: 2 * maxBatch)
        touched.initialize(repeating: 0, count: 2 * maxBatch)
    }

    deinit {
        data.deallocate()
        current.deallocate()
        touched.deallocate()
    }

    @inline(__always) func params(_ r: Int) -> UnsafeMutablePointer<Float> { data + r * 4 * stride }
    @inline(__always) func gradAvg(_ r: Int) -> UnsafeMutablePointer<Float> { params(r) + stride }
    @inline(__always) func sqrtSqrAvg(_ r: Int) -> UnsafeMutablePointer<Float> { params(r) + 2 * stride }
    @inline(__always) func grad(_ r: Int) -> UnsafeMutablePointer<Float> { params(r) + 3 * stride }

    /// Brings row `r` to step `t` by the zero-gradient steps `current[r] + 1 ... t`;
    /// `steps[s]` holds the scalars of step `s`.
    @inline(__always)
    func catchUp(row r: Int, to t: Int, _ steps: UnsafePointer<embtool_adam_scalars>) {
        let from = Int(current[r])
        guard from < t else { return }
        let p = params(r)
        embtool_adam_replay_zero_gradient_steps(p, p + stride, p + 2 * stride, stride, steps + from + 1, t - from)
        current[r] = Int32(t)
    }

    /// Starts loading row `r`'s parameters and moments (what a catch-up reads).
    @inline(__always)
    func prefetch(row r: Int) {
        let start = UnsafeRawPointer(params(r))
        for offset in Swift.stride(from: 0, to: 3 * stride * MemoryLayout<Float>.stride, by: 64) {
            embtool_prefetch(start + offset)
        }
        embtool_prefetch(current + r)
    }

    /// Brings every row to step `t`.
    func catchUpAll(to t: Int, _ steps: UnsafePointer<embtool_adam_scalars>) {
        for r in 0..<rows { catchUp(row: r, to: t, steps) }
    }

    /// Declares every row's state current at step `t` (after `load` or `restore`).
    func setCurrent(_ t: Int) {
        current.update(repeating: Int32(t), count: rows)
    }

    /// `params[a] · params[b]` over the factor columns, summed in column order.
    @inline(__always)
    func dot(_ a: Int, _ b: Int) -> Float {
        let pa = params(a), pb = params(b)
        var s: Float = 0
        for c in 0..<factors { s += pa[c] * pb[c] }
        return s
    }

    /// `params[a]` and `params[b]`'s biases summed.
    @inline(__always)
    func biasSum(_ a: Int, _ b: Int) -> Float { params(a)[factors] + params(b)[factors] }

    /// The gradient of `d · x̂` for the rating of rows `a` and `b`:
    /// `grad[a] += d · params[b]`, `grad[b] += d · params[a]` over the factors,
    /// `d` into each bias. Marks both rows touched at step `t`.
    @inline(__always)
    func accumulate(_ d: Float, _ a: Int, _ b: Int, step t: Int) {
        let pa = params(a), pb = params(b), ga = grad(a), gb = grad(b)
        for c in 0..<factors {
            ga[c] += d * pb[c]
            gb[c] += d * pa[c]
        }
        if hasBias {
            ga[factors] += d
            gb[factors] += d
        }
        mark(a, t)
        mark(b, t)
    }

    @inline(__always)
    private func mark(_ r: Int, _ t: Int) {
        guard current[r] != Int32(t) else { return }
        current[r] = Int32(t)
        touched[touchedCount] = Int32(r)
        touchedCount += 1
    }

    /// Adam's full step on the touched rows (which clears their gradient).
    func stepTouched(_ adam: AdamStep) {
        var s = adam.kernelScalars
        for k in 0..<touchedCount {
            let p = params(Int(touched[k]))
            embtool_adam_step(p, p + 3 * stride, p + stride, p + 2 * stride, stride, &s)
        }
        touchedCount = 0
    }

    var isFinite: Bool {
        for r in 0..<rows {
            let p = params(r)
            for c in 0..<width where !p[c].isFinite { return false }
        }
        return true
    }

    /// Parameters, m and sqrt(v) as [rows, width] each, one after the other
    /// (current at the step every row has been brought to).
    func saved() -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(3 * rows * width)
        for part in 0..<3 {
            for r in 0..<rows { out.append(contentsOf: UnsafeBufferPointer(start: params(r) + part * stride, count: width)) }
        }
        return out
    }

    func restore(_ saved: [Float]) {
        precondition(saved.count == 3 * rows * width)
        for part in 0..<3 {
            for r in 0..<rows {
                let from = (part * rows + r) * width
                for c in 0..<width { params(r)[part * stride + c] = saved[from + c] }
            }
        }
    }
}
