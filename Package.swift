// swift-tools-version:6.0
import PackageDescription

/// Release builds of the numeric code are compiled for the host CPU and without
/// overflow/bounds traps inside kernels; debug builds keep every check.
let kernelSettings: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-target-cpu", "native", "-enforce-exclusivity=unchecked"],
                 .when(configuration: .release)),
]

let package = Package(
    name: "Tessera",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Tessera", targets: ["Tessera"]),
        .library(name: "TesseraTokenizer", targets: ["TesseraTokenizer"]),
        .executable(name: "tessera", targets: ["tessera"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        // Byte-level BPE tokenizers (Hugging Face tokenizer.json) and token shards:
        // Foundation only, so the layers of Tessera can depend on it.
        .target(name: "TesseraTokenizer", swiftSettings: kernelSettings),
        .target(name: "Tessera", dependencies: ["CDNNL", "CMPI", "TesseraTokenizer", .product(name: "TOMLKit", package: "TOMLKit")],
                swiftSettings: kernelSettings),
        .executableTarget(
            name: "tessera",
            dependencies: ["Tessera", "TesseraTokenizer", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: kernelSettings),
        .testTarget(name: "TesseraTests", dependencies: ["Tessera"],
                    exclude: ["Fixtures"], swiftSettings: kernelSettings),
        .testTarget(name: "TesseraTokenizerTests", dependencies: ["TesseraTokenizer"],
                    exclude: ["Fixtures"], swiftSettings: kernelSettings),
    ],
    swiftLanguageModes: [.v6]
)
