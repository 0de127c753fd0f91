@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingTrain
@testable import EmbeddingAnalysis
@testable import EmbeddingRender
import Foundation
import XCTest

/// Recipe `best`'s posterior spread (`PosteriorSpread`, `SampleProjection`),
/// its tensors in the model file, and `NeighbourStability`.
final class TrainUncertaintyTests: XCTestCase {
    func testRunningMomentsMatchTwoPass() {
        // A large offset beside a small spread: a sum of squares would cancel, Welford must not.
        var rng = SplitMix64(seed: 9)
        let n = 500, size = 3
        let samples = (0..<n).map { _ in (0..<size).map { 1e6 * Double($0 + 1) + 1e-3 * Double(rng.nextGaussian()) } }
        var moments = RunningMoments(size: size)
        for s in samples { moments.add(s) }
        for j in 0..<size {
            let mean = samples.reduce(0) { $0 + $1[j] } / Double(n)
            let sd = (samples.reduce(0) { $0 + ($1[j] - mean) * ($1[j] - mean) } / Double(n - 1)).squareRoot()
            XCTAssertEqual(moments.mean[j], mean, accuracy: 1e-9 * mean)
            XCTAssertEqual(moments.standardDeviation[j], sd, accuracy: 1e-6 * sd)
        }
        var one = RunningMoments(size: 1)
        one.add([4])
        XCTAssertEqual(one.standardDeviation, [0], "one sample has no spread")
    }

    func testThinnedSamplesAreSpreadEvenlyAndEndAtTheLast() {
        let picked = PosteriorSpread.thinned(samples: 190, keep: 20)
        XCTAssertEqual(picked.count, 20)
        XCTAssertEqual(Set(picked).count, 20)
        XCTAssertEqual(picked, picked.sorted())
        XCTAssertEqual(picked.last, 189)
        XCTAssertTrue(zip(picked, picked.dropFirst()).allSatisfy { $1 - $0 >= 9 && $1 - $0 <= 10 })
        XCTAssertEqual(PosteriorSpread.thinned(samples: 5, keep: 20), [0, 1, 2, 3, 4])
    }

