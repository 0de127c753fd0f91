@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingLinalg
@testable import EmbeddingTrain
@testable import EmbeddingAnalysis
import CTrainKernels
import Foundation
import XCTest

/// fastai's `EmbeddingNN` (`--arch nn`): its sizes and state dict against
/// fastai's, each layer's gradient against finite differences, BatchNorm1d's
/// statistics against their formulas, predictions against an eval-mode forward
/// pass written out here in Double, and training on synthetic ratings.
final class TrainNNTests: XCTestCase {
    // MARK: Sizes and names

    /// fastai 2.8.12 builds Embedding(944, 74) and Embedding(1665, 102) on
    /// ml-100k keyed by title; elsewhere the rule `min(600, round(1.6 n^0.56))`,
    /// written here with exp and log.
    func testEmbeddingWidthsAreFastaisRule() {
        XCTAssertEqual(EmbeddingNNShape.embeddingWidth(categories: 944), 74)
        XCTAssertEqual(EmbeddingNNShape.embeddingWidth(categories: 1665), 102)
        for n in [1, 2, 3, 10, 59, 100, 611, 1000, 3953, 6041, 59_048, 162_542, 10_000_000] {
            let rule = min(600, Int((1.6 * exp(0.56 * log(Double(n)))).rounded()))
            XCTAssertEqual(EmbeddingNNShape.embeddingWidth(categories: n), rule, "n = \(n)")
        }
        XCTAssertEqual(EmbeddingNNShape.embeddingWidth(categories: 10_000_000), 600, "capped at 600")
    }

    /// The state dict fastai 2.8.12's `EmbeddingNN(emb_szs=[(944, 74), (1665, 102)],
    /// layers=[100, 50], y_range=(0, 5.5)).state_dict()` holds, in its order
    /// (printed from fastai), with the dtype of each.
    func testStateDictIsFastaisEmbeddingNN() {
        let fastai: [(String, [Int], String)] = [
            ("embeds.0.weight", [944, 74], "F32"), ("embeds.1.weight", [1665, 102], "F32"),
            ("bn_cont.weight", [0], "F32"), ("bn_cont.bias", [0], "F32"), ("bn_cont.running_mean", [0], "F32"),
            ("bn_cont.running_var", [0], "F32"), ("bn_cont.num_batches_tracked", [], "I64"),
            ("layers.0.0.weight", [100, 176], "F32"), ("layers.0.2.weight", [100], "F32"), ("layers.0.2.bias", [100], "F32"),
            ("layers.0.2.running_mean", [100], "F32"), ("layers.0.2.running_var", [100], "F32"),
            ("layers.0.2.num_batches_tracked", [], "I64"),
            ("layers.1.0.weight", [50, 100], "F32"), ("layers.1.2.weight", [50], "F32"), ("layers.1.2.bias", [50], "F32"),
            ("layers.1.2.running_mean", [50], "F32"), ("layers.1.2.running_var", [50], "F32"),
            ("layers.1.2.num_batches_tracked", [], "I64"),
            ("layers.2.0.weight", [1, 50], "F32"), ("layers.2.0.bias", [1], "F32"),
        ]
        let net = network(EmbeddingNNShape(users: 944, items: 1665, layers: [100, 50]))
        let state = net.model(meta: ModelMetadata()).stateDict
        XCTAssertEqual(state.map(\.name), fastai.map(\.0))
        XCTAssertEqual(state.map(\.shape), fastai.map(\.1))
        XCTAssertEqual(state.map(\.storedType), fastai.map(\.2))
        for t in state { XCTAssertEqual(t.values.count, t.shape.reduce(1, *), t.name) }
        // Fresh BatchNorm1d, as fastai's `BatchNorm` makes it: weight 1, bias 1e-3, running (0, 1), nothing tracked.
        let byName = Dictionary(uniqueKeysWithValues: state.map { ($0.name, $0.values) })
        XCTAssertEqual(byName["layers.1.2.weight"], [Float](repeating: 1, count: 50))
        XCTAssertEqual(byName["layers.1.2.bias"], [Float](repeating: 1e-3, count: 50))
        XCTAssertEqual(byName["layers.0.2.running_var"], [Float](repeating: 1, count: 100))
        XCTAssertEqual(byName["layers.0.2.num_batches_tracked"], [0])
    }

