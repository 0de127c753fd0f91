@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingLinalg
@testable import EmbeddingTrain
@testable import EmbeddingAnalysis
@testable import EmbeddingRender
import Foundation
import XCTest

/// The maths of fastai's recipe, each piece against an independent computation.
final class TrainMathTests: XCTestCase {
    func testSigmoidRangeAndItsSlopeAgainstFiniteDifferences() {
        for x: Float in [-6, -1.5, -0.2, 0, 0.3, 2, 5] {
            let (y, slope) = sigmoidRangeWithSlope(x, low: 0, high: 5.5)
            XCTAssertEqual(Double(y), 5.5 / (1 + exp(-Double(x))), accuracy: 1e-5)
            // Central difference in Double: f(x) = 5.5 / (1 + e^-x).
            let h = 1e-4
            let f = { (t: Double) in 5.5 / (1 + exp(-t)) }
            let numeric = (f(Double(x) + h) - f(Double(x) - h)) / (2 * h)
            XCTAssertEqual(Double(slope), numeric, accuracy: 1e-5, "x = \(x)")
        }
        let (y, slope) = sigmoidRangeWithSlope(0, low: 1, high: 5)
        XCTAssertEqual(y, 3)
        XCTAssertEqual(slope, 1)  // (5 - 1) * 1/2 * 1/2
    }

    func testOneAdamStepAgainstAHandComputedUpdate() {
        // fastai, step t = 3: p *= 1 - lr*wd; m = mom*m + (1-mom)*g; v = sqr_mom*v + (1-sqr_mom)*g^2;
        // p -= lr / (1 - mom^t) * m / (sqrt(v / (1 - sqr_mom^t)) + eps)
        let lr = 0.01, mom = 0.9, wd = 0.1, t = 3.0
        let p0 = 0.5, g = 0.2, m0 = 0.1, v0 = 0.04
        let m1 = 0.9 * m0 + 0.1 * g                         // 0.11
        let v1 = 0.99 * v0 + 0.01 * g * g                   // 0.04
        let expected = p0 * (1 - lr * wd) - lr / (1 - pow(mom, t)) * m1 / ((v1 / (1 - pow(0.99, t))).squareRoot() + 1e-5)

        var p: [Float] = [Float(p0)], grad: [Float] = [Float(g)], m: [Float] = [Float(m0)], q: [Float] = [Float(v0.squareRoot())]
        let step = AdamStep(lr: lr, mom: mom, wd: wd, step: 3)
        step.apply(params: &p, grads: &grad, gradAvg: &m, sqrtSqrAvg: &q, count: 1)
        XCTAssertEqual(Double(p[0]), expected, accuracy: 1e-7)
        XCTAssertEqual(Double(m[0]), m1, accuracy: 1e-8)
        XCTAssertEqual(Double(q[0] * q[0]), v1, accuracy: 1e-8)
        XCTAssertEqual(grad[0], 0, "the step clears the gradient for the next batch")
    }

    func testTheZeroGradientStepIsTheFullStepWithAZeroGradient() {
        // Eleven values so both the SIMD body and the scalar tail run.
        let n = 11
        let p0 = (0..<n).map { Float($0) * 0.1 - 0.4 }, m0 = (0..<n).map { Float($0 % 3) * 0.01 - 0.01 }
        let q0 = (0..<n).map { Float($0) * 0.003 }
        let step = AdamStep(lr: 0.004, mom: 0.87, wd: 0.1, step: 40)
        var (p1, m1, q1, g) = (p0, m0, q0, [Float](repeating: 0, count: n))
        step.apply(params: &p1, grads: &g, gradAvg: &m1, sqrtSqrAvg: &q1, count: n)
        var (p2, m2, q2) = (p0, m0, q0)
        step.applyZeroGradient(params: &p2, gradAvg: &m2, sqrtSqrAvg: &q2, count: n)
        for j in 0..<n {
            XCTAssertEqual(p2[j], p1[j], accuracy: 1e-7)
            XCTAssertEqual(m2[j], m1[j], accuracy: 1e-9)
            XCTAssertEqual(q2[j], q1[j], accuracy: 1e-7)
        }
        XCTAssertNotEqual(p2[2], p0[2] * (1 - 0.004 * 0.1), "momentum still moves a row with no gradient")
    }