    /// The run `train` makes, and the same chain replayed here (the sampler is
    /// deterministic in its seed) with every kept state mapped to the model's
    /// quantities by plain Double loops: the stored sds are those of the replayed samples.
    func testStoredSpreadEqualsTheSpreadOfTheReplayedSamples() throws {
        let data = try LowRank.ratings(users: 40, items: 30, rank: 2, density: 0.4, noise: 0.3, seed: 3)
        var config = TrainConfig.gibbs(sweeps: 25, samplerFactors: 3, factors: 3)
        config.yRange = TrainConfig().yRange
        config.burnIn = 5
        config.keptSamples = 20
        config.seed = 17
        let model = try BayesianMF.train(data, valid: nil, config: config, meta: ModelMetadata(ratings: data), progress: nil).factors
        let posterior = try XCTUnwrap(model.posterior)
        XCTAssertEqual(posterior.sampleCount, 20)

        let sampler = BPMFSampler(data, factors: config.samplerFactors, seed: config.seed, threads: 1)
        let (users, items, k, d) = (sampler.users, sampler.items, model.factors, sampler.d)
        let range = try XCTUnwrap(config.yRange)
        let margin = 1e-3 * Double(range.high - range.low)
        let lo = max(Double(data.rating.min()!), Double(range.low) + margin), hi = min(Double(data.rating.max()!), Double(range.high) - margin)
        let uf = model.userFactors!, vf = model.itemFactors
        func columnNorm2(_ m: Matrix, _ f: Int) -> Double { (0..<m.rows).reduce(0) { $0 + Double(m[$1, f]) * Double(m[$1, f]) } }
        var itemBias: [[Double]] = [], userBias: [[Double]] = [], itemNorm: [[Double]] = [], userNorm: [[Double]] = []
        var itemVectors: [[Double]] = []
        var meanPrediction = [Double](repeating: 0, count: users * items)
        for sweep in 0..<config.sweeps {
            _ = sampler.sweep(sweep)
            guard sweep >= config.burnIn else { continue }
            var t = [Double](repeating: 0, count: users * items)
            for u in 0..<users { for i in 0..<items {
                var r = Double(sampler.mean) + Double(sampler.x[u * d + d - 1]) + Double(sampler.y[i * d + d - 1])
                for f in 0..<(d - 1) { r += Double(sampler.x[u * d + f]) * Double(sampler.y[i * d + f]) }
                meanPrediction[u * items + i] += r - Double(sampler.mean)
                let p = (min(max(r, lo), hi) - Double(range.low)) / Double(range.high - range.low)
                t[u * items + i] = log(p / (1 - p))
            } }
            let grand = t.reduce(0, +) / Double(users * items)
            let row = (0..<users).map { u in (0..<items).reduce(0) { $0 + t[u * items + $1] } / Double(items) - grand }
            let col = (0..<items).map { i in (0..<users).reduce(0) { $0 + t[$1 * items + i] } / Double(users) - grand }
            let e = (0..<(users * items)).map { t[$0] - grand - row[$0 / items] - col[$0 % items] }
            let iv = (0..<(items * k)).map { j in
                (0..<users).reduce(0.0) { $0 + e[$1 * items + j / k] * Double(uf[$1, j % k]) } / columnNorm2(uf, j % k)
            }
            let uv = (0..<(users * k)).map { j in
                (0..<items).reduce(0.0) { $0 + e[(j / k) * items + $1] * Double(vf[$1, j % k]) } / columnNorm2(vf, j % k)
            }
            itemBias.append(col)
            userBias.append(row.map { grand + $0 })
            itemNorm.append((0..<items).map { i in (0..<k).reduce(0.0) { $0 + iv[i * k + $1] * iv[i * k + $1] }.squareRoot() })
            userNorm.append((0..<users).map { u in (0..<k).reduce(0.0) { $0 + uv[u * k + $1] * uv[u * k + $1] }.squareRoot() })
            itemVectors.append(iv)
        }
        XCTAssertEqual(itemBias.count, 20)
        func twoPassSD(_ samples: [[Double]], _ j: Int) -> Double {
            let m = samples.reduce(0) { $0 + $1[j] } / Double(samples.count)
            return (samples.reduce(0) { $0 + ($1[j] - m) * ($1[j] - m) } / Double(samples.count - 1)).squareRoot()
        }
        for (stored, replayed, what) in [(posterior.itemBiasSD, itemBias, "item bias"), (posterior.userBiasSD, userBias, "user bias"),
                                         (posterior.itemNormSD, itemNorm, "item norm"), (posterior.userNormSD, userNorm, "user norm")] {
            XCTAssertEqual(stored.count, replayed[0].count, what)
            for j in stored.indices {
                let expected = twoPassSD(replayed, j)
                XCTAssertEqual(Double(stored[j]), expected, accuracy: 1e-4 + 2e-3 * expected, "\(what) \(j)")
            }
        }
        // The stored samples are the replayed item vectors, and their norms' sd is the stored one.
        for s in 0..<20 {
            let stored = posterior.itemSample(s, items: items, factors: k)
            for j in 0..<(items * k) { XCTAssertEqual(Double(stored.data[j]), itemVectors[s][j], accuracy: 1e-3, "sample \(s) value \(j)") }
        }
        let storedNorms = (0..<20).map { s in
            let m = posterior.itemSample(s, items: items, factors: k)
            return (0..<items).map { i in (0..<k).reduce(0.0) { $0 + Double(m[i, $1]) * Double(m[i, $1]) }.squareRoot() }
        }
        for i in 0..<items { XCTAssertEqual(Double(posterior.itemNormSD[i]), twoPassSD(storedNorms, i), accuracy: 1e-4 + 1e-3 * twoPassSD(storedNorms, i)) }

        // The fit of the posterior mean's own scores returns the model's factors and biases.
        let projection = SampleProjection(model: model, mean: sampler.mean, clip: (data.rating.min()!, data.rating.max()!), yRange: range)
        let mapped = projection.map(dense: meanPrediction.map { Float($0 / 20) })
        for j in 0..<(items * k) { XCTAssertEqual(mapped.items[j], Double(vf.data[j]), accuracy: 1e-3) }
        for i in 0..<items { XCTAssertEqual(mapped.itemBias[i], Double(model.itemBias![i]), accuracy: 1e-4) }
        for u in 0..<users { XCTAssertEqual(mapped.userBias[u], Double(model.userBias![u]), accuracy: 1e-4) }
    }