    /// PyTorch's default `nn.Linear` initialisation is uniform on ±1/√fan_in,
    /// fastai's embeddings `trunc_normal_(std=0.01)` (|x| < 0.02).
    func testInitialisationRanges() {
        let net = network(EmbeddingNNShape(users: 300, items: 200, layers: [40]))
        let users = Array(UnsafeBufferPointer(start: net.userEmbedding.params, count: 300 * net.shape.userWidth))
        XCTAssertLessThan(users.map(abs).max()!, 0.02)
        let sd = (users.reduce(0) { $0 + Double($1 * $1) } / Double(users.count)).squareRoot()
        // fmod(Z, 2) for Z ~ N(0, 1) has sd 0.8659 (√∫ fmod(z, 2)² φ(z) dz, by quadrature): 4.6% of draws fold towards 0.
        XCTAssertEqual(sd, 0.01 * 0.8659, accuracy: 0.0003)
        let w = net.hidden[0].weight.values, bound = 1 / Float(net.shape.inputWidth).squareRoot()
        XCTAssertLessThanOrEqual(w.map(abs).max()!, bound)
        XCTAssertGreaterThan(w.map(abs).max()!, 0.95 * bound, "uniform up to the bound")
    }

    // MARK: Layers against finite differences

    /// Σ c ⊙ out for the outputs of `forward`, in Double.
    func weightedSum(_ out: [Float], _ c: [Float]) -> Double { zip(out, c).reduce(0) { $0 + Double($1.0) * Double($1.1) } }

    /// Central differences of `loss` for every element of `values` (in place), step `h`.
    func finiteDifferences(_ values: inout [Float], h: Float = 1e-2, _ loss: ([Float]) -> Double) -> [Double] {
        (0..<values.count).map { j in
            let keep = values[j]
            values[j] = keep + h
            let up = loss(values)
            values[j] = keep - h
            let down = loss(values)
            values[j] = keep
            return (up - down) / Double(2 * h)
        }
    }

    func assertClose(_ analytic: [Float], _ numeric: [Double], _ what: String, relative: Double = 1e-2, absolute: Double = 1e-3,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(analytic.count, numeric.count, what, file: file, line: line)
        let scale = numeric.map(abs).max() ?? 0
        for (j, (a, n)) in zip(analytic, numeric).enumerated() {
            XCTAssertEqual(Double(a), n, accuracy: relative * scale + absolute, "\(what)[\(j)]", file: file, line: line)
        }
    }

    func gaussians(_ n: Int, _ rng: inout SplitMix64, scale: Float = 1) -> [Float] { (0..<n).map { _ in scale * rng.nextGaussian() } }

    func testLinearGradientsMatchFiniteDifferences() {
        var rng = SplitMix64(seed: 1)
        let (rows, inputs, outputs) = (5, 4, 3)
        var x = gaussians(rows * inputs, &rng), w = gaussians(outputs * inputs, &rng), b = gaussians(outputs, &rng)
        let c = gaussians(rows * outputs, &rng)
        func loss(_ x: [Float], _ w: [Float], _ b: [Float]) -> Double {
            var out = [Float](repeating: 0, count: rows * outputs)
            NN.Linear.forward(x, weight: w, bias: b, rows: rows, inputs: inputs, outputs: outputs, into: &out)
            return weightedSum(out, c)
        }
        var dW = [Float](repeating: 0, count: outputs * inputs), db = [Float](repeating: 0, count: outputs)
        var dX = [Float](repeating: 0, count: rows * inputs)
        NN.Linear.backward(c, x: x, weight: w, rows: rows, inputs: inputs, outputs: outputs, dWeight: &dW, dBias: &db, dX: &dX)
        assertClose(dW, finiteDifferences(&w) { loss(x, $0, b) }, "dW")
        assertClose(db, finiteDifferences(&b) { loss(x, w, $0) }, "db")
        assertClose(dX, finiteDifferences(&x) { loss($0, w, b) }, "dX")
        // The forward pass is x·Wᵀ + b, written out.
        var out = [Float](repeating: 0, count: rows * outputs)
        NN.Linear.forward(x, weight: w, bias: b, rows: rows, inputs: inputs, outputs: outputs, into: &out)
        for r in 0..<rows {
            for o in 0..<outputs {
                let plain = (0..<inputs).reduce(Double(b[o])) { $0 + Double(x[r * inputs + $1]) * Double(w[o * inputs + $1]) }
                XCTAssertEqual(Double(out[r * outputs + o]), plain, accuracy: 1e-5)
            }
        }
    }

    func testReLUForwardAndBackward() {
        var x: [Float] = [-2, -0.5, 0, 0.25, 3, .nan]
        NN.ReLU.forward(&x, count: x.count)
        XCTAssertEqual(Array(x.prefix(5)), [0, 0, 0, 0.25, 3])
        XCTAssertTrue(x[5].isNaN, "a NaN stays visible")
        var g: [Float] = [1, 2, 3, 4, 5, 6]
        NN.ReLU.backward(&g, output: x, count: g.count)
        XCTAssertEqual(g, [0, 0, 0, 4, 5, 0], "gradient only where the output is positive")
    }

