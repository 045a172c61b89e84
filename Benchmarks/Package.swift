// swift-tools-version:6.1
// The package-benchmark suite for RingZero: a package of its own, so that the library's package
// needs no benchmark dependency. Run from this folder (on Linux no permission flag is needed):
//
//     swift package benchmark
//
// (see README.md, "package-benchmark suite").
import PackageDescription

let package = Package(
    name: "RingZeroBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        // Named, so that the product reference below does not depend on the name of the folder
        // the repository is checked out in (a path dependency's identity is that folder's name).
        .package(name: "RingZero", path: ".."),
        // Only the MallocInterposer trait: naming the traits replaces the package's defaults,
        // which on Linux with Swift 6.3 also include RuntimeInterposer (ARC counters through
        // ordo-one/swift-runtime-interposer, which this suite does not use).
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "RingZeroBenchmarks",
            dependencies: [
                .product(name: "RingZero", package: "RingZero"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/RingZeroBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ]
)