    func testOneCycleScheduleAtStartPeakAndEnd() {
        // fastai: lr cosine from lr_max/25 to lr_max over the first 25%, then to lr_max/1e5;
        // mom from 0.95 to 0.85 and back.
        let s = OneCycleSchedule(lrMax: 5e-3)
        XCTAssertEqual(s.lr(at: 0), 5e-3 / 25, accuracy: 1e-15)
        XCTAssertEqual(s.mom(at: 0), 0.95, accuracy: 1e-15)
        XCTAssertEqual(s.lr(at: 0.25), 5e-3, accuracy: 1e-15)
        XCTAssertEqual(s.mom(at: 0.25), 0.85, accuracy: 1e-15)
        XCTAssertEqual(s.lr(at: 1), 5e-3 / 1e5, accuracy: 1e-15)
        XCTAssertEqual(s.mom(at: 1), 0.95, accuracy: 1e-15)
        // Halfway up, cos(π/2) = 0: exactly the midpoint; 3/4 of the way down likewise by symmetry.
        XCTAssertEqual(s.lr(at: 0.125), (5e-3 / 25 + 5e-3) / 2, accuracy: 1e-15)
        XCTAssertEqual(s.mom(at: 0.625), 0.9, accuracy: 1e-12)
        // A general point against the formula start + (1 + cos(π(1 - t)))(end - start)/2.
        let t = (0.7 - 0.25) / 0.75
        XCTAssertEqual(s.lr(at: 0.7), 5e-3 + (1 + cos(Double.pi * (1 - t))) * (5e-8 - 5e-3) / 2, accuracy: 1e-15)
    }

    /// fastai 2.8's `Embedding` initialises with `trunc_normal_(std=0.01)`, which is
    /// `normal_().fmod_(2).mul_(0.01)`: N(0, 1) folded into (-2, 2), scaled. Its
    /// standard deviation, E[fmod(z, 2)²]^½ · 0.01, is integrated here (Simpson, z in
    /// [-12, 12]); both recipes' draws must have it, zero mean, and stay inside ±0.02.
    func testInitialParametersFollowFastaisTruncatedNormal() {
        let h = 1e-4, n = Int(24 / h)
        var integral = 0.0
        for i in 0...n {
            let z = -12 + Double(i) * h, f = fmod(z, 2)
            integral += (i == 0 || i == n ? 1 : i % 2 == 1 ? 4 : 2) * exp(-z * z / 2) / (2 * Double.pi).squareRoot() * f * f
        }
        let std = 0.01 * (integral * h / 3).squareRoot()  // 0.008659
        let pool = WorkerPool(threads: 1)
        defer { pool.shutdown() }
        let dense = DotBiasAdam(users: 300, items: 200, factors: 50, useBias: true, yRange: nil, seed: 7, maxBatch: 1, pool: pool)
            .model(meta: ModelMetadata())
        let sparse = SparseAdam(users: 300, items: 200, factors: 50, useBias: true, yRange: nil, seed: 7).model(meta: ModelMetadata())
        for (name, m) in [("fastai", dense), ("sparse", sparse)] {
            let values = (m.userFactors?.data ?? []) + m.itemFactors.data + (m.userBias ?? []) + (m.itemBias ?? [])
            XCTAssertEqual(values.count, 500 * 51)
            let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
            let sd = (values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count)).squareRoot()
            // The sample deviation's own spread is std / sqrt(2n) = 0.4 %: 2 % is five of those.
            XCTAssertEqual(sd, std, accuracy: 0.02 * std, name)
            XCTAssertEqual(mean, 0, accuracy: 5 * std / Double(values.count).squareRoot(), name)
            XCTAssertLessThan(values.map { abs($0) }.max() ?? 1, 0.02, name)
        }
    }

    func testSmoothLossIsFastaisDebiasedAverage() {
        var s = SmoothLoss()
        s.add(2)
        XCTAssertEqual(s.value, 2, accuracy: 1e-12)  // debiasing makes the first value exact
        s.add(1)
        // (0.98 * 0.02 * 2 + 0.02 * 1) / (1 - 0.98^2)
        XCTAssertEqual(s.value, (0.98 * 0.02 * 2 + 0.02) / (1 - 0.98 * 0.98), accuracy: 1e-12)
    }
}