    func testBatchNormGradientsMatchFiniteDifferences() {
        var rng = SplitMix64(seed: 2)
        let (rows, features) = (6, 3)
        var a = gaussians(rows * features, &rng), gamma = gaussians(features, &rng), beta = gaussians(features, &rng)
        let c = gaussians(rows * features, &rng)
        func forward(_ a: [Float], _ gamma: [Float], _ beta: [Float]) -> (out: [Float], normalized: [Float], variance: [Float]) {
            var mean = [Float](repeating: 0, count: features), variance = mean
            var normalized = [Float](repeating: 0, count: rows * features), out = normalized
            NN.BatchNorm1d.trainForward(a, rows: rows, features: features, weight: gamma, bias: beta, mean: &mean,
                                        variance: &variance, normalized: &normalized, into: &out)
            return (out, normalized, variance)
        }
        let f = forward(a, gamma, beta)
        var dGamma = [Float](repeating: 0, count: features), dBeta = dGamma, dA = [Float](repeating: 0, count: rows * features)
        NN.BatchNorm1d.backward(c, normalized: f.normalized, variance: f.variance, weight: gamma, rows: rows, features: features,
                                dWeight: &dGamma, dBias: &dBeta, dA: &dA)
        assertClose(dGamma, finiteDifferences(&gamma) { weightedSum(forward(a, $0, beta).out, c) }, "dγ")
        assertClose(dBeta, finiteDifferences(&beta) { weightedSum(forward(a, gamma, $0).out, c) }, "dβ")
        assertClose(dA, finiteDifferences(&a, h: 3e-3) { weightedSum(forward($0, gamma, beta).out, c) }, "da")
    }

    /// μ and the biased σ² normalise; the running statistics move by momentum
    /// 0.1 towards μ and the unbiased σ²·R/(R−1); eval mode uses the running
    /// ones. Truth computed here in Double.
    func testBatchNormStatisticsFollowTheFormulas() {
        var rng = SplitMix64(seed: 3)
        let (rows, features) = (7, 4)
        let a = gaussians(rows * features, &rng, scale: 2).map { $0 + 1 }
        let gamma = gaussians(features, &rng), beta = gaussians(features, &rng)
        var mean = [Float](repeating: 0, count: features), variance = mean
        var normalized = [Float](repeating: 0, count: rows * features), out = normalized
        NN.BatchNorm1d.trainForward(a, rows: rows, features: features, weight: gamma, bias: beta, mean: &mean,
                                    variance: &variance, normalized: &normalized, into: &out)
        var runningMean = [Float](repeating: 0.5, count: features), runningVar = [Float](repeating: 2, count: features)
        NN.BatchNorm1d.updateRunningStatistics(mean: mean, variance: variance, rows: rows, features: features,
                                               runningMean: &runningMean, runningVar: &runningVar)
        for j in 0..<features {
            let column = (0..<rows).map { Double(a[$0 * features + j]) }
            let mu = column.reduce(0, +) / Double(rows)
            let sumSquares = column.reduce(0) { $0 + ($1 - mu) * ($1 - mu) }
            XCTAssertEqual(Double(mean[j]), mu, accuracy: 1e-5)
            XCTAssertEqual(Double(variance[j]), sumSquares / Double(rows), accuracy: 1e-5, "biased")
            XCTAssertEqual(Double(runningMean[j]), 0.9 * 0.5 + 0.1 * mu, accuracy: 1e-5)
            XCTAssertEqual(Double(runningVar[j]), 0.9 * 2 + 0.1 * sumSquares / Double(rows - 1), accuracy: 1e-5, "unbiased")
            for r in 0..<rows {
                let xhat = (column[r] - mu) / (sumSquares / Double(rows) + 1e-5).squareRoot()
                XCTAssertEqual(Double(out[r * features + j]), Double(gamma[j]) * xhat + Double(beta[j]), accuracy: 1e-5)
            }
        }
        var eval = a
        NN.BatchNorm1d.evalForward(&eval, rows: rows, features: features, weight: gamma, bias: beta,
                                   runningMean: runningMean, runningVar: runningVar)
        for r in 0..<rows {
            for j in 0..<features {
                let expected = (Double(a[r * features + j]) - Double(runningMean[j])) / (Double(runningVar[j]) + 1e-5).squareRoot()
                    * Double(gamma[j]) + Double(beta[j])
                XCTAssertEqual(Double(eval[r * features + j]), expected, accuracy: 1e-5)
            }
        }
    }

