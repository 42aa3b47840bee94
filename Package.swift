// swift-tools-version:6.0
// Normlab: the layers of ../shared/DESIGN.md, one target each, created as they get code.
import PackageDescription

let package = Package(
    name: "Normlab",
    products: [
        .executable(name: "normlab", targets: ["normlab"]),
        .library(name: "Engine", targets: ["Engine"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Preview", targets: ["Preview"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries (module maps). The REPL uses libedit; Preview uses libpng and libjpeg.
        .systemLibrary(name: "CEditLine", pkgConfig: "libedit", providers: [.apt(["libedit-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        // libjpeg and libpng report errors by longjmp, which Swift cannot catch: the decoders are
        // a small C target. Writing PNG uses libpng's simplified API from Swift (CPNG).
        .target(name: "CCodecs", linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16")]),

        // The fast kernels on raw pointers (GEMM, convolution, elementwise), in their own target
        // so they are always compiled optimised for AVX2 and FMA, even in debug builds: without
        // the target flag, SIMD8.addingProduct becomes eight calls of libm's fmaf.
        .target(
            name: "SIMDKernels", dependencies: ["SIMDKernelsAVX512"],
            swiftSettings: [.unsafeFlags(["-Ounchecked", "-Xcc", "-mavx2", "-Xcc", "-mfma", "-target-cpu", "haswell"])]),
        // A prefetch hint (header only): Swift has none.
        .systemLibrary(name: "CPrefetch"),
        // The AVX-512 micro-kernel alone, so AVX-512 instructions appear nowhere else; it runs
        // only where /proc/cpuinfo lists avx512f.
        .target(
            name: "SIMDKernelsAVX512", dependencies: ["CPrefetch"],
            swiftSettings: [.unsafeFlags(["-Ounchecked", "-target-cpu", "skylake-avx512"])]),

        // Tensor, primitive ops (Reference/ and SIMD/ backends), autograd, RNG, printing.
        .target(name: "Engine", dependencies: ["SIMDKernels"]),
        // Datasets (CelebA, image folders, synthetic faces, 2-D toys); later models and training.
        .target(name: "GAN", dependencies: ["Engine", "NN", "Preview"]),
        // The lesson language: lexer, parser, evaluator, values (knows Engine only).
        .target(name: "Script", dependencies: ["Engine"]),
        // The builtins table: binds Engine, NN, GAN and Preview into the language.
        .target(name: "Library", dependencies: ["Script", "Engine", "NN", "GAN", "Preview"]),
        // Lessons (Markdown with code cells), stepping, checks, transcripts.
        .target(name: "Notebook", dependencies: ["Library", "Script", "Engine", "Preview"]),
        // The line-editing REPL (libedit): commands, completion, history, Ctrl-C.
        .target(name: "REPL", dependencies: ["Notebook", "Library", "Script", "Engine", "Preview", "CEditLine"]),
        // Pictures: PNG and JPEG codecs, terminal previews, image grids, plots (Engine only below).
        .target(name: "Preview", dependencies: ["Engine", "CPNG", "CCodecs"]),
        // Layers, spectral norm, AdaIN, the WGAN-GP loss, Adam, checkpoints.
        .target(name: "NN", dependencies: ["Engine"]),

        .executableTarget(
            name: "normlab",
            dependencies: [
                "Engine", "SIMDKernels", "NN", "GAN", "Preview", "Library", "Notebook", "REPL", "CEditLine", "CPNG", "CCodecs",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Helpers the test targets share: reference vectors, closeness, finite differences.
        .target(name: "TestSupport", dependencies: ["Engine"], path: "Tests/TestSupport"),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "SIMDKernels", "TestSupport"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "TestSupport"]),
        // Fixtures are read by path from the checkout, not bundled as resources.
        .testTarget(name: "PreviewTests", dependencies: ["Preview", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ScriptTests", dependencies: ["Script", "Engine"]),
        .testTarget(name: "GANTests", dependencies: ["GAN", "Preview", "TestSupport"]),
        .testTarget(name: "LibraryTests", dependencies: ["Library", "Script"]),
        .testTarget(name: "NotebookTests", dependencies: ["Notebook", "Library"]),
        // Drives the built normlab binary, through pipes and through a pseudo-terminal.
        .testTarget(name: "REPLTests", dependencies: ["normlab"]),
    ]
)
