/// What every trained model offers, whatever its kind: its metadata, ratings
/// predicted in batches, and the tensors its file holds. Evaluation, the model
/// file and the trainers' validation go through this and nothing else, so a
/// new kind of model (fastai's `EmbeddingNN`) plugs in by conforming.
public protocol RatingModel: Sendable {
    /// Vocabularies, counts, rating range and how the model was trained.
    var meta: ModelMetadata { get set }
    /// Rows of the user side (0 when the model has none) and of the item side.
    var userCount: Int { get }
    var itemCount: Int { get }
    /// The predicted rating of user row `users[j]` for item row `items[j]`,
    /// for every j; NaN where a row is -1 (a key the model lacks) or the model
    /// cannot predict (item vectors alone).
    func predict(users: [Int32], items: [Int32]) -> [Float]
    /// The tensors of the model file, in file order, named as the model's
    /// PyTorch module names its state dict.
    var stateDict: [Tensor] { get }
}