    // MARK: The whole network

    /// A small network with parameters of order 1 (fastai's 0.01 embeddings
    /// would make finite differences of the loss vanish into rounding).
    func network(_ shape: EmbeddingNNShape, yRange: ModelMetadata.YRange? = .init(low: 0, high: 5.5), seed: UInt64 = 9,
                 scale: Float? = nil, maxBatch: Int = 8) -> EmbeddingNN {
        let helper = StepHelper(helper: false)
        guard let scale else { return EmbeddingNN(shape: shape, yRange: yRange, seed: seed, maxBatch: maxBatch, helper: helper) }
        var rng = SplitMix64(seed: seed)
        return EmbeddingNN(shape: shape, yRange: yRange,
                           userEmbedding: gaussians(shape.users * shape.userWidth, &rng, scale: scale),
                           itemEmbedding: gaussians(shape.items * shape.itemWidth, &rng, scale: scale),
                           weights: shape.linearSizes.map { gaussians($0.inputs * $0.outputs, &rng, scale: scale / Float($0.inputs).squareRoot()) },
                           outputBias: 0.5, maxBatch: maxBatch, helper: helper)
    }

    /// Every parameter's gradient from one backward pass, against central
    /// differences of the batch MSE; the batch repeats a user and an item, so
    /// their rows' gradients must add up.
    func testNetworkGradientsMatchFiniteDifferences() {
        let shape = EmbeddingNNShape(users: 5, items: 6, userWidth: 3, itemWidth: 4, layers: [5, 3])
        let net = network(shape, scale: 1)
        let user: [Int32] = [1, 2, 1, 4, 0, 1], item: [Int32] = [2, 2, 5, 1, 3, 0]
        let rating: [Float] = [4, 2, 5, 3, 1, 4]
        let rows = (0..<Int32(user.count)).map { $0 }
        func batchLoss() -> Double {
            let loss = rows.withUnsafeBufferPointer { net.forwardBackward(rows: $0, user: user, item: item, rating: rating) }
            clearEmbeddingGradients(net)
            return Double(loss)
        }
        clearEmbeddingGradients(net)
        _ = rows.withUnsafeBufferPointer { net.forwardBackward(rows: $0, user: user, item: item, rating: rating) }
        for k in net.hidden.indices { net.hiddenWeightGradient(k) }
        // Copies: the finite differences run the pass again.
        let analytic = net.denseParameters.map { Array(UnsafeBufferPointer(start: $0.grad, count: $0.count)) }
        let userGrad = Array(UnsafeBufferPointer(start: net.userEmbedding.grad, count: 5 * 3))
        let itemGrad = Array(UnsafeBufferPointer(start: net.itemEmbedding.grad, count: 6 * 4))
        XCTAssertTrue(userGrad[(3 * 3)..<(4 * 3)].allSatisfy { $0 == 0 }, "user 3 is not in the batch: no gradient")

        func numeric(_ p: UnsafeMutablePointer<Float>, _ count: Int) -> [Double] {
            var values = Array(UnsafeBufferPointer(start: p, count: count))
            return finiteDifferences(&values, h: 2e-3) { v in
                p.update(from: v, count: count)
                return batchLoss()
            }
        }
        let names = ["layers.0.0.weight", "layers.0.2.weight", "layers.0.2.bias", "layers.1.0.weight", "layers.1.2.weight",
                     "layers.1.2.bias", "layers.2.0.weight", "layers.2.0.bias"]
        for (k, p) in net.denseParameters.enumerated() {
            assertClose(analytic[k], numeric(p.value, p.count), names[k], absolute: 2e-3)
        }
        assertClose(userGrad, numeric(net.userEmbedding.params, 5 * 3), "embeds.0", absolute: 2e-3)
        assertClose(itemGrad, numeric(net.itemEmbedding.params, 6 * 4), "embeds.1", absolute: 2e-3)
    }

    func clearEmbeddingGradients(_ net: EmbeddingNN) {
        net.userEmbedding.grad.update(repeating: 0, count: net.shape.users * net.shape.userWidth)
        net.itemEmbedding.grad.update(repeating: 0, count: net.shape.items * net.shape.itemWidth)
    }