    /// A planted bias model without factors: item i has n_i ratings
    /// `3 + b_i + N(0, 0.5²)`. Its bias posterior has sd about
    /// `1 / √(α n_i + λ)` (α = 4 the noise precision, λ ≈ 4 the prior's), so
    /// items with 16x the ratings have about a quarter (here 0.28) of the sd.
    func testBiasSDShrinksWithTheNumberOfRatings() throws {
        var rng = SplitMix64(seed: 12)
        let users = 200, groups = [4, 16, 64], perGroup = 10
        var raw = RawRatings()
        raw.userIds = (0..<users).map { "u\($0)" }
        raw.itemIds = (0..<(groups.count * perGroup)).map { "i\($0)" }
        for (g, n) in groups.enumerated() {
            for j in 0..<perGroup {
                let item = g * perGroup + j, bias = 0.5 * rng.nextGaussian()
                var chosen = Array(0..<users)
                chosen.shuffle(using: &rng)
                for u in chosen.prefix(n) {
                    raw.user.append(Int32(u))
                    raw.item.append(Int32(item))
                    raw.rating.append(3 + bias + 0.5 * rng.nextGaussian())
                    raw.timestamp.append(0)
                }
            }
        }
        let data = try Ratings(raw, itemKey: .id)
        var config = TrainConfig.gibbs(sweeps: 80, samplerFactors: 2, factors: 2)
        config.burnIn = 20
        let model = try BayesianMF.train(data, valid: nil, config: config, meta: ModelMetadata(ratings: data), progress: nil).factors
        let sd = try XCTUnwrap(model.posterior).itemBiasSD
        let rowOf = Dictionary(uniqueKeysWithValues: data.items.labels.enumerated().map { ($1, $0) })
        let groupSD = (0..<groups.count).map { g in
            (0..<perGroup).reduce(0.0) { $0 + Double(sd[rowOf["i\(g * perGroup + $1)"]!]) } / Double(perGroup)
        }
        XCTAssertGreaterThan(groupSD[0], groupSD[1])
        XCTAssertGreaterThan(groupSD[1], groupSD[2])
        let expected = (4.0 * 64 + 4) .squareRoot() / (4.0 * 4 + 4).squareRoot()
        XCTAssertEqual(groupSD[0] / groupSD[2], expected, accuracy: 0.35 * expected, "sd(4 ratings) / sd(64 ratings)")
    }

    /// Each share equals a direct count: per sample, every candidate's cosine
    /// with the query in Double, sorted, the top k taken.
    func testStabilityEqualsADirectCount() {
        var rng = SplitMix64(seed: 4)
        let items = 40, k = 4, top = 6, query = 5
        let base = (0..<(items * k)).map { _ in rng.nextGaussian() }
        let samples = (0..<7).map { _ in Matrix(rows: items, cols: k, data: base.map { $0 + 0.6 * rng.nextGaussian() }) }
        let candidates = Array(1..<items)
        let model = Matrix(rows: items, cols: k, data: base)
        let listed = SimilarityScan.neighbours(of: query, in: model, candidates: candidates, metric: .cosine, top: top).map(\.row)
        let shares = NeighbourStability.shares(of: listed, query: query, samples: samples, candidates: candidates, metric: .cosine, top: top)
        func cosine(_ m: Matrix, _ a: Int, _ b: Int) -> Double {
            var dot = 0.0, na = 0.0, nb = 0.0
            for f in 0..<k { dot += Double(m[a, f] * m[b, f]); na += Double(m[a, f] * m[a, f]); nb += Double(m[b, f] * m[b, f]) }
            return dot / (na * nb).squareRoot()
        }
        var counts = [Int](repeating: 0, count: listed.count)
        for m in samples {
            let topRows = Set(candidates.filter { $0 != query }.sorted { cosine(m, query, $0) > cosine(m, query, $1) }.prefix(top))
            for (j, n) in listed.enumerated() where topRows.contains(n) { counts[j] += 1 }
        }
        XCTAssertEqual(shares, counts.map { Double($0) / 7 })
        XCTAssertTrue(shares.contains { $0 < 1 } && shares.contains { $0 > 0 }, "the noise moves some neighbours, not all")
    }