/// Replays a run recorded from fastai itself (bench/train_fastai_fixture.py:
/// `collab_learner(n_factors=3, y_range=(0, 5.5))`, `fit_one_cycle(3, 0.05, wd=0.1)`
/// on 40 synthetic ratings, 32 of them for training) through the loop `embtool train` runs
/// (`FastaiRecipe.fit`), given fastai's initial weights and batch order. The
/// train_loss and valid_loss columns and the final weights must match PyTorch's.
/// Two recordings: fastai 2.8's default loader (`TabWeightedDL`, batches drawn
/// with replacement, embedded below) and `dl_type=TabDataLoader` (a shuffle,
/// `Tests/fixtures/replay/fastai-tabdataloader.json`).
final class TrainFastaiReplayTests: XCTestCase {
    struct Fixture: Decodable {
        struct Step: Decodable { var x: [[Int]]; var y: [Float]; var lr: Double; var mom: Double; var loss: Float }
        struct Rows: Decodable { var x: [[Int]]; var y: [Float] }
        var n_users: Int, n_items: Int, factors: Int, epochs: Int, lr_max: Double, wd: Double, batches_per_epoch: Int
        var `init`: [String: [[Float]]]
        var final: [String: [[Float]]]
        var steps: [Step]
        var train_loss: [Double], valid_loss: [Double]
        var train: Rows, valid: Rows
    }

    func fixture() throws -> Fixture { try JSONDecoder().decode(Fixture.self, from: Data(Self.fixture.utf8)) }