    /// The eval-mode network written out in Double, pair by pair.
    func plainForward(_ m: EmbeddingNNModel, user u: Int, item i: Int) -> Double {
        var x = m.userEmbedding.row(u).map(Double.init) + m.itemEmbedding.row(i).map(Double.init)
        for layer in m.hidden {
            x = (0..<layer.outputs).map { o in
                let z = max(0, (0..<layer.inputs).reduce(0.0) { $0 + Double(layer.weight[o, $1]) * x[$1] })
                return (z - Double(layer.runningMean[o])) / (Double(layer.runningVar[o]) + 1e-5).squareRoot()
                    * Double(layer.bnWeight[o]) + Double(layer.bnBias[o])
            }
        }
        let s = zip(m.outputWeight, x).reduce(Double(m.outputBias)) { $0 + Double($1.0) * $1.1 }
        guard let r = m.meta.yRange else { return s }
        return Double(r.low) + Double(r.high - r.low) / (1 + exp(-s))
    }

    /// A model with trained-looking running statistics, so that eval mode differs from training mode.
    func trainedLookingModel(yRange: ModelMetadata.YRange?) -> EmbeddingNNModel {
        let shape = EmbeddingNNShape(users: 40, items: 30, userWidth: 5, itemWidth: 6, layers: [7, 4])
        var model = network(shape, yRange: yRange, scale: 1).model(meta: ModelMetadata())
        var rng = SplitMix64(seed: 12)
        for k in model.hidden.indices {
            let n = model.hidden[k].outputs
            model.hidden[k].runningMean = gaussians(n, &rng)
            model.hidden[k].runningVar = gaussians(n, &rng).map { 0.5 + $0 * $0 }
            model.hidden[k].bnWeight = gaussians(n, &rng)
            model.hidden[k].bnBias = gaussians(n, &rng)
        }
        model.meta.yRange = yRange
        return model
    }

    /// `predict` (first layer split into a user and an item product, chunks of
    /// 1024 pairs, sgemm) against the plain forward pass; -1 rows give NaN.
    func testPredictionsAreTheEvalModeNetwork() {
        for yRange in [ModelMetadata.YRange(low: 0, high: 5.5), nil] {
            let model = trainedLookingModel(yRange: yRange)
            var rng = SplitMix64(seed: 4)
            let n = 2500
            var users = (0..<n).map { _ in Int32(rng.next() % 40) }, items = (0..<n).map { _ in Int32(rng.next() % 30) }
            users[10] = -1
            items[2000] = -1
            let predicted = model.predict(users: users, items: items)
            for j in 0..<n {
                guard users[j] >= 0 && items[j] >= 0 else { XCTAssertTrue(predicted[j].isNaN); continue }
                let plain = plainForward(model, user: Int(users[j]), item: Int(items[j]))
                XCTAssertEqual(Double(predicted[j]), plain, accuracy: 1e-5 * max(1, abs(plain)), "pair \(j)")
            }
        }
    }

    /// Training mode on a batch whose statistics equal the running ones gives
    /// eval mode's output: a check that the two paths (training's gather + sgemm,
    /// prediction's split first layer) compute the same network.
    func testTrainingAndPredictionPathsAgree() {
        let shape = EmbeddingNNShape(users: 6, items: 7, userWidth: 3, itemWidth: 2, layers: [4])
        let net = network(shape, scale: 1)
        let user: [Int32] = [0, 1, 2, 3, 4, 5, 1, 2], item: [Int32] = [6, 5, 4, 3, 2, 1, 0, 6]
        let rows = (0..<Int32(8)).map { $0 }, rating = [Float](repeating: 3, count: 8)
        _ = rows.withUnsafeBufferPointer { net.forwardBackward(rows: $0, user: user, item: item, rating: rating) }
        var model = net.model(meta: ModelMetadata())
        let layer = net.hidden[0]
        model.hidden[0].runningMean = Array(UnsafeBufferPointer(start: layer.mean, count: 4))
        model.hidden[0].runningVar = Array(UnsafeBufferPointer(start: layer.variance, count: 4))
        // The training pass's ŷ, from its (overwritten) output: recompute s from the layer's output.
        let output = Array(UnsafeBufferPointer(start: layer.output, count: 8 * 4))
        let w = net.outputWeight.values, b = net.outputBias.values[0]
        let predicted = model.predict(users: user, items: item)
        for r in 0..<8 {
            let s = (0..<4).reduce(b) { $0 + w[$1] * output[r * 4 + $1] }
            XCTAssertEqual(predicted[r], sigmoidRange(s, low: 0, high: 5.5), accuracy: 1e-5)
        }
    }

    // MARK: Adam