    func testModelFileCarriesThePosteriorAndFilesWithoutItStillLoad() throws {
        let dir = try TestData.scratch(self)
        var model = Generated.model(items: 12, users: 5, factors: 3)
        let plain = dir + "/plain.safetensors", sampled = dir + "/sampled.safetensors"
        try ModelFile.save(model, to: plain)
        let loadedPlain = try ModelFile.load(path: plain)
        XCTAssertNil(loadedPlain.posterior)
        XCTAssertFalse(loadedPlain.source!.entries.contains { $0.role == .posteriorSD })

        let items = model.itemCount, users = model.userCount
        model.posterior = Posterior(itemBiasSD: (0..<items).map { Float($0) / 10 }, userBiasSD: (0..<users).map { Float($0) / 7 },
                                    itemNormSD: (0..<items).map { Float($0) / 9 }, userNormSD: (0..<users).map { Float($0) / 3 },
                                    itemSamples: (0..<(2 * items * 3)).map { Float($0) }, sampleCount: 2)
        try ModelFile.save(model, to: sampled)
        let loaded = try ModelFile.load(path: sampled)
        XCTAssertEqual(loaded.posterior, model.posterior)
        XCTAssertEqual(loaded.itemFactors, model.itemFactors)
        XCTAssertEqual(loaded.source!.entries.filter { $0.role == .posteriorSD }.count, 4)
        XCTAssertEqual(loaded.source!.entry(for: .posteriorSamples)?.shape, [2, items, 3])
        XCTAssertEqual(loaded.posterior!.itemSample(1, items: items, factors: 3).data, (0..<(items * 3)).map { Float(items * 3 + $0) })

        // Some sd tensors without the others: refused, naming them.
        let partial = model.stateDict.filter { $0.name != Posterior.userNormSDName }
        let partialPath = dir + "/partial.safetensors"
        try Safetensors.encode(partial, metadata: ModelFile.metadataStrings(model.meta)).write(to: URL(fileURLWithPath: partialPath))
        XCTAssertThrowsError(try ModelFile.load(path: partialPath)) { XCTAssertTrue("\($0)".contains("u_norm_sd"), "\($0)") }
    }

    func testBarChartDrawsErrorBarsWhereGiven() throws {
        let chart = BarChart(title: "Bias", valueTitle: "bias", sections: [
            BarChart.Section(title: "Lowest", bars: [BarChart.Bar(label: "a", value: -1, error: 0.5), BarChart.Bar(label: "b", value: -0.5)], color: 4),
            BarChart.Section(title: "Highest", bars: [BarChart.Bar(label: "c", value: 1.2, error: 0.25)], color: 0),
        ]).render()
        // Three lines per error bar: the bar and its two caps.
        XCTAssertEqual(chart.components(separatedBy: "class=\"err\"").count - 1, 6)
    }
}

/// `bias` and `similar --stability` as a user runs them, on a generated model
/// with a posterior and one without.
final class UncertaintyCLITests: XCTestCase {
    var home = ""

    func models() throws -> (plain: String, sampled: String, model: FactorModel) {
        home = try TestData.scratch(self)
        var model = Generated.model(items: 30, users: 10, factors: 4)
        let plain = home + "/plain.safetensors", sampled = home + "/sampled.safetensors"
        try ModelFile.save(model, to: plain)
        var rng = SplitMix64(seed: 2)
        let items = model.itemCount, users = model.userCount, size = items * 4
        model.posterior = Posterior(itemBiasSD: (0..<items).map { _ in 0.1 + 0.05 * abs(rng.nextGaussian()) },
                                    userBiasSD: (0..<users).map { _ in 0.2 }, itemNormSD: [Float](repeating: 0.1, count: items),
                                    userNormSD: [Float](repeating: 0.1, count: users),
                                    itemSamples: (0..<(5 * size)).map { model.itemFactors.data[$0 % size] + 0.4 * rng.nextGaussian() },
                                    sampleCount: 5)
        try ModelFile.save(model, to: sampled)
        return (plain, sampled, model)
    }

