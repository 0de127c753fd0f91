/// Where a model's factors came from: the file's format, every tensor (or
/// column block) it holds, and which of them embtool uses for what. Set by
/// `FactorLoader`; `embtool info` prints it.
public struct FactorSource: Sendable {
    public enum Role: String, Sendable, CaseIterable, Codable {
        case itemFactors = "item factors"
        case itemBias = "item biases"
        case userFactors = "user factors"
        case userBias = "user biases"
        case itemLabels = "item labels"
        case userLabels = "user labels"
    }

    public struct Entry: Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        /// `F32`, `F16`, `BF16`, `F64`, `I64`, ..., `U12` for NumPy text, `text` for CSV/TSV/JSON.
        public var dtype: String
        public var role: Role?

        public init(name: String, shape: [Int], dtype: String, role: Role? = nil) {
            self.name = name
            self.shape = shape
            self.dtype = dtype
            self.role = role
        }
    }

    public var path: String
    /// Human-readable: `PyTorch checkpoint (zip)`, `NumPy .npz`, `Spark ALS JSON`, ...
    public var format: String
    /// Which naming convention the tensors follow (`fastai EmbeddingDotBias`), when one matched.
    public var naming: String?
    public var entries: [Entry]
    /// Things a reader should know: assumptions made, tensors present but unused.
    public var notes: [String] = []
    /// NaN or infinite values per role, when any.
    public var nonFinite: [Role: Int] = [:]
    /// A whole pickled object graph (fastai `learn.export()`): the objects read
    /// as inert placeholders and not used, counted by class (`module.name`).
    public var inertObjects: [String: Int] = [:]

    public init(path: String, format: String, naming: String? = nil, entries: [Entry]) {
        self.path = path
        self.format = format
        self.naming = naming
        self.entries = entries
    }

    /// The entry used for `role`, if any.
    public func entry(for role: Role) -> Entry? { entries.first { $0.role == role } }
}