    /// The two halves `EmbeddingNN` runs apart (untouched rows, then touched
    /// rows) give the bits of `ParameterBlock.step`'s single pass.
    func testSplitEmbeddingStepIsTheDenseStep() {
        var rng = SplitMix64(seed: 5)
        let (rows, width) = (10, 5)
        let blocks = (0..<2).map { _ in ParameterBlock(rows: rows, width: width) }
        let state = (0..<3).map { _ in gaussians(rows * width, &rng) }
        let grads = gaussians(rows * width, &rng)
        for block in blocks {
            block.params.update(from: state[0], count: rows * width)
            block.gradAvg.update(from: state[1], count: rows * width)
            block.sqrtSqrAvg.update(from: state[2].map(abs), count: rows * width)
            for r in [2, 3, 7] {
                for c in 0..<width { block.grad[r * width + c] = grads[r * width + c] }
            }
        }
        let touched = [7, 2, 3, 2]
        for r in touched { blocks[0].touched[r] = 1 }
        var list = [Int32](repeating: -1, count: 4)
        XCTAssertEqual(blocks[1].markRows(touched, into: &list), 3)
        XCTAssertEqual(list.prefix(3), [7, 2, 3], "each distinct row once")
        let adam = AdamStep(lr: 0.01, mom: 0.9, wd: 0.1, step: 3)
        blocks[0].step(adam)
        blocks[1].stepUntouchedRows(adam)
        list.withUnsafeBufferPointer { blocks[1].stepRows(UnsafeBufferPointer(rebasing: $0[0..<3]), adam) }
        XCTAssertEqual(blocks[0].saved(), blocks[1].saved())
        XCTAssertTrue((0..<rows).allSatisfy { blocks[1].touched[$0] == 0 })
    }

    /// The C kernels (AVX-512F, AVX and portable variants, as far as this CPU
    /// runs them) give `AdamStep`'s bits for every length, masked vector tails included.
    func testAdamKernelsGiveAdamStepsBits() {
        var rng = SplitMix64(seed: 13)
        let supported = embtool_adam_supported_level()
        defer { embtool_adam_set_level(supported) }
        for level in 0...supported {
            XCTAssertEqual(embtool_adam_set_level(Int32(level)), Int32(level))
            for n in Array(0...40) + [74, 102, 1000] {
                for (t, wd) in [(1, 0.1), (37, 0.0)] {
                    let adam = AdamStep(lr: 0.004, mom: 0.87, wd: wd, step: t)
                    let p0 = gaussians(n, &rng), g0 = gaussians(n, &rng).map { $0 * 0.01 }
                    var m0 = gaussians(n, &rng).map { $0 * 0.001 }, q0 = gaussians(n, &rng).map { abs($0) * 0.001 }
                    if n > 3 { (m0[1], q0[1], m0[2], q0[2]) = (0, 0, 0, 1e-30) }  // fresh state; a vanishing sqrt(v)
                    var (p1, g1, m1, q1) = (p0, g0, m0, q0), (p2, g2, m2, q2) = (p0, g0, m0, q0)
                    adam.apply(params: &p1, grads: &g1, gradAvg: &m1, sqrtSqrAvg: &q1, count: n)
                    adam.applyWide(params: &p2, grads: &g2, gradAvg: &m2, sqrtSqrAvg: &q2, count: n)
                    XCTAssertEqual([p1, g1, m1, q1].map { $0.map(\.bitPattern) }, [p2, g2, m2, q2].map { $0.map(\.bitPattern) },
                                   "full step, level \(level), n \(n)")
                    (p1, m1, q1, p2, m2, q2) = (p0, m0, q0, p0, m0, q0)
                    adam.applyZeroGradient(params: &p1, gradAvg: &m1, sqrtSqrAvg: &q1, count: n)
                    adam.applyZeroGradientWide(params: &p2, gradAvg: &m2, sqrtSqrAvg: &q2, count: n)
                    XCTAssertEqual([p1, m1, q1].map { $0.map(\.bitPattern) }, [p2, m2, q2].map { $0.map(\.bitPattern) },
                                   "zero-gradient step, level \(level), n \(n)")
                }
            }
        }
    }

    /// Every chunk of every job runs exactly once, with a helper thread or
    /// without, and `own` runs before the caller claims any chunk.
    func testStepHelperRunsEveryChunkOnce() {
        for withHelper in [false, true] {
            let helper = StepHelper(helper: withHelper)
            defer { helper.shutdown() }
            let counts = UnsafeMutablePointer<Int>.allocate(capacity: 64)
            defer { counts.deallocate() }
            counts.initialize(repeating: 0, count: 64)
            var total = 0
            for job in 0..<5_000 {
                let n = 1 + job % 64
                var ownRan = false
                helper.run(chunks: n, own: { ownRan = true }) { k in
                    counts[k] += 1  // each k once per job: no two threads write one slot
                }
                XCTAssertTrue(ownRan)
                total += n
            }
            XCTAssertEqual((0..<64).reduce(0) { $0 + counts[$1] }, total)
            XCTAssertEqual((0..<64).map { counts[$0] }, (0..<64).map { k in (0..<5_000).filter { 1 + $0 % 64 > k }.count },
                           "helper: \(withHelper)")
        }
    }

