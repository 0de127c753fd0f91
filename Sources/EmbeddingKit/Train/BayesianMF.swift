import Foundation

enum BayesianMF {
    static func train(_ train: Ratings, valid: Ratings?, config: TrainConfig, meta: ModelMetadata,
                      progress: ((TrainProgress) -> Void)?) throws -> TrainResult {
        throw EmbtoolError(.unavailable, "recipe 'best' is not available yet")
    }
}
