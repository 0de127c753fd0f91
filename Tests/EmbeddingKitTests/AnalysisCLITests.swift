@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingLinalg
@testable import EmbeddingTrain
@testable import EmbeddingAnalysis
@testable import EmbeddingRender
import Foundation
import XCTest

/// Runs the `embtool` binary built beside the tests, as a user would.
enum EmbtoolCLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        func json() throws -> [String: Any] {
            let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8))
            return try XCTUnwrap(object as? [String: Any], "stdout is not one JSON object: \(stdout.prefix(200))")
        }
    }

    static func binary() throws -> URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [beside, beside.deletingLastPathComponent(),
                          TestData.repoRoot.appendingPathComponent(".build/release"),
                          TestData.repoRoot.appendingPathComponent(".build/debug")]
        for dir in candidates {
            let url = dir.appendingPathComponent("embtool")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw XCTSkip("embtool binary not found beside the tests (build it with --build-tests)")
    }

    /// `embtool args…` with `EMBTOOL_HOME` set to `home`, so no real cache is
    /// touched, and `env` set on top (an empty value unsets a variable).
    static func run(_ args: [String], home: String, env extra: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["EMBTOOL_HOME"] = home
        for (key, value) in extra { env[key] = value.isEmpty ? nil : value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting: a full pipe would block the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }
}

/// Every analysis command on a small generated model: the JSON parses and
/// says what the library computes; bad input gives a clear error and exit code.
final class AnalysisCLIGeneratedTests: XCTestCase {
    var home = ""
    var modelPath = ""
    let model = Generated.model(items: 60, users: 30, factors: 6)

    override func setUpWithError() throws {
        home = try TestData.scratch(self)
        modelPath = home + "/generated.safetensors"
        try ModelFile.save(model, to: modelPath)
    }

    func run(_ args: [String]) throws -> EmbtoolCLI.Result { try EmbtoolCLI.run(args + ["--model", modelPath], home: home) }