    /// `Learner(wd_bn_bias=False)`: weight decay shrinks the embeddings and the
    /// linear weights, never BatchNorm's weight and bias nor the output bias.
    func testWeightDecaySparesBatchNormAndBiases() {
        let net = network(EmbeddingNNShape(users: 4, items: 4, layers: [3, 2]))
        XCTAssertEqual(net.denseParameters.map(\.decays), [true, false, false, true, false, false, true, false])
        let adam = AdamStep(lr: 0.1, mom: 0.9, wd: 0.5, step: 1)
        for decays in [true, false] {
            let p = DenseParameter([2, -4], decays: decays)
            p.step(adam)  // zero gradient and zero moments: only the decay moves it
            XCTAssertEqual(p.values, decays ? [2 * 0.95, -4 * 0.95] : [2, -4])
        }
    }

    // MARK: Training

    func lowRankConfig(epochs: Int = 8) -> TrainConfig {
        var config = TrainConfig()
        config.architecture = .nn
        config.layers = [32, 16]
        config.epochs = epochs
        config.lr = 1e-2
        config.seed = 3
        return config
    }

    /// The same run on one thread and on two (the zero-gradient step beside the
    /// forward and backward pass) gives the same tensors, bit for bit.
    func testThreadsDoNotChangeTheModel() throws {
        let data = try LowRank.ratings(users: 60, items: 40, rank: 2, density: 0.4, noise: 0.2, seed: 1)
        var config = lowRankConfig(epochs: 2)
        config.threads = 1
        let one = try Trainer.train(data, valid: nil, config: config).model.stateDict
        config.threads = 2
        let two = try Trainer.train(data, valid: nil, config: config).model.stateDict
        XCTAssertEqual(one, two)
    }

    /// On ratings planted by a low-rank model the network learns most of what
    /// the planted model explains: held-out RMSE well under the spread of the
    /// ratings, and the run's last valid_loss is the returned model's MSE.
    func testLearnsPlantedRatings() throws {
        let data = try LowRank.ratings(users: 300, items: 200, rank: 3, density: 0.3, noise: 0.1, seed: 5)
        let (train, valid) = Split.fold(1).apply(data)
        let result = try Trainer.train(train, valid: valid, config: lowRankConfig())
        let model = try XCTUnwrap(result.model as? EmbeddingNNModel)
        XCTAssertEqual(model.shape, EmbeddingNNShape(users: train.users.count, items: train.items.count, layers: [32, 16]))
        XCTAssertEqual(model.hidden.map(\.batchesTracked), [Int](repeating: 8 * (train.count / 64), count: 2))
        let mean = valid.rating.reduce(0, +) / Float(valid.count)
        let spread = (valid.rating.reduce(0) { $0 + Double(($1 - mean) * ($1 - mean)) } / Double(valid.count)).squareRoot()
        let score = Evaluation.score(model, on: valid)
        XCTAssertLessThan(score.rmse, 0.6 * spread, "spread \(spread)")
        XCTAssertEqual(result.epochs.last?.validLoss ?? .nan, score.mse, accuracy: 1e-12)
        XCTAssertEqual(model.meta.recipe.settings["arch"], "nn")
        XCTAssertEqual(model.meta.recipe.settings["layers"], "32,16")
    }

    func testConfigurationsItCannotTrainAreRejected() {
        func rejects(_ change: (inout TrainConfig) -> Void, _ setting: String, file: StaticString = #filePath, line: UInt = #line) {
            var config = TrainConfig()
            config.architecture = .nn
            change(&config)
            XCTAssertThrowsError(try config.validate(), file: file, line: line) { error in
                guard case .setting(let name, _)? = (error as? EmbtoolError)?.reason else { return XCTFail("\(error)", file: file, line: line) }
                XCTAssertEqual(name, setting, file: file, line: line)
            }
        }
        rejects({ $0.layers = [] }, "layers")
        rejects({ $0.layers = [100, 0] }, "layers")
        rejects({ $0.batchSize = 1 }, "batchSize")
        rejects({ $0.recipe = .sparse }, "architecture")
        rejects({ $0.recipe = .best }, "architecture")
        rejects({ $0.useBias = false }, "architecture")
        var auto = TrainConfig()
        auto.architecture = .nn
        auto.recipe = .auto
        XCTAssertNoThrow(try auto.validate())
        XCTAssertEqual(auto.resolvedRecipe(ratings: 25_000_095, users: 162_542, items: 59_048), .fastai, "auto never picks sparse for nn")
    }

