// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "RingZero",
    products: [
        .library(name: "RingZero", targets: ["RingZero"]),
        .executable(name: "ringzero", targets: ["ringzero"]),
        .executable(name: "profile-diff", targets: ["profile-diff"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CCapstone",
            pkgConfig: "capstone",
            providers: [.apt(["libcapstone-dev"])]
        ),
        // Runs one unprivileged integer instruction on the host, for the fuzzer's host oracle.
        .target(
            name: "CHostOracle",
            path: "Sources/CHostOracle"
        ),
        // How deep the stack is, for the threaded loop's bound on a self-loop's stack.
        .target(
            name: "CStackAddress",
            path: "Sources/CStackAddress"
        ),
        .target(
            name: "RingZero",
            dependencies: ["CCapstone", "CHostOracle", "CStackAddress"],
            swiftSettings: []
        ),
        .executableTarget(
            name: "ringzero",
            dependencies: [
                "RingZero",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // A small tool built on the library's public API alone (Examples/).
        .executableTarget(
            name: "profile-diff",
            dependencies: ["RingZero"],
            path: "Examples/ProfileDiff"
        ),
        .testTarget(
            name: "RingZeroTests",
            dependencies: ["RingZero"]
        ),
    ]
)