    func testSimilarJSONEqualsTheLibrary() throws {
        // Against the library over every item: no floor.
        let r = try run(["similar", "item 7", "--json", "--top", "5", "--min-ratings", "0"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try r.json()
        XCTAssertEqual(json["query"] as? String, "Item 7 (1957)")
        XCTAssertEqual(json["count"] as? Int, model.meta.itemCounts[7])
        let neighbours = try XCTUnwrap(json["neighbours"] as? [[String: Any]])
        let expected = SimilarityScan.neighbours(of: 7, in: model.itemFactors, candidates: Array(1..<61), metric: .cosine, top: 5)
        XCTAssertEqual(neighbours.map { $0["label"] as? String }, expected.map { model.meta.itemLabels[$0.row] })
        for (n, e) in zip(neighbours, expected) {
            XCTAssertEqual((n["similarity"] as? Double) ?? .nan, Double(e.score), accuracy: 1e-5)
            XCTAssertEqual(n["count"] as? Int, model.meta.itemCounts[e.row])
        }
    }

    func testSimilarAmbiguousAndUnknownQueries() throws {
        let ambiguous = try run(["similar", "Item"])
        XCTAssertEqual(ambiguous.status, 64)
        XCTAssertTrue(ambiguous.stderr.hasPrefix("embtool: \"Item\" matches 60 titles"), ambiguous.stderr)
        XCTAssertEqual(ambiguous.stderr.split(separator: "\n").count, 1, "one line")
        let unknown = try run(["similar", "Itme 7 (1957)"])
        XCTAssertEqual(unknown.status, 65)
        XCTAssertTrue(unknown.stderr.contains("nearest: \"Item 7 (1957)\""), unknown.stderr)
        XCTAssertEqual(try run(["similar"]).status, 64)
        XCTAssertEqual(try run(["similar", "Item 7", "--metric", "manhattan"]).status, 64)
    }

    func testSimilarAllWritesEveryItemsNeighbours() throws {
        let csv = home + "/out/all.csv"
        let r = try run(["similar", "--all", "--top", "3", "--csv", csv, "--json", "--min-ratings", "0"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try r.json()["items"] as? Int, 60)
        let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.first, "label,rank,neighbour,similarity,neighbour_count")
        XCTAssertEqual(lines.count, 1 + 60 * 3)
        XCTAssertTrue(r.stderr.contains("wrote \(csv)"))
        XCTAssertEqual(try run(["similar", "--all"]).status, 64, "--all needs --csv")
    }

    func testPCAJSONAndFiles() throws {
        let svg = home + "/pca.svg", csv = home + "/pca.csv"
        let r = try run(["pca", "--all", "--components", "3", "--labels", "10", "--color", "genre", "--svg", svg, "--csv", csv, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try r.json()
        let (pca, _) = try PCA.fit(model.itemFactors.rows(Array(1..<61)), components: 3)
        let ratio = try XCTUnwrap(json["explained_variance_ratio"] as? [Double])
        for (a, b) in zip(ratio, pca.explainedVarianceRatio) { XCTAssertEqual(a, Double(b), accuracy: 1e-5) }
        XCTAssertEqual((json["points"] as? [Any])?.count, 60)
        let components = try XCTUnwrap(json["components"] as? [[String: Any]])
        XCTAssertEqual(components.count, 3)
        XCTAssertEqual((components[0]["low"] as? [Any])?.count, 5)
        let parsed = try ParsedSVG(String(contentsOfFile: svg, encoding: .utf8))
        XCTAssertEqual(parsed.all("circle", inGroup: "points").count, 60)
        XCTAssertEqual(parsed.all("text", inGroup: "labels", class: "lbl").count, 10)
        XCTAssertEqual(try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").first, "label,count,pc1,pc2,pc3")
    }

    func testPCARejectsMoreComponentsThanFactors() throws {
        let r = try run(["pca", "--components", "7"])
        XCTAssertEqual(r.status, 64)
        XCTAssertEqual(r.stderr, "embtool: --components 7 is more than the model's 6 factors\n")
        XCTAssertEqual(try run(["pca", "--x", "4", "--svg", home + "/p.svg"]).status, 64)
        XCTAssertEqual(try run(["pca", "--components", "1", "--all"]).status, 0, "--x/--y only matter for --svg")
    }

    func testBiasJSONFollowsTheModelsBiases() throws {
        let r = try run(["bias", "--top", "3", "--bottom", "3", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try r.json()
        let biases = model.itemBias!
        let order = (1..<61).sorted { biases[$0] < biases[$1] }
        let lowest = try XCTUnwrap(json["lowest"] as? [[String: Any]])
        let highest = try XCTUnwrap(json["highest"] as? [[String: Any]])
        XCTAssertEqual(lowest.map { $0["label"] as? String }, order.prefix(3).map { model.meta.itemLabels[$0] })
        XCTAssertEqual(highest.map { $0["label"] as? String }, order.suffix(3).reversed().map { model.meta.itemLabels[$0] })
        // No ratings beside a generated model: the mean is null, the count from the metadata.
        XCTAssertTrue(lowest[0]["mean_rating"] is NSNull)
        XCTAssertEqual(lowest[0]["count"] as? Int, model.meta.itemCounts[order[0]])
        XCTAssertTrue(r.stderr.contains("mean ratings are unknown"))
    }

    func testRecommendForAUserAndForLikes() throws {
        let r = try run(["recommend", "--user", "3", "--top", "4", "--json", "--min-ratings", "0"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let items = try XCTUnwrap(try r.json()["items"] as? [[String: Any]])
        XCTAssertEqual(items.count, 4)
        let best = (1..<61).max { model.predict(user: 3, item: $0) < model.predict(user: 3, item: $1) }!
        XCTAssertEqual(items[0]["label"] as? String, model.meta.itemLabels[best])
        XCTAssertEqual((items[0]["predicted_rating"] as? Double) ?? .nan, Double(model.predict(user: 3, item: best)), accuracy: 1e-5)

        let likes = try run(["recommend", "--like", "Item 7", "--dislike", "Item 8 (1958)", "--json"])
        XCTAssertEqual(likes.status, 0, likes.stderr)
        let json = try likes.json()
        XCTAssertEqual(json["like"] as? [String], ["Item 7 (1957)"])
        let labels = (json["items"] as? [[String: Any]])?.compactMap { $0["label"] as? String } ?? []
        XCTAssertFalse(labels.contains("Item 7 (1957)") || labels.contains("Item 8 (1958)"), "titles given are not recommended back")
        XCTAssertEqual(try run(["recommend", "--user", "999"]).status, 64)
        XCTAssertEqual(try run(["recommend"]).status, 64)
    }

    func testMissingModelFileIsExit66() throws {
        let r = try EmbtoolCLI.run(["similar", "x", "--model", home + "/nope.safetensors"], home: home)
        XCTAssertEqual(r.status, 66)
        XCTAssertTrue(r.stderr.hasPrefix("embtool: "))
    }
}

/// fastbook's model trained here with the fastai recipe on all of a dataset in
/// ml-100k's layout, once per dataset for every test that needs it.
enum TrainedOnAll {
    private static let lock = NSLock()
    private static var cache: [String: Result<(model: FactorModel, ratings: Ratings), Error>] = [:]

    static func get(_ d: LayoutDataset) throws -> (model: FactorModel, ratings: Ratings) {
        lock.lock()
        defer { lock.unlock() }
        if let done = cache[d.folder] { return try done.get() }
        let result = Result { () throws -> (model: FactorModel, ratings: Ratings) in
            let ratings = try DatasetLoader.load(path: d.folder, itemKey: .title)
            return (try Trainer.train(ratings, valid: nil, config: TrainConfig()).factors, ratings)
        }
        cache[d.folder] = result
        return try result.get()
    }
}

/// The analysis commands on that model, saved where commands without
/// `--model` find the default model (a scratch `EMBTOOL_HOME`).
struct AnalysisOfTheDefaultModel {
    let d: LayoutDataset
    let home: String
    let model: FactorModel
    let ratings: Ratings

    init(_ d: LayoutDataset, _ test: XCTestCase) throws {
        self.d = d
        (model, ratings) = try TrainedOnAll.get(d)
        home = try TestData.scratch(test)
        let path = EmbtoolHome.modelPath(dataset: "ml-100k").replacingOccurrences(of: EmbtoolHome.path, with: home)
        try ModelFile.save(model, to: path)
    }

    func neighboursAreTheSequels() throws {
        let catalog = try Catalog(model: model)
        let row = try TitleResolver(labels: catalog.labels, rows: Array(catalog.rows)).row(for: d.star.query)
        XCTAssertEqual(catalog.labels[row], d.star.title)
        let top5 = SimilarityScan.neighbours(of: row, in: model.itemFactors, candidates: Array(catalog.rows), metric: .cosine, top: 5).map { catalog.labels[$0.row] }
        for sequel in d.star.sequels { XCTAssertTrue(top5.contains(sequel), "\(sequel) not in \(top5)") }

        // The same through the command, on the default model, with no data at hand.
        let r = try EmbtoolCLI.run(["similar", d.star.query, "--top", "5", "--json", "--min-ratings", "0"], home: home)
        XCTAssertEqual(r.status, 0, r.stderr)
        let labels = (try r.json()["neighbours"] as? [[String: Any]])?.compactMap { $0["label"] as? String }
        XCTAssertEqual(labels, top5)
    }

    /// Without --min-ratings, neighbours have at least 20 ratings (counted here
    /// from the ratings themselves) and are the library's top 10 among those items.
    func defaultFloorHidesTheBarelyRated() throws {
        let catalog = try Catalog(model: model)
        let row = try TitleResolver(labels: catalog.labels, rows: Array(catalog.rows)).row(for: d.star.query)
        let counted = ratings.itemCounts()
        let countOf = Dictionary(uniqueKeysWithValues: ratings.itemLabels.enumerated().map { ($1, counted[$0]) })
        let eligible = catalog.rows.filter { (countOf[catalog.labels[$0]] ?? 0) >= 20 }
        let expected = SimilarityScan.neighbours(of: row, in: model.itemFactors, candidates: eligible, metric: .cosine, top: 10).map { catalog.labels[$0.row] }

        let r = try EmbtoolCLI.run(["similar", d.star.query, "--json"], home: home)
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try r.json()
        XCTAssertEqual(json["min_ratings"] as? Int, 20)
        XCTAssertEqual(json["min_ratings_source"] as? String, "default")
        let neighbours = try XCTUnwrap(json["neighbours"] as? [[String: Any]])
        XCTAssertEqual(neighbours.compactMap { $0["label"] as? String }, expected)
        for n in neighbours { XCTAssertGreaterThanOrEqual(countOf[n["label"] as! String] ?? 0, 20) }

        // The table says so in one line; --min-ratings 0 lists every item again.
        let text = try EmbtoolCLI.run(["similar", d.star.query], home: home)
        XCTAssertEqual(text.stdout.split(separator: "\n").filter { $0.contains("at least 20 ratings") }.count, 1, text.stdout)
        let everything = try EmbtoolCLI.run(["similar", d.star.query, "--json", "--min-ratings", "0", "--top", "50"], home: home)
        XCTAssertEqual(try everything.json()["min_ratings_source"] as? String, "option")
        let counts = (try everything.json()["neighbours"] as? [[String: Any]])?.compactMap { $0["count"] as? Int } ?? []
        XCTAssertTrue(counts.contains { $0 < 20 }, "with no floor, some of the 50 closest have fewer than 20 ratings: \(counts)")
    }

    func biasBesideTheRealMeanRatings() throws {
        let r = try EmbtoolCLI.run(["bias", "--data", d.folder, "--min-ratings", "20", "--json"], home: home)
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try r.json()
        let lowest = try XCTUnwrap(json["lowest"] as? [[String: Any]]), highest = try XCTUnwrap(json["highest"] as? [[String: Any]])
        XCTAssertEqual(lowest.count, 10)
        // Means and counts as the raw ratings say, independently of the catalog.
        let labelRow = Dictionary(uniqueKeysWithValues: ratings.itemLabels.enumerated().map { ($1, $0) })
        for entry in lowest + highest {
            let label = try XCTUnwrap(entry["label"] as? String)
            let dataRow = try XCTUnwrap(labelRow[label])
            let mine = zip(ratings.item, ratings.rating).filter { Int($0.0) == dataRow }.map { Double($0.1) }
            XCTAssertEqual(entry["count"] as? Int, mine.count)
            XCTAssertGreaterThanOrEqual(mine.count, 20)
            XCTAssertEqual((entry["mean_rating"] as? Double) ?? .nan, mine.reduce(0, +) / Double(mine.count), accuracy: 1e-4)
            let modelRow = try XCTUnwrap(model.meta.itemLabels.firstIndex(of: label))
            XCTAssertEqual((entry["bias"] as? Double) ?? .nan, Double(model.itemBias![modelRow]), accuracy: 1e-6)
        }
        let lowBiases = lowest.compactMap { $0["bias"] as? Double }
        XCTAssertEqual(lowBiases, lowBiases.sorted())
        XCTAssertLessThan(lowBiases.last!, highest.compactMap { $0["bias"] as? Double }.last!)
    }

    func recommendSkipsWhatTheUserRated() throws {
        let r = try EmbtoolCLI.run(["recommend", "--user", "1", "--top", "20", "--data", d.folder, "--json"], home: home)
        XCTAssertEqual(r.status, 0, r.stderr)
        let labels = (try r.json()["items"] as? [[String: Any]])?.compactMap { $0["label"] as? String } ?? []
        XCTAssertEqual(labels.count, 20)
        let user1 = try XCTUnwrap(ratings.users.index(of: "1"))
        let seen = Set(zip(ratings.user, ratings.item).filter { Int($0.0) == user1 }.map { ratings.itemLabels[Int($0.1)] })
        XCTAssertEqual(seen.count, d.user1Titles)
        XCTAssertTrue(Set(labels).isDisjoint(with: seen))
    }

    /// The default selection (1000 most rated) on ml-100k; 200 of the synthetic set's 395 titles.
    func pcaOfTheMostRated() throws {
        let n = d.titles > 1000 ? 1000 : 200
        let r = try EmbtoolCLI.run(["pca", "--json"] + (n == 1000 ? [] : ["--most-rated", String(n)]), home: home)
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try r.json()
        let points = try XCTUnwrap(json["points"] as? [[String: Any]])
        XCTAssertEqual(points.count, n)
        let counts = points.compactMap { $0["count"] as? Int }
        // The n most-rated: none outside has more ratings than the least-rated inside.
        let all = ratings.itemCounts().dropFirst().sorted(by: >)
        XCTAssertEqual(counts.min(), all[n - 1])
        let ratio = try XCTUnwrap(json["explained_variance_ratio"] as? [Double])
        XCTAssertEqual(ratio, ratio.sorted(by: >))
        XCTAssertLessThan(ratio.reduce(0, +), 1)
    }

    func firstUseTrainsTheDefaultModel(_ test: XCTestCase) throws {
        let fresh = try TestData.scratch(test)
        let r = try EmbtoolCLI.run(["similar", d.star.query, "--top", "3", "--data", d.folder], home: fresh)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("training the default model on ml-100k (first use)"), r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: fresh + "/models/ml-100k.safetensors"))
        XCTAssertTrue(r.stdout.contains(d.star.title))
    }
}

/// The analysis of fastbook's own model, trained on MovieLens 100k.
final class AnalysisMovieLensTests: XCTestCase {
    func analysis() throws -> AnalysisOfTheDefaultModel { try AnalysisOfTheDefaultModel(.ml100k(), self) }
    func testStarWarsNeighboursAreItsSequels() throws { try analysis().neighboursAreTheSequels() }
    func testDefaultFloorHidesTheBarelyRated() throws { try analysis().defaultFloorHidesTheBarelyRated() }
    func testBiasBesideTheRealMeanRatings() throws { try analysis().biasBesideTheRealMeanRatings() }
    func testRecommendSkipsWhatTheUserRated() throws { try analysis().recommendSkipsWhatTheUserRated() }
    func testPCAOfTheThousandMostRated() throws { try analysis().pcaOfTheMostRated() }
    func testFirstUseTrainsTheDefaultModel() throws { try analysis().firstUseTrainsTheDefaultModel(self) }
}

/// The same on the committed synthetic dataset (never skipped): the planted
/// trilogy's films are each other's neighbours.
final class AnalysisSyntheticTests: XCTestCase {
    func analysis() throws -> AnalysisOfTheDefaultModel { try AnalysisOfTheDefaultModel(.synthetic(), self) }
    func testSagaNeighboursAreItsSequels() throws { try analysis().neighboursAreTheSequels() }
    func testDefaultFloorHidesTheBarelyRated() throws { try analysis().defaultFloorHidesTheBarelyRated() }
    func testBiasBesideTheRealMeanRatings() throws { try analysis().biasBesideTheRealMeanRatings() }
    func testRecommendSkipsWhatTheUserRated() throws { try analysis().recommendSkipsWhatTheUserRated() }
    func testPCAOfTheMostRated() throws { try analysis().pcaOfTheMostRated() }
    func testFirstUseTrainsTheDefaultModel() throws { try analysis().firstUseTrainsTheDefaultModel(self) }
}
