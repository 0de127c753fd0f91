import Foundation
import EmbeddingCore
import CTrainKernels

/// Trains a model on `train`, scoring `valid` after every epoch. Both must
/// share vocabularies (the two parts of one `Split.apply`), so model rows are
/// the vocabulary rows, `#na#` included, as in fastai's state dict.
public enum Trainer {
    public static func train(_ train: Ratings, valid: Ratings?, config: TrainConfig,
                             progress: ((TrainProgress) -> Void)? = nil) throws -> TrainResult {
        try config.validate()
        guard train.count > 0 else { throw EmbtoolError.data("no training ratings") }
        if let valid, valid.users.count != train.users.count || valid.items.count != train.items.count {
            throw EmbtoolError(.software, "training and validation ratings must share vocabularies")
        }
        var config = config
        config.recipe = config.resolvedRecipe(ratings: train.count, users: train.users.count, items: train.items.count)
        guard let recipe = Recipes.trainer(for: config.recipe, architecture: config.architecture) else {
            throw EmbtoolError(.software, "recipe \(config.recipe) resolves to no trainer")
        }
        try recipe.validate(config)  // again: `auto` has become a recipe only now
        var meta = ModelMetadata(ratings: train)
        meta.yRange = config.yRange
        meta.recipe = RecipeRecord(name: recipe.name, split: config.split, sampling: recipe.sampling(config), seed: config.seed,
                                   settings: recipe.settings(config))
        meta.dataChecksum = trainingChecksum(train)
        return try recipe.train(train, valid: valid, config: config, meta: meta, progress: progress)
    }

    /// SHA-256's block function: on the CPU's SHA extensions where it has them
    /// (25M ratings, 300 MB, took 1.4 s in Swift), else Swift's.
    static let checksumBlocks: SHA256.Blocks = embtool_sha256_has_extensions() != 0
        ? { embtool_sha256_blocks_extensions($0, $1, $2) } : SHA256.compress

    /// SHA-256 over the training ratings, row by row: user row (Int32), item row
    /// (Int32) and rating (Float32), little-endian, 12 bytes a row, in order.
    /// It identifies the exact training data a model saw. The rows are laid out
    /// a chunk at a time and hashed by `checksumBlocks`.
    public static func trainingChecksum(_ ratings: Ratings) -> String {
        var sha = SHA256(blocks: checksumBlocks)
        let chunk = 1 << 14
        var bytes = [UInt8](repeating: 0, count: chunk * 12)
        var start = 0
        while start < ratings.count {
            let end = min(start + chunk, ratings.count)
            bytes.withUnsafeMutableBytes { out in
                for j in start..<end {
                    let at = 12 * (j - start)
                    out.storeBytes(of: ratings.user[j].littleEndian, toByteOffset: at, as: Int32.self)
                    out.storeBytes(of: ratings.item[j].littleEndian, toByteOffset: at + 4, as: Int32.self)
                    out.storeBytes(of: ratings.rating[j].bitPattern.littleEndian, toByteOffset: at + 8, as: UInt32.self)
                }
            }
            sha.update(bytes[0..<(12 * (end - start))])
            start = end
        }
        return sha.hexDigest()
    }
}
