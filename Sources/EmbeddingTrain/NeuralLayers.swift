import Foundation
import EmbeddingCore
import EmbeddingLinalg

/// The layers fastai's `TabularModel` stacks for `EmbeddingNN`, as PyTorch's
/// `torch.nn` computes them, each a forward and a backward function over a
/// row-major batch (`rows` examples, one per row). `EmbeddingNN` (training)
/// and `EmbeddingNNModel` (prediction) are built from these, and each is
/// tested alone against finite differences.
enum NN {
    /// `nn.Linear(inputs, outputs, bias:)`: weight `W` [outputs, inputs]
    /// (PyTorch's layout), bias `b` [outputs].
    enum Linear {
        /// `out = x · Wᵀ + b`: x [rows, inputs], out [rows, outputs]; one sgemm.
        static func forward(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                            rows: Int, inputs: Int, outputs: Int, into out: UnsafeMutablePointer<Float>) {
            if let bias {
                for r in 0..<rows { (out + r * outputs).update(from: bias, count: outputs) }
            }
            BLAS.gemm(transB: true, m: rows, n: outputs, k: inputs, a: x, lda: inputs, b: weight, ldb: inputs,
                      beta: bias == nil ? 0 : 1, c: out, ldc: outputs)
        }

        /// Given `dOut = ∂L/∂out` [rows, outputs]:
        ///
        ///     ∂L/∂W = dOutᵀ · x   [outputs, inputs]     ∂L/∂b = Σ_rows dOut   [outputs]
        ///     ∂L/∂x = dOut · W    [rows, inputs]
        ///
        /// each when its buffer is given (`weightGradient` computes ∂L/∂W
        /// alone, later or on another thread). Each gradient is overwritten, not accumulated.
        static func backward(_ dOut: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                             rows: Int, inputs: Int, outputs: Int, dWeight: UnsafeMutablePointer<Float>?,
                             dBias: UnsafeMutablePointer<Float>?, dX: UnsafeMutablePointer<Float>?) {
            if let dWeight { weightGradient(dOut, x: x, rows: rows, inputs: inputs, outputs: outputs, into: dWeight) }
            if let dBias { columnSums(dOut, rows: rows, columns: outputs, into: dBias) }
            if let dX {
                BLAS.gemm(m: rows, n: inputs, k: outputs, a: dOut, lda: outputs, b: weight, ldb: inputs, c: dX, ldc: inputs)
            }
        }

        /// `∂L/∂W = dOutᵀ · x` [outputs, inputs]: one sgemm.
        static func weightGradient(_ dOut: UnsafePointer<Float>, x: UnsafePointer<Float>, rows: Int, inputs: Int, outputs: Int,
                                   into dWeight: UnsafeMutablePointer<Float>) {
            BLAS.gemm(transA: true, m: outputs, n: inputs, k: rows, a: dOut, lda: outputs, b: x, ldb: inputs,
                      c: dWeight, ldc: inputs)
        }
    }

    /// `nn.ReLU(inplace=True)`: `max(x, 0)`, in place. Eight lanes at a time:
    /// the compiler does not vectorise a loop that may read what it writes.
    enum ReLU {
        static func forward(_ x: UnsafeMutablePointer<Float>, count: Int) {
            // `x < 0 ? 0 : x` keeps a NaN a NaN, as PyTorch's relu does, so divergence stays visible.
            var j = 0
            while j + 8 <= count {
                let v = SIMD8<Float>.load(x + j)
                v.replacing(with: 0, where: v .< 0).store(x + j)
                j += 8
            }
            while j < count { x[j] = x[j] < 0 ? 0 : x[j]; j += 1 }
        }

        /// `∂L/∂x = ∂L/∂out` where the output is positive, else 0 (PyTorch's
        /// `threshold_backward` on the output), in place on `dOut`.
        static func backward(_ dOut: UnsafeMutablePointer<Float>, output: UnsafePointer<Float>, count: Int) {
            var j = 0
            while j + 8 <= count {
                let o = SIMD8<Float>.load(output + j)
                SIMD8<Float>.load(dOut + j).replacing(with: 0, where: .!(o .> 0)).store(dOut + j)
                j += 8
            }
            while j < count { dOut[j] = output[j] > 0 ? dOut[j] : 0; j += 1 }
        }
    }

    /// `nn.BatchNorm1d(features)` with PyTorch's defaults `eps = 1e-5`,
    /// `momentum = 0.1`, affine weight γ and bias β [features]. In training
    /// mode it normalises each feature by the batch's statistics and moves its
    /// running statistics towards them; in eval mode it normalises by the
    /// running statistics. Per-feature factors are computed once per call (as
    /// PyTorch's CPU kernels do: `out = a · α + (β − μ · α)`, `α = γ / sqrt(σ² + eps)`),
    /// so the loops over the batch hold no square root or division.
    enum BatchNorm1d {
        static let eps: Float = 1e-5
        static let momentum: Float = 0.1