    // MARK: The file

    /// The model file: fastai's names, int64 counters, empty bn_cont tensors;
    /// read back into the same network, and by `FactorLoader` as item embeddings
    /// (for pca and similar) with no biases and no user factors.
    func testModelFileRoundTrip() throws {
        var model = trainedLookingModel(yRange: .init(low: 0, high: 5.5))
        model.hidden[1].batchesTracked = 6250
        model.meta.userLabels = ["#na#"] + (1..<40).map { "u\($0)" }
        model.meta.itemKeys = ["#na#"] + (1..<30).map { "Item \($0)" }
        model.meta.itemLabels = model.meta.itemKeys
        let path = try TestData.scratch(self) + "/nn.safetensors"
        try ModelFile.save(model, to: path)

        let header = try Safetensors.index(data: Data(contentsOf: URL(fileURLWithPath: path)), name: path)
        let dtypes = Dictionary(uniqueKeysWithValues: header.tensors.map { ($0.name, ($0.dtype, $0.shape)) })
        XCTAssertEqual(dtypes["layers.1.2.num_batches_tracked"]?.0, "I64")
        XCTAssertEqual(dtypes["layers.1.2.num_batches_tracked"]?.1, [])
        XCTAssertEqual(dtypes["bn_cont.running_var"]?.1, [0])
        let file = try Safetensors.read(path: path)
        XCTAssertEqual(file.tensor("layers.1.2.num_batches_tracked")?.values, [6250])

        let meta = try ModelFile.metadata(from: file.metadata, file: path)
        let back = try EmbeddingNNModel(stateDict: FactorLoader.stateDict(path: path), meta: meta, file: path)
        XCTAssertEqual(back.stateDict.map(\.values), model.stateDict.map(\.values))
        XCTAssertEqual(back.meta.userLabels, model.meta.userLabels)
        XCTAssertEqual(back.meta.yRange, model.meta.yRange)

        let factors = try ModelFile.load(path: path)
        XCTAssertEqual(factors.itemFactors, model.itemEmbedding)
        XCTAssertNil(factors.userFactors, "embeds.0 feeds the MLP: not user factors of a dot product")
        XCTAssertNil(factors.itemBias)
        XCTAssertEqual(factors.source?.naming, FactorLoader.embeddingNN)
    }

    func testMalformedStateDictsAreRefused() throws {
        let model = trainedLookingModel(yRange: nil)
        var tensors = model.stateDict
        tensors.removeAll { $0.name == "layers.2.0.bias" }
        XCTAssertThrowsError(try EmbeddingNNModel(stateDict: tensors, meta: ModelMetadata(), file: "f")) {
            XCTAssertTrue("\($0)".contains("layers.2.0.bias"), "\($0)")
        }
        tensors = model.stateDict
        let k = tensors.firstIndex { $0.name == "layers.1.0.weight" }!
        tensors[k] = Tensor(name: "layers.1.0.weight", shape: [4, 6], values: [Float](repeating: 0, count: 24))
        XCTAssertThrowsError(try EmbeddingNNModel(stateDict: tensors, meta: ModelMetadata(), file: "f")) {
            XCTAssertTrue("\($0)".contains("takes 6 inputs"), "\($0)")
        }
        var meta = ModelMetadata()
        meta.userLabels = ["a", "b"]
        XCTAssertThrowsError(try EmbeddingNNModel(stateDict: model.stateDict, meta: meta, file: "f"))
    }

    // MARK: Ranking through predictions

    /// The ranking of a model's own predictions (what `evaluate` ranks an
    /// EmbeddingNN by) gives a dot model the lists of the blocked sgemm path.
    func testRankingByPredictionsEqualsTheDotProductRanking() throws {
        let model = Generated.model(items: 50, users: 20, factors: 5)
        let users = Array(1...20), rows = Array(1...50)
        let excluded = users.map { u in (0..<7).map { (u * 13 + $0 * 5) % 50 + 1 } }
        let blocked = try Recommender.bestForUsers(model, users: users, rows: rows, excluded: excluded, count: 10)
        let predicted = Recommender.bestForUsers(predicting: model, users: users, rows: rows, excluded: excluded, count: 10, blockUsers: 6)
        for p in users.indices {
            XCTAssertEqual(predicted.recommendations(ofPosition: p), blocked.recommendations(ofPosition: p), "user \(users[p])")
        }
    }
}
