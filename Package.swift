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
        .library(name: "TesseraServe", targets: ["TesseraServe"]),
        .executable(name: "tessera", targets: ["tessera"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .target(name: "Tessera", dependencies: ["CDNNL", "CMPI", .product(name: "TOMLKit", package: "TOMLKit")],
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
        .executableTarget(
            name: "tessera",
            dependencies: ["Tessera", "TesseraServe",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: kernelSettings),
        .testTarget(name: "TesseraTests", dependencies: ["Tessera"],
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
