// The library as one import: `import EmbeddingKit` brings every layer.
// Each layer is its own target, so a user (or a test) can depend on just one.
@_exported import EmbeddingCore
@_exported import EmbeddingFormats
@_exported import EmbeddingLinalg
@_exported import EmbeddingTrain
@_exported import EmbeddingAnalysis
@_exported import EmbeddingRender