        /// Training mode, per feature j over the `rows` rows of `a` [rows, features]:
        ///
        ///     μ_j  = Σ_r a[r,j] / R
        ///     σ²_j = Σ_r (a[r,j] − μ_j)² / R                  (biased: what normalises)
        ///     x̂    = (a − μ_j) / sqrt(σ²_j + eps)
        ///     out  = γ_j · x̂ + β_j
        ///
        /// Writes μ and σ² [features], x̂ and out [rows, features].
        static func trainForward(_ a: UnsafePointer<Float>, rows: Int, features: Int,
                                 weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                 mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>,
                                 normalized: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
            let n = Float(rows)
            columnSums(a, rows: rows, columns: features, into: mean)
            for j in 0..<features { mean[j] /= n }
            variance.update(repeating: 0, count: features)
            for r in 0..<rows {
                let ar = a + r * features
                for j in 0..<features {
                    let d = ar[j] - mean[j]
                    variance[j] += d * d
                }
            }
            for j in 0..<features { variance[j] /= n }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * features) { buffer in
                let invStd = buffer.baseAddress!, alpha = invStd + features, shift = alpha + features
                for j in 0..<features {
                    invStd[j] = 1 / (variance[j] + eps).squareRoot()
                    alpha[j] = weight[j] * invStd[j]
                    shift[j] = bias[j] - mean[j] * alpha[j]
                }
                for r in 0..<rows {
                    let ar = a + r * features, xr = normalized + r * features, yr = out + r * features
                    for j in 0..<features {
                        xr[j] = (ar[j] - mean[j]) * invStd[j]
                        yr[j] = ar[j] * alpha[j] + shift[j]
                    }
                }
            }
        }

        /// The backward pass of `trainForward` (μ and σ² depend on the input):
        /// with `g = ∂L/∂out` [rows, features],
        ///
        ///     ∂L/∂β_j = Σ_r g[r,j]          ∂L/∂γ_j = Σ_r g[r,j] · x̂[r,j]
        ///     ∂L/∂a   = γ_j / sqrt(σ²_j + eps) · (g − ∂L/∂β_j / R − x̂ · ∂L/∂γ_j / R)
        ///
        /// `dA` may be `dOut` itself.
        static func backward(_ dOut: UnsafePointer<Float>, normalized: UnsafePointer<Float>, variance: UnsafePointer<Float>,
                             weight: UnsafePointer<Float>, rows: Int, features: Int,
                             dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>,
                             dA: UnsafeMutablePointer<Float>) {
            let n = Float(rows)
            dWeight.update(repeating: 0, count: features)
            dBias.update(repeating: 0, count: features)
            for r in 0..<rows {
                let g = dOut + r * features, x = normalized + r * features
                for j in 0..<features {
                    dBias[j] += g[j]
                    dWeight[j] += g[j] * x[j]
                }
            }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * features) { buffer in
                let scale = buffer.baseAddress!, meanG = scale + features, meanGX = meanG + features
                for j in 0..<features {
                    scale[j] = weight[j] / (variance[j] + eps).squareRoot()
                    meanG[j] = dBias[j] / n
                    meanGX[j] = dWeight[j] / n
                }
                for r in 0..<rows {
                    let g = dOut + r * features, x = normalized + r * features, d = dA + r * features
                    for j in 0..<features { d[j] = scale[j] * (g[j] - meanG[j] - x[j] * meanGX[j]) }
                }
            }
        }

        /// What a training-mode forward does to the running statistics:
        ///
        ///     running_mean ← (1 − momentum) · running_mean + momentum · μ
        ///     running_var  ← (1 − momentum) · running_var  + momentum · σ² · R / (R − 1)
        ///
        /// (the running variance takes the unbiased batch variance; R ≥ 2).
        static func updateRunningStatistics(mean: UnsafePointer<Float>, variance: UnsafePointer<Float>, rows: Int, features: Int,
                                            runningMean: UnsafeMutablePointer<Float>, runningVar: UnsafeMutablePointer<Float>) {
            let unbias = Float(rows) / Float(rows - 1)
            for j in 0..<features {
                runningMean[j] = (1 - momentum) * runningMean[j] + momentum * mean[j]
                runningVar[j] = (1 - momentum) * runningVar[j] + momentum * (variance[j] * unbias)
            }
        }

        /// Eval mode, in place on `a` [rows, features]:
        /// `out = (a − running_mean) / sqrt(running_var + eps) · γ + β`.
        static func evalForward(_ a: UnsafeMutablePointer<Float>, rows: Int, features: Int,
                                weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                runningMean: UnsafePointer<Float>, runningVar: UnsafePointer<Float>) {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * features) { buffer in
                let alpha = buffer.baseAddress!, shift = alpha + features
                for j in 0..<features {
                    alpha[j] = weight[j] / (runningVar[j] + eps).squareRoot()
                    shift[j] = bias[j] - runningMean[j] * alpha[j]
                }
                for r in 0..<rows {
                    let ar = a + r * features
                    for j in 0..<features { ar[j] = ar[j] * alpha[j] + shift[j] }
                }
            }
        }
    }

    /// `out[j] = Σ_r x[r, j]` over a row-major [rows, columns] matrix.
    static func columnSums(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
        out.update(repeating: 0, count: columns)
        for r in 0..<rows {
            let xr = x + r * columns
            for j in 0..<columns { out[j] += xr[j] }
        }
    }
}
