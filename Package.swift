// swift-tools-version:5.9
import PackageDescription

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
        .target(
            name: "EmbeddingKit",
            dependencies: ["CLapack"],
            // -fno-math-errno: squareRoot() becomes one instruction that vectorises
            // (with errno it is a scalar sqrtss plus a libm call per lane).
            swiftSettings: [.unsafeFlags(["-Ounchecked", "-Xcc", "-fno-math-errno"], .when(configuration: .release))],
            // The explorer page's .html/.css/.js become string literals in the library.
            plugins: ["EmbedAssets"]
        ),
        .executableTarget(name: "embed-assets"),
        .plugin(name: "EmbedAssets", capability: .buildTool(), dependencies: ["embed-assets"]),
        .executableTarget(
            name: "embtool",
            dependencies: [
                "EmbeddingKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "EmbeddingKitTests", dependencies: ["EmbeddingKit"]),
    ]
)
