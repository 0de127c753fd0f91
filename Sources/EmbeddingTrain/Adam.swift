import Foundation
import EmbeddingCore

/// fastai's `Adam` (`fastai/optimizer.py`) with its defaults: `sqr_mom = 0.99`,
/// `eps = 1e-5`, decoupled ("true") weight decay. One step at step count `t`
/// (1-based), with learning rate `lr` and β1 = `mom` taken from the schedule:
///
///     p  ← p · (1 - lr·wd)                         weight_decay
///     m  ← mom · m + (1 - mom) · g                 average_grad(dampening=True)
///     v  ← sqr_mom · v + (1 - sqr_mom) · g²        average_sqr_grad
///     p  ← p - lr / (1 - mom^t) · m / (sqrt(v / (1 - sqr_mom^t)) + eps)    adam_step
///
/// fastai's debiasing uses the *current* β1 raised to the step count, not the
/// product of the β1s the schedule used; embtool does the same.
///
/// embtool stores `q = sqrt(v)` instead of `v`: where the gradient is zero,
/// `q ← sqrt(sqr_mom) · q` needs no square root, and most parameters of an
/// embedding have a zero gradient at most steps (see `applyZeroGradient`).
public struct AdamStep: Sendable {
    /// `1 - lr·wd`
    public var decay: Float
    public var mom: Float
    public var sqrMom: Float
    /// `sqrt(sqr_mom)`
    public var sqrtSqrMom: Float
    /// `1 / sqrt(1 - sqr_mom^t)`, so that `sqrt(v / (1 - sqr_mom^t)) = q · invSqrtDebias2`
    public var invSqrtDebias2: Float
    /// `lr / (1 - mom^t)`
    public var stepSize: Float
    public var eps: Float

    public static let defaultSqrMom = 0.99
    public static let defaultEps: Float = 1e-5

    /// The scalars of step `t` (1-based); computed in Double as PyTorch computes Python floats.
    public init(lr: Double, mom: Double, wd: Double, step t: Int,
                sqrMom: Double = AdamStep.defaultSqrMom, eps: Float = AdamStep.defaultEps) {
        decay = Float(1 - lr * wd)
        self.mom = Float(mom)
        self.sqrMom = Float(sqrMom)
        sqrtSqrMom = Float(sqrMom.squareRoot())
        invSqrtDebias2 = Float(1 / (1 - pow(sqrMom, Double(t))).squareRoot())
        stepSize = Float(lr / (1 - pow(mom, Double(t))))
        self.eps = eps
    }

    /// The full step on `count` parameters with gradients `g`, which it then
    /// zeroes (ready for the next backward pass). `q` holds `sqrt(v)`.
    @inline(__always)
    public func apply(params p: UnsafeMutablePointer<Float>, grads g: UnsafeMutablePointer<Float>,
                      gradAvg m: UnsafeMutablePointer<Float>, sqrtSqrAvg q: UnsafeMutablePointer<Float>,
                      count: Int) {
        typealias V = SIMD8<Float>
        let decay = V(repeating: decay), mom = V(repeating: mom), dampMom = 1 - mom
        let sqrMom = V(repeating: sqrMom), dampSqr = 1 - sqrMom
        let c = V(repeating: invSqrtDebias2), stepSize = V(repeating: stepSize), eps = V(repeating: eps)
        var j = 0
        while j + 8 <= count {
            let gj = V.load(g + j), qj = V.load(q + j)
            let mj = mom * V.load(m + j) + dampMom * gj
            let qn = (sqrMom * (qj * qj) + dampSqr * (gj * gj)).squareRoot()
            let pj = V.load(p + j) * decay - stepSize * (mj / (qn * c + eps))
            mj.store(m + j); qn.store(q + j); pj.store(p + j); V.zero.store(g + j)
            j += 8
        }
        while j < count {
            let gj = g[j]
            let mj = self.mom * m[j] + (1 - self.mom) * gj
            let qn = (self.sqrMom * (q[j] * q[j]) + (1 - self.sqrMom) * (gj * gj)).squareRoot()
            p[j] = p[j] * self.decay - self.stepSize * (mj / (qn * invSqrtDebias2 + self.eps))
            m[j] = mj; q[j] = qn; g[j] = 0
            j += 1
        }
    }

    /// The same step where the gradient is zero: weight decay still shrinks
    /// `p`, the moments still decay, and momentum still moves `p`. PyTorch's
    /// embedding gradients are dense, so fastai does this to every row a batch
    /// did not touch; so does embtool, without reading a gradient or taking a root.
    @inline(__always)
    public func applyZeroGradient(params p: UnsafeMutablePointer<Float>, gradAvg m: UnsafeMutablePointer<Float>,
                                  sqrtSqrAvg q: UnsafeMutablePointer<Float>, count: Int) {
        typealias V = SIMD8<Float>
        let decay = V(repeating: decay), mom = V(repeating: mom), rootSqrMom = V(repeating: sqrtSqrMom)
        let c = V(repeating: invSqrtDebias2), stepSize = V(repeating: stepSize), eps = V(repeating: eps)
        var j = 0
        while j + 8 <= count {
            let mj = mom * V.load(m + j)
            let qn = rootSqrMom * V.load(q + j)
            let pj = V.load(p + j) * decay - stepSize * (mj / (qn * c + eps))
            mj.store(m + j); qn.store(q + j); pj.store(p + j)
            j += 8
        }
        while j < count {
            let mj = self.mom * m[j]
            let qn = sqrtSqrMom * q[j]
            p[j] = p[j] * self.decay - self.stepSize * (mj / (qn * invSqrtDebias2 + self.eps))
            m[j] = mj; q[j] = qn
            j += 1
        }
    }
}

extension SIMD8 where Scalar == Float {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Self {
        UnsafeRawPointer(p).loadUnaligned(as: Self.self)
    }
    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>) -> Self {
        UnsafeRawPointer(p).loadUnaligned(as: Self.self)
    }
    @inline(__always) func store(_ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self)
    }
}
