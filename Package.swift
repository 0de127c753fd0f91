// swift-tools-version:5.9
import PackageDescription

// The library's layers, each a target a newcomer can find by name:
//   EmbeddingCore      ratings, vocabularies, splits, the factor model, matrix storage, errors, files
//   EmbeddingFormats   every reader and writer of files (ratings, factors, models, CSV tables); no BLAS
//   EmbeddingLinalg    BLAS and LAPACK wrappers
//   EmbeddingTrain     the trainers
//   EmbeddingAnalysis  PCA, similarity, recommendation, bias, maps
//   EmbeddingRender    SVG charts, label placement, text tables, the explorer page
//   EmbeddingKit       all of the above in one import
let package = Package(
    name: "embtool",
    products: [
        .executable(name: "embtool", targets: ["embtool"]),
        .library(name: "EmbeddingKit", targets: ["EmbeddingKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // LAPACKE and CBLAS from OpenBLAS (Debian: liblapacke-dev, libopenblas-dev).
        .systemLibrary(name: "CLapack", path: "Sources/CLapack"),
        .target(name: "EmbeddingCore"),
        .target(name: "EmbeddingFormats", dependencies: ["EmbeddingCore"]),
        .target(name: "EmbeddingLinalg", dependencies: ["EmbeddingCore", "CLapack"]),
        // Adam's updates on the widest vectors the CPU has, chosen when the library loads (AVX-512F,
        // AVX, portable). No fused multiply-add, so every variant gives the same bits as the others.
        .target(name: "CTrainKernels", cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off", "-fno-math-errno"])]),
        .target(
            name: "EmbeddingTrain",
            dependencies: ["EmbeddingCore", "EmbeddingLinalg", "CLapack", "CTrainKernels"],
            // The one unchecked target: it parses nothing, and its inner loops pay for
            // checks (callgrind, u1, 1 thread: the fastai recipe's epoch takes 16 % more
            // instructions with -O, the best recipe's 20 sweeps 10 % more).
            // -fno-math-errno: squareRoot() becomes one instruction that vectorises
            // (with errno it is a scalar sqrtss plus a libm call per lane).
            swiftSettings: [.unsafeFlags(["-Ounchecked", "-Xcc", "-fno-math-errno"], .when(configuration: .release))]
        ),
        // UMAP's layout epoch, eight lanes per operation (AVX2 when the CPU has it); no fused
        // multiply-add, so every variant gives the same layout. Its eight-lane helpers are always
        // inlined, so the AVX argument-passing warning (-Wpsabi) concerns no real call.
        .target(name: "CMapKernels", cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off", "-fno-math-errno", "-Wno-psabi"])]),
        .target(name: "EmbeddingAnalysis", dependencies: ["EmbeddingCore", "EmbeddingLinalg", "CMapKernels"]),
        .target(
            name: "EmbeddingRender",
            dependencies: ["EmbeddingCore", "EmbeddingFormats", "EmbeddingAnalysis"],
            // The explorer page's .html/.css/.js become string literals in the library.
            plugins: ["EmbedAssets"]
        ),
        .executableTarget(name: "embed-assets"),
        .plugin(name: "EmbedAssets", capability: .buildTool(), dependencies: ["embed-assets"]),
        .target(name: "EmbeddingKit", dependencies: [
            "EmbeddingCore", "EmbeddingFormats", "EmbeddingLinalg", "EmbeddingTrain", "EmbeddingAnalysis", "EmbeddingRender",
        ]),
        .executableTarget(
            name: "embtool",
            dependencies: [
                "EmbeddingKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "EmbeddingKitTests", dependencies: [
            "EmbeddingCore", "EmbeddingFormats", "EmbeddingLinalg", "EmbeddingTrain", "EmbeddingAnalysis", "EmbeddingRender", "CTrainKernels", "CMapKernels",
        ]),
    ]
)
