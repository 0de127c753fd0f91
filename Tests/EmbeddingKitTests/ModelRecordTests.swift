@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingTrain
import Foundation
import XCTest

/// The record of how a model was trained (`ModelMetadata.recipe`): typed in
/// new files, read back from the flat text of files written before.
final class ModelRecordTests: XCTestCase {
    /// A file written the old way: the record as a flat JSON object of strings under "recipe".
    func testAFileWithTheOldFlatRecordStillLoads() throws {
        let model = sampleModel()
        var strings = ModelFile.metadataStrings(model.meta)
        strings["training"] = nil
        strings["recipe"] = #"{"bias":"true","bs":"64","epochs":"5","factors":"3","lr":"0.005","recipe":"fastai","seed":"3","#
            + #""split":"random","split_seed":"7","valid_pct":"0.25","wd":"0.1","y_range":"0.0,5.5"}"#
        let path = try TestData.scratch(self) + "/old.safetensors"
        try Safetensors.encode(model.stateDict, metadata: strings).write(to: URL(fileURLWithPath: path))

        let record = try ModelFile.load(path: path).meta.recipe
        XCTAssertEqual(record.name, .fastai)
        XCTAssertEqual(record.split, .random(validPct: 0.25, seed: 7))
        XCTAssertEqual(record.seed, 3)
        XCTAssertNil(record.sampling, "old files did not record it")
        XCTAssertEqual(record.settings, ["bias": "true", "bs": "64", "epochs": "5", "factors": "3", "lr": "0.005",
                                         "wd": "0.1", "y_range": "0.0,5.5"])
        XCTAssertEqual(record["split_seed"], "7", "the flat view is what the file held")
    }

    func testAnOldRandomSplitWithoutItsFractionIsNotGuessed() {
        XCTAssertNil(RecipeRecord(flattened: ["split": "random", "split_seed": "7"]).split)
        XCTAssertEqual(RecipeRecord(flattened: ["split": "U2"]).split, .fold(2))
        XCTAssertEqual(RecipeRecord(flattened: ["split": "none"]).split, Split.none)
        XCTAssertNil(RecipeRecord(flattened: ["split": "u9"]).split)
    }

    func testTheTypedRecordRoundTripsThroughAModelFile() throws {
        var model = sampleModel()
        model.meta.recipe = RecipeRecord(name: .sparse, split: .random(validPct: 0.1, seed: 5), sampling: .blocks, seed: 11,
                                         settings: ["lr": "0.01"])
        let path = try TestData.scratch(self) + "/new.safetensors"
        try ModelFile.save(model, to: path)
        XCTAssertEqual(try ModelFile.load(path: path).meta.recipe, model.meta.recipe)
        for split in [Split.fold(4), .none, .random(validPct: 0.3, seed: 1)] {
            model.meta.recipe.split = split
            try ModelFile.save(model, to: path)
            XCTAssertEqual(try ModelFile.load(path: path).meta.recipe.split, split)
        }
    }

    func testTrainingRecordsWhatRanNotWhatWasAsked() throws {
        var rng = SplitMix64(seed: 1)
        let users = Vocabulary(labels: ["#na#"] + (1...20).map(String.init)), items = Vocabulary(labels: ["#na#"] + (1...30).map(String.init))
        let n = 2_000
        let ratings = Ratings(user: (0..<n).map { _ in Int32(1 + rng.next() % 20) }, item: (0..<n).map { _ in Int32(1 + rng.next() % 30) },
                              rating: (0..<n).map { _ in Float(1 + rng.next() % 5) }, timestamp: [Int64](repeating: 0, count: n),
                              users: users, items: items, itemKey: .id, itemLabels: items.labels, itemGenres: [], genreNames: [],
                              name: "toy", sources: [])
        var config = TrainConfig()
        config.recipe = .auto
        config.epochs = 1
        config.factors = 4
        config.seed = 9
        config.split = .fold(3)
        let record = try Trainer.train(ratings, valid: nil, config: config).model.meta.recipe
        XCTAssertEqual(record.name, .fastai, "auto is recorded as the recipe it chose")
        XCTAssertEqual(record.sampling, .shuffle)
        XCTAssertEqual(record.seed, 9)
        XCTAssertEqual(record.split, .fold(3))
        XCTAssertEqual(record.settings["epochs"], "1")
        XCTAssertEqual(record["recipe"], "fastai")
    }

    func testSettingsAreNamedAsTheLibraryNamesThem() {
        var config = TrainConfig()
        config.batchSize = 0
        XCTAssertThrowsError(try config.validate()) { error in
            XCTAssertEqual((error as? EmbtoolError)?.reason, .setting("batchSize", requirement: "must be at least 1"))
            XCTAssertFalse((error as? EmbtoolError)?.message.contains("--") ?? true, "no flag names in the library")
        }
        config = TrainConfig()
        config.recipe = Recipe(rawValue: "neural")
        XCTAssertThrowsError(try config.validate()) { error in
            XCTAssertEqual((error as? EmbtoolError)?.kind, .usage)
        }
    }
}
