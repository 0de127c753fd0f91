import Foundation
import XCTest

/// The command line's contract, run as a user runs it (the built binary, a
/// scratch `EMBTOOL_HOME`, the committed synthetic dataset, no network): each
/// command's `--json` keys exactly as README.md's "JSON output" table lists
/// them, and each sysexits code the command can produce, with one line on
/// stderr and nothing half-written.
final class CLIContractTests: XCTestCase {
    static let data = Fixtures.path("ml100k-synthetic")
    /// Shared by the tests: a scratch folder holding a model `embtool train` wrote
    /// on the synthetic set (fold u1, two epochs), and factors-only NumPy files of it.
    static var shared = ""
    static var model: String { shared + "/model.safetensors" }
    /// Item factors alone: no biases, no users.
    static var factorsOnly: String { shared + "/npy/item_factors.npy" }

    var home = ""
    /// A regular file, so that any path under it cannot be created (exit 73).
    var blocker = ""

    override class func setUp() {
        super.setUp()
        shared = FileManager.default.temporaryDirectory.appendingPathComponent("embtool-contract-\(UUID().uuidString)").path
        let home = shared + "/home"
        guard let train = try? EmbtoolCLI.run(["train", "--data", data, "--split", "u1", "--epochs", "2", "-o", model], home: home),
              train.status == 0,
              let export = try? EmbtoolCLI.run(["export", "--model", model, "--npy", shared + "/npy"], home: home), export.status == 0 else {
            return  // the tests below fail on the missing model, with the command's own error
        }
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(atPath: shared)
        super.tearDown()
    }

    override func setUpWithError() throws {
        home = try TestData.scratch(self)
        blocker = home + "/blocker"
        try TestData.write("not a folder\n", to: blocker)
    }

    func run(_ args: [String], env: [String: String] = [:]) throws -> EmbtoolCLI.Result {
        try EmbtoolCLI.run(args, home: home, env: env)
    }

    /// One JSON object on stdout, exit 0.
    func json(_ args: [String], env: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let r = try run(args + ["--json"], env: env)
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        return try r.json()
    }

    func assertKeys(_ object: Any?, _ keys: Set<String>, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let dict = object as? [String: Any] else {
            return XCTFail("\(what) is not a JSON object: \(String(describing: object))", file: file, line: line)
        }
        XCTAssertEqual(Set(dict.keys), keys, what, file: file, line: line)
    }

    /// The first element of an array-valued key.
    func first(_ object: [String: Any], _ key: String) -> Any? { (object[key] as? [Any])?.first }

    /// `args` exits with `code`. Library errors (every code but 64, which
    /// ArgumentParser words with a usage hint) are one line `embtool: …` on
    /// stderr. `absent` paths must not exist afterwards.
    func assertExit(_ code: Int32, _ args: [String], env: [String: String] = [:], absent: [String] = [],
                    file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try run(args, env: env)
        XCTAssertEqual(r.status, code, "\(args): \(r.stderr)", file: file, line: line)
        let lines = r.stderr.split(separator: "\n")
        if code == 64 {
            XCTAssertTrue(lines.first?.hasPrefix("Error: ") == true || lines.first?.hasPrefix("embtool: ") == true, r.stderr, file: file, line: line)
        } else if code != 69 {
            // 69 follows one line per failed source; the others are the error alone.
            XCTAssertTrue(lines.last?.hasPrefix("embtool: ") == true, r.stderr, file: file, line: line)
            XCTAssertEqual(lines.filter { $0.hasPrefix("embtool: ") }.count, 1, r.stderr, file: file, line: line)
        }
        for path in absent {
            XCTAssertFalse(FileManager.default.fileExists(atPath: path), "\(path) was written", file: file, line: line)
        }
    }

    /// Ratings whose third field is not a number (65).
    func badRatings() throws -> String {
        let path = home + "/bad.csv"
        try TestData.write("user,item,rating\n1,2,3\n1,3,five\n", to: path)
        return path
    }

    /// A `.safetensors` file that is not one (65).
    func garbageModel() throws -> String {
        let path = home + "/garbage.safetensors"
        try TestData.write("this is not a safetensors file", to: path)
        return path
    }

    // MARK: data commands

