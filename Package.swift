// swift-tools-version:6.0
import PackageDescription

/// Release builds of the numeric code are compiled for the host CPU and without
/// overflow/bounds traps inside kernels, with cross-module optimization so that
/// the small kernels (vector lanes, bf16 rounding, Philox) inline into the
/// layers above them; debug builds keep every check.
let kernelSettings: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-target-cpu", "native", "-enforce-exclusivity=unchecked", "-cross-module-optimization"],
                 .when(configuration: .release)),
]

let package = Package(
    name: "Tessera",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Tessera", targets: ["Tessera"]),
        .library(name: "TesseraServe", targets: ["TesseraServe"]),
        .library(name: "TesseraTokenizer", targets: ["TesseraTokenizer"]),
        .executable(name: "tessera", targets: ["tessera"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
    ],
    targets: [
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        // Byte-level BPE tokenizers (Hugging Face tokenizer.json) and token shards:
        // Foundation, TesseraSupport (errors, whole-file writes) and swift-collections' Heap only, so the runtime's data loader can depend on it.
        .target(name: "TesseraTokenizer", dependencies: ["TesseraSupport", .product(name: "HeapModule", package: "swift-collections")],
                swiftSettings: kernelSettings),
        .target(name: "TesseraSupport", dependencies: [.product(name: "TOMLKit", package: "TOMLKit")], swiftSettings: kernelSettings),
        .target(name: "TesseraKernels", dependencies: ["TesseraSupport", "CDNNL"], swiftSettings: kernelSettings),
        .target(name: "TesseraComm", dependencies: ["TesseraKernels", "CMPI"], swiftSettings: kernelSettings),
        .target(name: "TesseraTopology", dependencies: ["TesseraComm"], swiftSettings: kernelSettings),
        .target(name: "TesseraModel", dependencies: ["TesseraTopology"], swiftSettings: kernelSettings),
        .target(name: "TesseraCost", dependencies: ["TesseraTopology"], swiftSettings: kernelSettings),
        .target(name: "TesseraRuntime", dependencies: ["TesseraModel", "TesseraCost", "TesseraTokenizer",
                                                       .product(name: "SwiftProtobuf", package: "swift-protobuf")],
                swiftSettings: kernelSettings),
        .target(name: "TesseraTools", dependencies: ["TesseraRuntime"], swiftSettings: kernelSettings),
        .target(name: "Tessera", dependencies: ["TesseraTools"], swiftSettings: kernelSettings),

        .executableTarget(
            name: "tessera",
            dependencies: ["Tessera", "TesseraServe", "TesseraTokenizer",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: kernelSettings),
        // The OpenAI-compatible server: HTTP (Hummingbird) and metrics (Prometheus) in front of the
        // generation engine; numeric work stays in Tessera, so default optimisation is enough here.
        .target(name: "TesseraServe", dependencies: [
            "Tessera",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "TesseraTests", dependencies: ["Tessera"],
                    exclude: ["Fixtures"], swiftSettings: kernelSettings),
        .testTarget(name: "TesseraTokenizerTests", dependencies: ["TesseraTokenizer"],
                    exclude: ["Fixtures"], swiftSettings: kernelSettings),
        .testTarget(name: "TesseraServeTests", dependencies: [
            "Tessera", "TesseraServe",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