    func testBiasShowsThePosteriorSDOrSaysThereIsNone() throws {
        let (plain, sampled, model) = try models()
        let svg = home + "/bias.svg", csv = home + "/bias.csv"
        let r = try EmbtoolCLI.run(["bias", "--model", sampled, "--json", "--top", "3", "--bottom", "2", "--svg", svg, "--csv", csv], home: home)
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try r.json()
        XCTAssertEqual(json["posterior"] as? Bool, true)
        let rowOf = Dictionary(uniqueKeysWithValues: model.meta.itemLabels.enumerated().map { ($1, $0) })
        for entry in try XCTUnwrap(json["highest"] as? [[String: Any]]) + (json["lowest"] as? [[String: Any]] ?? []) {
            let row = try XCTUnwrap(rowOf[entry["label"] as? String ?? ""])
            XCTAssertEqual(entry["sd"] as? Double ?? .nan, Double(model.posterior!.itemBiasSD[row]), accuracy: 1e-6)
        }
        XCTAssertEqual(try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").first, "end,rank,label,bias,sd,mean_rating,count")
        XCTAssertEqual(try String(contentsOfFile: svg, encoding: .utf8).components(separatedBy: "class=\"err\"").count - 1, 3 * 5)
        let table = try EmbtoolCLI.run(["bias", "--model", sampled, "--top", "2", "--bottom", "0"], home: home)
        XCTAssertTrue(table.stdout.contains("bias ± sd"), table.stdout)

        let none = try EmbtoolCLI.run(["bias", "--model", plain, "--top", "2", "--bottom", "0"], home: home)
        XCTAssertEqual(none.status, 0, none.stderr)
        XCTAssertEqual(none.stdout.components(separatedBy: "\n").filter { $0.hasPrefix("No posterior sd") }.count, 1, none.stdout)
        let noneJSON = try EmbtoolCLI.run(["bias", "--model", plain, "--json"], home: home).json()
        XCTAssertEqual(noneJSON["posterior"] as? Bool, false)
        XCTAssertTrue((noneJSON["highest"] as? [[String: Any]])?.first?["sd"] is NSNull)
    }

    func testSimilarStabilityCountsTheStoredSamples() throws {
        let (plain, sampled, model) = try models()
        let r = try EmbtoolCLI.run(["similar", "Item 7", "--model", sampled, "--stability", "--samples", "4", "--top", "5",
                                    "--min-ratings", "0", "--json"], home: home)
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try r.json()
        XCTAssertEqual(json["samples"] as? Int, 4)
        let neighbours = try XCTUnwrap(json["neighbours"] as? [[String: Any]])
        let rowOf = Dictionary(uniqueKeysWithValues: model.meta.itemLabels.enumerated().map { ($1, $0) })
        let rows = neighbours.map { rowOf[$0["label"] as! String]! }
        let samples = (0..<4).map { model.posterior!.itemSample($0, items: model.itemCount, factors: 4) }
        let expected = NeighbourStability.shares(of: rows, query: 7, samples: samples, candidates: Array(1..<model.itemCount),
                                                 metric: .cosine, top: 5)
        XCTAssertEqual(neighbours.map { $0["stability"] as? Double ?? -1 }, expected)
        let text = try EmbtoolCLI.run(["similar", "Item 7", "--model", sampled, "--stability", "--min-ratings", "0"], home: home)
        XCTAssertTrue(text.stdout.contains("stable"), text.stdout)

        let none = try EmbtoolCLI.run(["similar", "Item 7", "--model", plain, "--stability"], home: home)
        XCTAssertEqual(none.status, 64)
        XCTAssertTrue(none.stderr.contains("train --recipe best"), none.stderr)
        XCTAssertEqual(none.stderr.split(separator: "\n").count, 1, "one line")
    }
}

extension TrainUncertaintyTests {
    /// Above the dense limit the model holds the sampled coordinates' means, and
    /// the spread is that of the sampled coordinates: checked against a two-pass
    /// sd of the sampler's own rows over the same sweeps.
    func testLargeDataSpreadIsThatOfTheSampledCoordinates() throws {
        let data = try LowRank.ratings(users: 30, items: 20, rank: 2, density: 0.5, noise: 0.3, seed: 8)
        let sampler = BPMFSampler(data, factors: 2, seed: 5, threads: 1)
        let (k, d) = (sampler.k, sampler.d)
        var spread = PosteriorSpread(items: sampler.items, users: sampler.users, samples: 6, store: 2)
        var itemBias: [[Double]] = [], userNorm: [[Double]] = [], itemRows: [[Float]] = []
        for sweep in 0..<6 {
            _ = sampler.sweep(sweep)
            spread.add(sampler)
            itemBias.append((0..<sampler.items).map { Double(sampler.y[$0 * d + k]) })
            userNorm.append((0..<sampler.users).map { u in (0..<k).reduce(0.0) { $0 + Double(sampler.x[u * d + $1] * sampler.x[u * d + $1]) }.squareRoot() })
            itemRows.append((0..<(sampler.items * k)).map { sampler.y[($0 / k) * d + $0 % k] })
        }
        let posterior = spread.posterior
        func twoPassSD(_ samples: [[Double]], _ j: Int) -> Double {
            let m = samples.reduce(0) { $0 + $1[j] } / Double(samples.count)
            return (samples.reduce(0) { $0 + ($1[j] - m) * ($1[j] - m) } / Double(samples.count - 1)).squareRoot()
        }
        for i in 0..<sampler.items { XCTAssertEqual(Double(posterior.itemBiasSD[i]), twoPassSD(itemBias, i), accuracy: 1e-6) }
        for u in 0..<sampler.users { XCTAssertEqual(Double(posterior.userNormSD[u]), twoPassSD(userNorm, u), accuracy: 1e-5) }
        // Two of six kept: samples 2 and 5 (0-based), the last among them.
        XCTAssertEqual(posterior.sampleCount, 2)
        XCTAssertEqual(posterior.itemSample(0, items: sampler.items, factors: k).data, itemRows[2])
        XCTAssertEqual(posterior.itemSample(1, items: sampler.items, factors: k).data, itemRows[5])
    }
}
