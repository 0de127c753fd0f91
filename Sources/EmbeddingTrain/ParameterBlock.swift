/// A [rows, width] embedding table of `EmbeddingNN` with Adam's state and the
/// gradient of the current batch, plus which rows that batch touched, stepped
/// densely: every row at every batch.
final class ParameterBlock {
    let rows: Int, width: Int
    let params, grad, gradAvg: UnsafeMutablePointer<Float>
    /// Adam's `sqrt(v)` (see `AdamStep`).
    let sqrtSqrAvg: UnsafeMutablePointer<Float>
    let touched: UnsafeMutablePointer<UInt8>

    init(rows: Int, width: Int) {
        self.rows = rows
        self.width = width
        func zeros() -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(1, rows * width))
            p.initialize(repeating: 0, count: max(1, rows * width))
            return p
        }
        params = zeros()
        grad = zeros()
        gradAvg = zeros()
        sqrtSqrAvg = zeros()
        touched = .allocate(capacity: rows)
        touched.initialize(repeating: 0, count: rows)
    }

    deinit {
        for p in [params, grad, gradAvg, sqrtSqrAvg] { p.deallocate() }
        touched.deallocate()
    }

    /// Adam over every row in one pass: touched rows take the full step (which
    /// also clears their gradient), runs of untouched rows the zero-gradient
    /// step. `EmbeddingNN` runs the two halves apart (`stepUntouchedRows`,
    /// `stepRows`), tested against this.
    func step(_ adam: AdamStep) {
        var r = 0
        while r < rows {
            if touched[r] != 0 {
                let o = r * width
                adam.applyWide(params: params + o, grads: grad + o, gradAvg: gradAvg + o, sqrtSqrAvg: sqrtSqrAvg + o, count: width)
                touched[r] = 0
                r += 1
            } else {
                var end = r + 1
                while end < rows && touched[end] == 0 { end += 1 }
                let o = r * width
                adam.applyZeroGradientWide(params: params + o, gradAvg: gradAvg + o, sqrtSqrAvg: sqrtSqrAvg + o, count: (end - r) * width)
                r = end
            }
        }
    }

    /// Parameters, m and sqrt(v), one after the other. Between steps the
    /// gradient is zero and no row is marked touched, so this is the whole state.
    func saved() -> [Float] {
        let n = rows * width
        let parts: [UnsafeMutablePointer<Float>] = [params, gradAvg, sqrtSqrAvg]
        return parts.flatMap { Array(UnsafeBufferPointer(start: $0, count: n)) }
    }
}
