// swift-tools-version:6.0
// A libFuzzer target over RingZero's byte-stream path, in a package of its own so the main
// package builds without -sanitize=fuzzer. Build and run with ./run.sh (see docs/fuzzing.md).
import PackageDescription

let package = Package(
    name: "RingZeroLibFuzzer",
    dependencies: [
        .package(name: "RingZero", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "RingZeroFuzzTarget",
            dependencies: [.product(name: "RingZero", package: "RingZero")],
            path: "Sources/RingZeroFuzzTarget"
        ),
    ]
)