    func testTrain() throws {
        let out = home + "/m.safetensors"
        let j = try json(["train", "--data", Self.data, "--split", "u1", "--epochs", "1", "-o", out])
        assertKeys(j, ["epochs", "valid_mse", "valid_rmse", "valid_mae", "seconds", "model", "recipe", "sampling", "arch", "layers",
                       "split", "train_ratings", "valid_ratings"], "train")
        XCTAssertEqual(j["arch"] as? String, "dot")
        XCTAssertTrue(j["layers"] is NSNull)
        assertKeys(first(j, "epochs"), ["epoch", "train_loss", "valid_loss", "seconds"], "train epochs[]")
        XCTAssertEqual(j["model"] as? String, out)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out))

        XCTAssertEqual(j["sampling"] as? String, "shuffle")
        let drawn = try json(["train", "--data", Self.data, "--split", "u1", "--epochs", "1", "--sampling", "replacement", "-o", out])
        XCTAssertEqual(drawn["sampling"] as? String, "replacement")
        let recipe = (try json(["info", "--model", out])["metadata"] as? [String: Any])?["recipe"] as? [String: Any]
        XCTAssertEqual(recipe?["sampling"] as? String, "replacement", "the model file records it")

        try assertExit(64, ["train", "--data", Self.data, "--epochs", "0"])
        try assertExit(64, ["train", "--data", Self.data, "--sampling", "blocks"])
        try assertExit(64, ["train", "--data", Self.data, "--recipe", "sparse", "--sampling", "replacement"])
        try assertExit(65, ["train", "--data", try badRatings(), "-o", home + "/x.safetensors"], absent: [home + "/x.safetensors"])
        try assertExit(66, ["train", "--data", home + "/nope"])
        try assertExit(70, ["train", "--data", Self.data, "--lr", "10", "-o", home + "/d.safetensors"], absent: [home + "/d.safetensors"])
        try assertExit(73, ["train", "--data", Self.data, "--epochs", "1", "-o", blocker + "/m.safetensors"])
    }

    /// `--arch nn`: fastai's EmbeddingNN. Its JSON and file record the
    /// network; evaluate predicts through it (the train run's valid RMSE,
    /// from the file); bias says it has none; pca and similar use its item
    /// embeddings; settings it cannot take are usage errors.
    func testTrainNN() throws {
        let out = home + "/nn.safetensors"
        let j = try json(["train", "--data", Self.data, "--split", "u1", "--epochs", "1", "--arch", "nn", "--layers", "20,10", "-o", out])
        XCTAssertEqual(j["arch"] as? String, "nn")
        XCTAssertEqual(j["layers"] as? [Int], [20, 10])
        XCTAssertEqual(j["recipe"] as? String, "fastai")
        let info = try json(["info", "--model", out])
        let recipe = (info["metadata"] as? [String: Any])?["recipe"] as? [String: Any]
        XCTAssertEqual(recipe?["arch"] as? String, "nn", "the model file records it")
        XCTAssertEqual(recipe?["layers"] as? String, "20,10")
        XCTAssertEqual(info["naming"] as? String, "fastai EmbeddingNN / CollabNN")

        let evaluated = try json(["evaluate", "--model", out, "--data", Self.data])
        XCTAssertEqual(try XCTUnwrap(evaluated["rmse"] as? Double), try XCTUnwrap(j["valid_rmse"] as? Double), accuracy: 1e-9)
        XCTAssertNotNil(evaluated["ndcg_at_k"] as? Double, "ranked by the network's own predictions")

        let bias = try run(["bias", "--model", out, "--data", Self.data])
        XCTAssertEqual(bias.status, 65)
        XCTAssertTrue(bias.stderr.contains("EmbeddingNN, which has no biases"), bias.stderr)
        XCTAssertEqual(try run(["pca", "--model", out, "--data", Self.data]).status, 0)
        // recommend ranks the network's predictions: one user's list is that user's list among all users'.
        let one = try json(["recommend", "--model", out, "--data", Self.data, "--user", "1", "--top", "3", "--min-ratings", "0"])
        let all = try json(["recommend", "--model", out, "--data", Self.data, "--all-users", "--top", "3", "--min-ratings", "0"])
        func labels(_ items: Any?) -> [String] { (items as? [[String: Any]])?.compactMap { $0["label"] as? String } ?? [] }
        let mine = (all["recommendations"] as? [[String: Any]])?.first { $0["user"] as? String == "1" }
        XCTAssertEqual(labels(one["items"]).count, 3)
        XCTAssertEqual(labels(mine?["items"]), labels(one["items"]))
        try assertExit(65, ["recommend", "--model", out, "--data", Self.data, "--like", "anything"])
        XCTAssertEqual(try run(["similar", "--all", "--top", "2", "--csv", home + "/all.csv", "--model", out]).status, 0)

        for bad in [["--arch", "nn", "--layers", "0"], ["--arch", "nn", "--layers", "20,,10"], ["--layers", "20"],
                    ["--arch", "nn", "--recipe", "sparse"], ["--arch", "nn", "--recipe", "best"], ["--arch", "nn", "--factors", "8"],
                    ["--arch", "nn", "--no-bias"], ["--arch", "nn", "--bs", "1"], ["--arch", "cnn"]] {
            try assertExit(64, ["train", "--data", Self.data, "-o", home + "/bad.safetensors"] + bad, absent: [home + "/bad.safetensors"])
        }
        let cv = try json(["evaluate", "--cv", "--data", Self.data, "--epochs", "1", "--arch", "nn", "--layers", "8"])
        XCTAssertEqual(cv["arch"] as? String, "nn")
        XCTAssertEqual(cv["layers"] as? [Int], [8])
    }

    func testEvaluate() throws {
        let predictions = home + "/p.csv"
        let j = try json(["evaluate", "--model", Self.model, "--data", Self.data, "--predictions", predictions])
        assertKeys(j, ["mse", "rmse", "mae", "n", "unknown", "split", "model", "training_data_matches",
                       "k", "precision_at_k", "recall_at_k", "ndcg_at_k", "ranked_users"], "evaluate")
        XCTAssertEqual(j["split"] as? String, "u1", "the split the model records")
        XCTAssertEqual(j["training_data_matches"] as? Bool, true)
        XCTAssertTrue(FileManager.default.fileExists(atPath: predictions))

        try assertExit(64, ["evaluate", "--model", Self.model, "--data", Self.data, "--split", "u9"])
        try assertExit(65, ["evaluate", "--model", Self.factorsOnly, "--data", Self.data], absent: [])
        try assertExit(66, ["evaluate", "--model", home + "/nope.safetensors", "--data", Self.data])
        try assertExit(73, ["evaluate", "--model", Self.model, "--data", Self.data, "--predictions", blocker + "/p.csv"])
        let cv = try json(["evaluate", "--cv", "--data", Self.data, "--epochs", "1"])
        assertKeys(cv, ["folds", "k", "recipe", "sampling", "arch", "layers", "seed", "seconds", "rmse_mean", "rmse_sd", "mae_mean", "mae_sd",
                        "precision_at_k_mean", "precision_at_k_sd", "recall_at_k_mean", "recall_at_k_sd",
                        "ndcg_at_k_mean", "ndcg_at_k_sd"], "evaluate --cv")
        assertKeys(first(cv, "folds"), ["split", "rmse", "mae", "mse", "n", "precision_at_k", "recall_at_k", "ndcg_at_k"], "evaluate --cv folds[]")
        try assertExit(64, ["evaluate", "--cv", "--model", Self.model, "--data", Self.data])
        try assertExit(64, ["evaluate", "--cv", "--split", "u2", "--data", Self.data])
    }

    func testExport() throws {
        let j = try json(["export", "--model", Self.model, "--csv", home + "/csv", "--npz", home + "/f.npz"])
        assertKeys(j, ["files", "items", "factors", "users"], "export")
        XCTAssertEqual((j["files"] as? [String])?.count, 3, "items.csv, users.csv, f.npz")

        try assertExit(64, ["export", "--model", Self.model])
        try assertExit(65, ["export", "--model", try garbageModel(), "--csv", home + "/g"], absent: [home + "/g"])
        try assertExit(66, ["export", "--model", home + "/nope.safetensors", "--csv", home + "/n"], absent: [home + "/n"])
        try assertExit(73, ["export", "--model", Self.model, "--csv", blocker + "/csv"])
    }

    func testLRFind() throws {
        let svg = home + "/lr.svg"
        let j = try json(["lr-find", "--data", Self.data, "--split", "u1", "--svg", svg])
        assertKeys(j, ["valley", "minimum", "steep", "lrs", "losses", "batches", "diverged", "seconds", "split", "train_ratings"], "lr-find")
        assertKeys(j["valley"], ["lr", "point_lr", "point_loss"], "lr-find valley")
        XCTAssertEqual((j["lrs"] as? [Double])?.count, j["batches"] as? Int)
        XCTAssertTrue(FileManager.default.fileExists(atPath: svg))
        // The table run announces the file once, as every command that writes one does.
        let table = try run(["lr-find", "--data", Self.data, "--split", "u1", "--svg", svg])
        XCTAssertEqual(table.status, 0)
        XCTAssertEqual(table.stderr.components(separatedBy: "wrote \(svg)\n").count - 1, 1, table.stderr)

        try assertExit(64, ["lr-find", "--data", Self.data, "--num-it", "3"])
        try assertExit(64, ["lr-find", "--data", Self.data, "--start-lr", "1", "--end-lr", "0.1"])
        try assertExit(66, ["lr-find", "--data", home + "/nope"])
        try assertExit(73, ["lr-find", "--data", Self.data, "--svg", blocker + "/lr.svg"])
    }

    func testInfo() throws {
        let j = try json(["info", "--model", Self.model])
        assertKeys(j, ["path", "format", "naming", "tensors", "roles", "items", "users", "factors", "labels", "metadata",
                       "non_finite", "posterior_samples", "ignored_objects", "notes", "blas"], "info")
        assertKeys(first(j, "tensors"), ["name", "shape", "dtype", "role"], "info tensors[]")
        assertKeys(j["roles"], ["item_factors", "item_biases", "user_factors", "user_biases"], "info roles")
        assertKeys(j["metadata"], ["dataset", "item_key", "y_range", "items_with_counts", "ratings", "genres", "recipe",
                                   "data_sha256"], "info metadata")

        try assertExit(64, ["info", "--model", Self.model, "--bogus"])
        try assertExit(65, ["info", "--model", try garbageModel()])
        try assertExit(66, ["info", "--model", home + "/nope.safetensors"])
    }

    func testData() throws {
        let j = try json(["data", "--data", Self.data])
        assertKeys(j, ["name", "format", "sources", "ratings", "users", "items", "titles", "item_key", "vocab_users",
                       "vocab_items", "rating_min", "rating_max", "rating_mean", "histogram", "sparsity", "ratings_per_user",
                       "ratings_per_item", "first_timestamp", "last_timestamp", "most_rated"], "data")
        assertKeys(first(j, "histogram"), ["rating", "count"], "data histogram[]")
        assertKeys(first(j, "most_rated"), ["item", "ratings", "mean"], "data most_rated[]")
        assertKeys(j["ratings_per_user"], ["min", "median", "max"], "data ratings_per_user")
        assertKeys(j["ratings_per_item"], ["min", "median", "max"], "data ratings_per_item")

        try assertExit(64, ["data", "--data", Self.data, "--top", "-1"])
        try assertExit(65, ["data", "--data", try badRatings()])
        try assertExit(66, ["data", "--data", home + "/nope"])
    }

    func testCrosstab() throws {
        let keys: Set<String> = ["users", "items", "item_ratings", "ratings"]
        assertKeys(try json(["crosstab", "--data", Self.data, "--users", "3", "--items", "4"]), keys, "crosstab")
        let csv = home + "/t.csv"
        assertKeys(try json(["crosstab", "--data", Self.data, "--csv", csv]), keys.union(["csv"]), "crosstab --csv")
        XCTAssertTrue(FileManager.default.fileExists(atPath: csv))

        try assertExit(64, ["crosstab", "--data", Self.data, "--users", "0"])
        try assertExit(65, ["crosstab", "--data", try badRatings()])
        try assertExit(66, ["crosstab", "--data", home + "/nope"])
        try assertExit(73, ["crosstab", "--data", Self.data, "--csv", blocker + "/t.csv"])
    }

    func testSynth() throws {
        let out = home + "/synth"
        let j = try json(["synth", "--shape", "ml-100k", "--scale", "0.02", "-o", out])
        assertKeys(j, ["files", "shape", "seed", "users", "items", "ratings", "seconds"], "synth")
        XCTAssertEqual(j["files"] as? [String], [out + "/ratings.csv", out + "/movies.csv"])

        try assertExit(64, ["synth", "--shape", "ml-7", "-o", out])
        try assertExit(73, ["synth", "--shape", "ml-100k", "--scale", "0.02", "-o", blocker + "/synth"])
    }

    /// Fetching from `$EMBTOOL_MIRROR` only: the synthetic set is not MovieLens, so the
    /// verified fetch refuses it (69) and leaves no cache.
    func testFetchExitCodes() throws {
        let mirror = Self.data
        try assertExit(64, ["fetch", "ml-1m"])
        try assertExit(64, ["fetch", "--source", "mirror"], env: ["EMBTOOL_MIRROR": ""])
        try assertExit(69, ["fetch", "--source", "mirror"], env: ["EMBTOOL_MIRROR": mirror], absent: [home + "/datasets/ml-100k"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: home + "/datasets"), [], "no staging folder left")
        try assertExit(73, ["fetch", "--source", "mirror"], env: ["EMBTOOL_MIRROR": mirror, "EMBTOOL_HOME": blocker + "/home"])
    }

    /// A fetch that succeeds needs the real ml-100k as the mirror (skipped without it).
    func testFetchJSONFromARealMirror() throws {
        let real = try TestData.ml100k()
        let j = try json(["fetch", "--source", "mirror"], env: ["EMBTOOL_MIRROR": real])
        assertKeys(j, ["dataset", "folder", "source", "cached", "ratings", "users", "items", "sha256"], "fetch")
        XCTAssertEqual(j["cached"] as? Bool, false)
        XCTAssertEqual(try json(["fetch", "--source", "mirror"], env: ["EMBTOOL_MIRROR": real])["cached"] as? Bool, true)
    }

    // MARK: analysis commands

    func testBias() throws {
        let j = try json(["bias", "--model", Self.model, "--data", Self.data, "--top", "2", "--bottom", "2"])
        assertKeys(j, ["side", "ranked", "posterior", "lowest", "highest"], "bias")
        for end in ["lowest", "highest"] {
            assertKeys(first(j, end), ["label", "bias", "sd", "mean_rating", "count"], "bias \(end)[]")
        }

        try assertExit(64, ["bias", "--model", Self.model, "--top", "-1"])
        try assertExit(65, ["bias", "--model", Self.factorsOnly])
        try assertExit(66, ["bias", "--model", home + "/nope.safetensors"])
        try assertExit(73, ["bias", "--model", Self.model, "--csv", blocker + "/b.csv"])
    }

    func testPCA() throws {
        let j = try json(["pca", "--model", Self.model, "--most-rated", "50"])
        assertKeys(j, ["selection", "items", "factors", "explained_variance_ratio", "components", "points"], "pca")
        let component = first(j, "components") as? [String: Any] ?? [:]
        assertKeys(component, ["component", "explained_variance_ratio", "correlates", "low", "high"], "pca components[]")
        assertKeys(first(component, "correlates"), ["feature", "r"], "pca components[].correlates[]")
        assertKeys(first(component, "low"), ["label", "score"], "pca components[].low[]")
        assertKeys(first(j, "points"), ["label", "count", "pc"], "pca points[]")

        try assertExit(64, ["pca", "--model", Self.model, "--components", "99"])
        try assertExit(65, ["pca", "--model", try garbageModel()])
        try assertExit(66, ["pca", "--model", home + "/nope.safetensors"])
        try assertExit(73, ["pca", "--model", Self.model, "--svg", blocker + "/p.svg"])
    }

    func testAxes() throws {
        let j = try json(["axes", "--x", "planted saga", "--y", "genre:Comedy-genre:Drama", "--most-rated", "50",
                          "--model", Self.model, "--data", Self.data])
        assertKeys(j, ["layout", "selection", "items", "x_axis", "y_axis", "seconds", "components", "points"], "axes")
        assertKeys(first(j, "components"), ["component", "name", "correlates"], "axes components[]")
        assertKeys(first(first(j, "components") as? [String: Any] ?? [:], "correlates"), ["feature", "r"], "axes components[].correlates[]")
        assertKeys(first(j, "points"), ["label", "count", "x", "y"], "axes points[]")

        try assertExit(64, ["axes", "--x", "planted saga", "--model", Self.model])
        try assertExit(65, ["axes", "--x", "no such film at all", "--y", "planted saga", "--model", Self.model])
        try assertExit(66, ["axes", "--x", "a", "--y", "b", "--model", home + "/nope.safetensors"])
        try assertExit(73, ["axes", "--x", "planted saga", "--y", "orchard", "--model", Self.model, "--svg", blocker + "/a.svg"])
    }

    func testUMAP() throws {
        let j = try json(["umap", "--model", Self.model, "--most-rated", "50", "--epochs", "20"])
        assertKeys(j, ["layout", "selection", "items", "x_axis", "y_axis", "seconds", "components", "points"], "umap")
        assertKeys(first(j, "points"), ["label", "count", "x", "y"], "umap points[]")

        try assertExit(64, ["umap", "--model", Self.model, "--epochs", "0"])
        try assertExit(64, ["umap", "--model", Self.model, "--epochs", "2000000"])  // past the schedule's single precision
        try assertExit(64, ["umap", "--model", Self.model, "--init", "random"])
        try assertExit(65, ["umap", "--model", try garbageModel()])
        try assertExit(66, ["umap", "--model", home + "/nope.safetensors"])
        try assertExit(73, ["umap", "--model", Self.model, "--most-rated", "50", "--epochs", "10", "--svg", blocker + "/u.svg"])
    }

    func testTSNE() throws {
        let j = try json(["tsne", "--model", Self.model, "--most-rated", "50", "--iterations", "100"])
        assertKeys(j, ["layout", "selection", "items", "x_axis", "y_axis", "seconds", "components", "points"], "tsne")
        assertKeys(first(j, "components"), ["component", "name", "correlates"], "tsne components[]")
        assertKeys(first(first(j, "components") as? [String: Any] ?? [:], "correlates"), ["feature", "r"], "tsne components[].correlates[]")
        assertKeys(first(j, "points"), ["label", "count", "x", "y"], "tsne points[]")

        try assertExit(64, ["tsne", "--model", Self.model, "--most-rated", "20"])
        try assertExit(64, ["tsne", "--model", Self.model, "--method", "exact"])
        try assertExit(65, ["tsne", "--model", try garbageModel()])
        try assertExit(66, ["tsne", "--model", home + "/nope.safetensors"])
        try assertExit(73, ["tsne", "--model", Self.model, "--most-rated", "50", "--iterations", "10", "--svg", blocker + "/t.svg"])
    }

    func testSimilar() throws {
        let j = try json(["similar", "planted saga", "--model", Self.model, "--top", "3"])
        assertKeys(j, ["query", "count", "metric", "min_ratings", "min_ratings_source", "neighbours"], "similar")
        assertKeys(first(j, "neighbours"), ["label", "similarity", "count"], "similar neighbours[]")
        let euclidean = try json(["similar", "planted saga", "--model", Self.model, "--metric", "euclidean"])
        assertKeys(first(euclidean, "neighbours"), ["label", "similarity", "count", "distance"], "similar --metric euclidean neighbours[]")
        let all = try json(["similar", "--all", "--top", "2", "--csv", home + "/all.csv", "--model", Self.model])
        assertKeys(all, ["items", "top", "metric", "min_ratings", "min_ratings_source", "csv"], "similar --all")

        // Factors without rating counts: every item is listed, and the output says the default floor was not applied.
        let bare = home + "/bare.csv"
        try "alpha,1,0\nbeta,0.9,0.1\ngamma,0,1\n".write(toFile: bare, atomically: true, encoding: .utf8)
        let noCounts = try json(["similar", "alpha", "--model", bare])
        XCTAssertEqual(noCounts["min_ratings"] as? Int, 0)
        XCTAssertEqual(noCounts["min_ratings_source"] as? String, "unavailable")
        XCTAssertEqual((noCounts["neighbours"] as? [Any])?.count, 2)
        let text = try EmbtoolCLI.run(["similar", "alpha", "--model", bare], home: home)
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("could not be applied"), text.stdout)
        try assertExit(64, ["similar", "alpha", "--model", bare, "--min-ratings", "5"])

        try assertExit(64, ["similar", "planted", "--model", Self.model], absent: [])  // three sagas match
        try assertExit(65, ["similar", "no such film at all", "--model", Self.model])
        try assertExit(66, ["similar", "planted saga", "--model", home + "/nope.safetensors"])
        try assertExit(73, ["similar", "planted saga", "--model", Self.model, "--csv", blocker + "/s.csv"])
    }

    func testRecommend() throws {
        let user = try json(["recommend", "--user", "1", "--model", Self.model, "--data", Self.data, "--top", "3"])
        assertKeys(user, ["user", "min_ratings", "min_ratings_source", "items"], "recommend --user")
        assertKeys(first(user, "items"), ["label", "predicted_rating", "count"], "recommend items[]")
        let like = try json(["recommend", "--like", "planted saga", "--dislike", "orchard", "--model", Self.model])
        assertKeys(like, ["like", "dislike", "min_ratings", "min_ratings_source", "items"], "recommend --like")

        try assertExit(64, ["recommend", "--model", Self.model])
        try assertExit(65, ["recommend", "--like", "no such film at all", "--model", Self.model])
        try assertExit(66, ["recommend", "--user", "1", "--model", home + "/nope.safetensors"])
        try assertExit(73, ["recommend", "--user", "1", "--model", Self.model, "--data", Self.data, "--csv", blocker + "/r.csv"])
        let all = try json(["recommend", "--all-users", "--top", "3", "--csv", home + "/all.csv", "--model", Self.model, "--data", Self.data])
        assertKeys(all, ["users", "top", "seconds", "csv", "min_ratings", "min_ratings_source", "recommendations"], "recommend --all-users")
        assertKeys(first(all, "recommendations"), ["user", "items"], "recommend --all-users recommendations[]")
        XCTAssertEqual(try String(contentsOfFile: home + "/all.csv", encoding: .utf8).split(separator: "\n").first, "user,rank,label,score")
        try assertExit(64, ["recommend", "--all-users", "--model", Self.model])  // neither --csv nor --json
        try assertExit(64, ["recommend", "--all-users", "--user", "1", "--json", "--model", Self.model])
        try assertExit(65, ["recommend", "--all-users", "--json", "--model", Self.factorsOnly])
        try assertExit(73, ["recommend", "--all-users", "--model", Self.model, "--data", Self.data, "--csv", blocker + "/a.csv"])
    }

    func testCompare() throws {
        let j = try json(["compare", "--model", Self.model, "--with", Self.model, "--csv", home + "/items.csv", "--svg", home + "/overlap.svg"])
        assertKeys(j, ["model", "with", "items_compared", "factors_model", "factors_with", "top", "min_ratings",
                       "procrustes_residual", "neighbour_overlap_mean", "neighbour_overlap_median", "overlap_histogram",
                       "bias_spearman", "pca_agreement", "most_changed"], "compare")
        assertKeys(first(j, "overlap_histogram"), ["shared", "jaccard", "items"], "compare overlap_histogram[]")
        assertKeys(first(j, "pca_agreement"), ["component", "abs_cosine"], "compare pca_agreement[]")
        assertKeys(first(j, "most_changed"), ["label", "count", "overlap", "shared", "only_in_model", "only_in_with"], "compare most_changed[]")
        XCTAssertEqual(j["neighbour_overlap_mean"] as? Double, 1)
        // Factors alone (no biases): bias_spearman is null, the rest is there.
        let factors = try json(["compare", "--model", Self.model, "--with", Self.factorsOnly])
        XCTAssertTrue(factors["bias_spearman"] is NSNull)
        try assertExit(64, ["compare", "--model", Self.model])  // no --with
        try assertExit(64, ["compare", "--model", Self.model, "--with", Self.model, "--top", "0"])
        try assertExit(65, ["compare", "--model", Self.model, "--with", Self.model, "--top", "100000"])
        try assertExit(66, ["compare", "--model", Self.model, "--with", home + "/nope.safetensors"])
        try assertExit(73, ["compare", "--model", Self.model, "--with", Self.model, "--svg", blocker + "/o.svg"])
    }
}