    func tabDataLoaderFixture() throws -> Fixture {
        try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("replay/fastai-tabdataloader.json"))))
    }

    /// The recorded ratings as one table whose user and item rows are fastai's
    /// indices (ids 1...n; row 0 is `#na#`), split into fastai's training and validation rows.
    func tables(_ f: Fixture) throws -> (train: Ratings, valid: Ratings) {
        var raw = RawRatings()
        raw.userIds = (1..<f.n_users).map(String.init)
        raw.itemIds = (1..<f.n_items).map(String.init)
        for (x, y) in zip(f.train.x + f.valid.x, f.train.y + f.valid.y) {
            raw.user.append(Int32(x[0] - 1))
            raw.item.append(Int32(x[1] - 1))
            raw.rating.append(y)
            raw.timestamp.append(0)
        }
        let all = try Ratings(raw, itemKey: .id)
        return (all.subset(Array(f.train.y.indices)), all.subset(Array(f.train.y.count..<all.count)))
    }

    /// Epoch `e`'s recorded batches as rows of `train`. fastai's loader repeats
    /// some ratings within an epoch and skips others, so this is a list of rows,
    /// not a permutation; each (user, item) pair is rated once.
    func recordedOrder(_ f: Fixture, _ train: Ratings, epoch e: Int) throws -> [Int32] {
        let steps = f.steps[(e * f.batches_per_epoch)..<((e + 1) * f.batches_per_epoch)]
        return try steps.flatMap { zip($0.x, $0.y) }.map { x, y in
            let row = try XCTUnwrap((0..<train.count).first { train.user[$0] == Int32(x[0]) && train.item[$0] == Int32(x[1]) },
                                    "epoch \(e) rates \(x), which is not a training rating")
            XCTAssertEqual(train.rating[row], y)
            return Int32(row)
        }
    }

    /// fastai 2.8's default loader draws with replacement: its epochs repeat ratings
    /// (what `--sampling replacement` reproduces).
    func testReplaysARealFastaiRun() throws {
        let f = try fixture()
        let (train, _) = try tables(f)
        let orders = try (0..<f.epochs).map { try recordedOrder(f, train, epoch: $0) }
        XCTAssertTrue(orders.allSatisfy { Set($0).count < train.count }, "every epoch repeats some ratings and skips others")
        try replay(f)
    }

    /// With `dl_type=TabDataLoader` every epoch is a permutation of the training
    /// ratings, the book's shuffle that `--sampling shuffle` runs.
    func testReplaysAFastaiRunWithTabDataLoader() throws {
        let f = try tabDataLoaderFixture()
        let (train, _) = try tables(f)
        for e in 0..<f.epochs {
            XCTAssertEqual(try recordedOrder(f, train, epoch: e).sorted(), (0..<Int32(train.count)).map { $0 }, "epoch \(e) is a permutation")
        }
        try replay(f)
    }

    func replay(_ f: Fixture) throws {
        XCTAssertEqual(f.steps.count, f.epochs * f.batches_per_epoch)
        let (train, valid) = try tables(f)
        XCTAssertEqual([train.users.count, train.items.count], [f.n_users, f.n_items], "fastai's vocabularies")
        XCTAssertEqual(train.count, f.batches_per_epoch * f.steps[0].y.count, "every training rating in a full batch")
        let orders = try (0..<f.epochs).map { try recordedOrder(f, train, epoch: $0) }
        var config = TrainConfig()
        config.factors = f.factors
        config.epochs = f.epochs
        config.lr = Float(f.lr_max)
        config.wd = Float(f.wd)
        config.batchSize = f.steps[0].y.count
        config.yRange = .init(low: 0, high: 5.5)
        for threads in [1, 2] {
            let pool = WorkerPool(threads: threads)
            defer { pool.shutdown() }
            let net = DotBiasAdam(users: f.n_users, items: f.n_items, factors: f.factors, useBias: true,
                                  yRange: config.yRange, maxBatch: config.batchSize, pool: pool)
            net.load(userWeight: f.`init`["u_weight.weight"]!.flatMap { $0 }, itemWeight: f.`init`["i_weight.weight"]!.flatMap { $0 },
                     userBias: f.`init`["u_bias.weight"]!.flatMap { $0 }, itemBias: f.`init`["i_bias.weight"]!.flatMap { $0 })
            let epochs = try FastaiRecipe.fit(net, train, valid: valid, config: config, progress: nil) { epoch, order in
                order = orders[epoch]
            }
            XCTAssertEqual(net.steps, f.steps.count)
            XCTAssertEqual(epochs.count, f.epochs)
            for (row, (trainLoss, validLoss)) in zip(epochs, zip(f.train_loss, f.valid_loss)) {
                XCTAssertEqual(row.trainLoss, trainLoss, accuracy: 1e-5, "train_loss of epoch \(row.epoch) (threads \(threads))")
                XCTAssertEqual(row.validLoss ?? .nan, validLoss, accuracy: 1e-5, "valid_loss of epoch \(row.epoch) (threads \(threads))")
            }
            let model = net.model(meta: ModelMetadata())
            func close(_ a: [Float]?, _ b: [[Float]]?, _ name: String) {
                let b = b!.flatMap { $0 }
                XCTAssertEqual(a?.count, b.count, name)
                let worst = zip(a ?? [], b).map { abs($0 - $1) }.max() ?? .infinity
                XCTAssertLessThan(worst, 1e-5, "\(name) differs from fastai's by \(worst) (threads \(threads))")
            }
            close(model.userFactors?.data, f.final["u_weight.weight"], "u_weight")
            close(model.itemFactors.data, f.final["i_weight.weight"], "i_weight")
            close(model.userBias, f.final["u_bias.weight"], "u_bias")
            close(model.itemBias, f.final["i_bias.weight"], "i_bias")
        }
    }

    /// The schedule alone against the learning rate and β1 fastai used at each step
    /// (fastai computes the position within a phase in float32: `combine_scheds`).
    func testOneCycleMatchesFastaisRecordedSchedule() throws {
        let f = try fixture()
        let schedule = OneCycleSchedule(lrMax: f.lr_max)
        for (t, s) in f.steps.enumerated() {
            let pos = Double(t) / Double(f.steps.count)
            XCTAssertEqual(schedule.lr(at: pos), s.lr, accuracy: 1e-7 * f.lr_max, "lr of step \(t)")
            XCTAssertEqual(schedule.mom(at: pos), s.mom, accuracy: 1e-7, "mom of step \(t)")
        }
    }

    /// fastai's first batch loss is the untrained model's MSE on that batch: the
    /// forward pass alone, before any step.
    func testTheFirstRecordedLossIsTheInitialModelsError() throws {
        let f = try fixture()
        let pool = WorkerPool(threads: 1)
        defer { pool.shutdown() }
        let net = DotBiasAdam(users: f.n_users, items: f.n_items, factors: f.factors, useBias: true,
                              yRange: .init(low: 0, high: 5.5), maxBatch: 8, pool: pool)
        net.load(userWeight: f.`init`["u_weight.weight"]!.flatMap { $0 }, itemWeight: f.`init`["i_weight.weight"]!.flatMap { $0 },
                 userBias: f.`init`["u_bias.weight"]!.flatMap { $0 }, itemBias: f.`init`["i_bias.weight"]!.flatMap { $0 })
        let s = f.steps[0]
        XCTAssertEqual(net.meanSquaredError(user: s.x.map { Int32($0[0]) }, item: s.x.map { Int32($0[1]) }, rating: s.y),
                       Double(s.loss), accuracy: 2e-6)
    }

    /// Output of `bench/train_fastai_fixture.py` (fastai 2.8.12, PyTorch 2.15). The
    /// `train` rows were added later without rerunning fastai: they are the 40 ratings
    /// the script generates (NumPy `default_rng(0)`) less the recorded `valid` ones.
    static let fixture = #"""
{"n_users":8,"n_items":7,"factors":3,"epochs":3,"lr_max":0.05,"wd":0.1,"batches_per_epoch":4,"init":{"u_weight.weight":[[0.010950213298201561,-0.005064866039901972,0.0009977540466934443],[-0.0065397340804338455,0.007316936738789082,-0.014343858696520329],[-0.005008130334317684,0.0017163313459604979,0.011119632050395012],[0.006155448965728283,0.0019382202299311757,-0.005832138005644083],[0.008539420552551746,0.012465682812035084,0.005057213827967644],[0.00950511172413826,-0.011334174312651157,-0.0010103476233780384],[0.0034335374366492033,-0.010702777653932571,-0.008742631413042545],[-0.014647993259131908,-0.012629283592104912,0.01122018788009882]],"i_weight.weight":[[0.00037456900463439524,-0.006378393154591322,-0.008147554472088814],[-0.0068950653076171875,0.004175342619419098,0.01165701262652874],[0.005269321613013744,0.01619253307580948,-0.009639762341976166],[0.0014152037911117077,-0.0016366095514968038,-0.0035822256468236446],[-0.0005944386939518154,-0.0030357560608536005,0.002388741821050644],[0.013440011069178581,0.0010322568705305457,0.011003541760146618],[-0.003416801802814007,0.009473389014601707,0.0062233018688857555]],"u_bias.weight":[[0.005307833664119244],[-0.004644942935556173],[0.007339825388044119],[-0.004393826238811016],[0.009254568256437778],[0.00800270028412342],[-0.0043762498535215855],[-0.004595281556248665]],"i_bias.weight":[[-0.01356344111263752],[-0.01224474050104618],[-0.016767846420407295],[0.0051730903796851635],[0.0033494336530566216],[-0.003919284790754318],[0.013773582875728607]]},"steps":[{"x":[[7,6],[1,4],[2,6],[2,2],[2,2],[2,2],[1,2],[3,2]],"y":[2.0,2.0,2.0,1.0,1.0,1.0,4.0,1.0],"lr":0.002,"mom":0.95,"loss":1.9246323108673096},{"x":[[1,1],[7,5],[5,5],[5,2],[3,2],[3,2],[2,4],[5,3]],"y":[2.0,4.0,5.0,3.0,1.0,1.0,3.0,2.0],"lr":0.014000000648665212,"mom":0.9249999986486142,"loss":1.7214879989624023},{"x":[[3,4],[1,1],[1,4],[7,6],[5,4],[7,4],[2,4],[4,1]],"y":[5.0,2.0,2.0,2.0,3.0,5.0,3.0,4.0],"lr":0.03800000129733038,"mom":0.8749999972972283,"loss":1.7000596523284912},{"x":[[4,2],[3,6],[7,6],[6,6],[4,1],[7,4],[3,2],[5,3]],"y":[5.0,4.0,2.0,3.0,4.0,5.0,1.0,2.0],"lr":0.05,"mom":0.85,"loss":2.1372034549713135},{"x":[[2,4],[1,1],[4,3],[7,4],[4,3],[7,4],[5,4],[7,6]],"y":[3.0,2.0,3.0,5.0,3.0,5.0,3.0,2.0],"lr":0.04849233017398109,"mom":0.8530153698057359,"loss":1.2394095659255981},{"x":[[5,4],[2,2],[5,1],[5,2],[4,6],[7,4],[4,6],[7,4]],"y":[3.0,1.0,4.0,3.0,1.0,5.0,1.0,5.0],"lr":0.04415117023554718,"mom":0.8616977765066707,"loss":2.3162145614624023},{"x":[[3,4],[7,5],[6,3],[5,5],[1,4],[3,6],[6,1],[7,4]],"y":[5.0,4.0,2.0,5.0,2.0,4.0,2.0,5.0],"lr":0.03750012432431383,"mom":0.8750000013513858,"loss":2.094153881072998},{"x":[[1,4],[1,3],[3,4],[3,2],[5,3],[5,5],[4,6],[4,1]],"y":[2.0,4.0,5.0,1.0,2.0,5.0,1.0,4.0],"lr":0.029341413078594034,"mom":0.8913175870186821,"loss":2.2734036445617676},{"x":[[1,4],[2,6],[4,3],[2,6],[3,2],[3,6],[5,1],[1,2]],"y":[2.0,2.0,3.0,2.0,1.0,4.0,4.0,4.0],"lr":0.02065908692140597,"mom":0.9086824129813178,"loss":1.1201562881469727},{"x":[[6,6],[1,4],[1,4],[1,4],[6,6],[1,2],[7,6],[6,2]],"y":[3.0,2.0,2.0,2.0,3.0,4.0,2.0,2.0],"lr":0.012500373648627702,"mom":0.9250000027027716,"loss":0.6699259877204895},{"x":[[5,5],[4,6],[4,3],[3,5],[4,5],[1,4],[4,5],[5,5]],"y":[5.0,1.0,3.0,4.0,4.0,2.0,4.0,5.0],"lr":0.005849332773528879,"mom":0.938302217475117,"loss":1.6175463199615479},{"x":[[5,1],[6,1],[1,2],[4,2],[7,5],[2,2],[2,6],[4,6]],"y":[4.0,2.0,4.0,5.0,4.0,1.0,2.0,1.0],"lr":0.0015081692256079526,"mom":0.946984631395098,"loss":1.8204617500305176}],"final":{"u_weight.weight":[[0.010621732100844383,-0.004912931472063065,0.0009678237256594002],[-0.05693480372428894,0.16879525780677795,-0.2283395677804947],[-0.08982342481613159,-0.11199583113193512,0.13970735669136047],[-0.034743063151836395,-0.06965386867523193,0.16992945969104767],[0.1523374319076538,-0.1615566462278366,0.18112508952617645],[0.202443927526474,-0.18301579356193542,0.14681756496429443],[0.021036198362708092,0.12564918398857117,-0.14211887121200562],[-0.05115549638867378,-0.2564248740673065,0.25398075580596924]],"i_weight.weight":[[0.0003633328014984727,-0.006187054328620434,-0.0079031465575099],[0.17229193449020386,-0.19684919714927673,0.2832980155944824],[0.11573367565870285,0.14835882186889648,-0.10475128889083862],[-0.10122432559728622,-0.022519834339618683,0.0018223441438749433],[-0.022114938125014305,-0.26061129570007324,0.26516565680503845],[0.1327827274799347,-0.12124934792518616,0.1308983415365219],[-0.10777366906404495,0.17043843865394592,-0.136877179145813]],"u_bias.weight":[[0.005148610100150108],[-0.14413367211818695],[-0.050938501954078674],[0.008502814918756485],[0.10104983299970627],[0.1331949383020401],[0.021337509155273438],[0.23725512623786926]],"i_bias.weight":[[-0.013156566768884659],[0.07490021735429764],[-0.10011833161115646],[-0.0903233140707016],[0.23408019542694092],[0.10956909507513046],[-0.10228150337934494]]},"train_loss":[1.872433066368103,1.9325604438781738,1.7097768783569336],"valid_loss":[2.0103368759155273,1.8633623123168945,1.813366174697876],"valid":{"x":[[7,3],[2,1],[7,1],[5,6],[3,1],[6,5],[1,6],[4,4]],"y":[4.0,4.0,5.0,1.0,2.0,1.0,2.0,2.0]},"train":{"x":[[1,1],[1,2],[1,3],[1,4],[1,5],[2,2],[2,3],[2,4],[2,5],[2,6],[3,2],[3,4],[3,5],[3,6],[4,1],[4,2],[4,3],[4,5],[4,6],[5,1],[5,2],[5,3],[5,4],[5,5],[6,1],[6,2],[6,3],[6,6],[7,2],[7,4],[7,5],[7,6]],"y":[2.0,4.0,4.0,2.0,2.0,1.0,4.0,3.0,3.0,2.0,1.0,5.0,4.0,4.0,4.0,5.0,3.0,4.0,1.0,4.0,3.0,2.0,3.0,5.0,2.0,2.0,2.0,3.0,2.0,5.0,4.0,2.0]}}
"""#
}
