import CTrainKernels

/// `AdamStep`'s two updates through `CTrainKernels`: the same IEEE operations
/// in the same order on the widest vectors the CPU has (16 lanes with
/// AVX-512F, 8 with AVX, where Swift's `SIMD8` compiles to SSE's 4), so the
/// bits of `apply` and `applyZeroGradient` (tested for every variant) in about
/// half the time: both are bound by the division per element.
/// Every trainer of recipe fastai or sparse steps its parameters through these
/// (the dense and sparse dot-product models unchanged to the bit, checked with `cmp`);
/// recipe fastai replays a row's missed zero-gradient steps through
/// `embtool_adam_replay_zero_gradient_steps` (see `LazyAdamBlock`).
extension AdamStep {
    var kernelScalars: embtool_adam_scalars {
        embtool_adam_scalars(decay: decay, mom: mom, sqr_mom: sqrMom, sqrt_sqr_mom: sqrtSqrMom,
                             inv_sqrt_debias2: invSqrtDebias2, step_size: stepSize, eps: eps)
    }

    /// `apply`: the full step on `count` parameters with gradients `g`, which it then zeroes.
    @inline(__always)
    func applyWide(params p: UnsafeMutablePointer<Float>, grads g: UnsafeMutablePointer<Float>,
                   gradAvg m: UnsafeMutablePointer<Float>, sqrtSqrAvg q: UnsafeMutablePointer<Float>, count: Int) {
        var s = kernelScalars
        embtool_adam_step(p, g, m, q, count, &s)
    }

    /// `applyZeroGradient`: the step where the gradient is zero.
    @inline(__always)
    func applyZeroGradientWide(params p: UnsafeMutablePointer<Float>, gradAvg m: UnsafeMutablePointer<Float>,
                               sqrtSqrAvg q: UnsafeMutablePointer<Float>, count: Int) {
        var s = kernelScalars
        embtool_adam_zero_gradient_step(p, m, q, count, &s)
    }
}
