// swift-tools-version:6.2
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
            // No frame pointer: SwiftPM asks for one in every function (-fno-omit-frame-pointer,
            // after any flag a target gives), and the threaded handlers are small enough that
            // saving, setting and restoring RBP is a tenth of them (W1-W4 3-8% faster without;
            // docs/performance.md, item 38). The Clang-level setting below is the one Swift's
            // code generation reads, and it holds whatever the driver flags say. On Linux only:
            // Apple's arm64 ABI expects frame pointers. Unsafe flags in a dependency are
            // accepted from tools version 6.2 on.
            swiftSettings: [.unsafeFlags(["-Xcc", "-Xclang", "-Xcc", "-mframe-pointer=none"], .when(platforms: [.linux]))]
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
