// swift-tools-version:6.0
// Normlab: the layers of ../shared/DESIGN.md, one target each, created as they get code.
import PackageDescription

/// Whether the SIMD kernels are compiled for this machine's CPU family. On x86-64 they need
/// the flags: without them `SIMD8.addingProduct` becomes eight calls of libm's fmaf. Such a
/// build needs AVX2 and FMA (x86-64-v3, Haswell and later), chooses its AVX-512 micro-kernel at
/// run time, and stops at start on an older CPU. `NORMLAB_PORTABLE=1` (read here) drops every
/// CPU flag: the kernels are then the generic Swift SIMD code, which any x86-64 CPU runs. Other
/// architectures always build that way: arm64's baseline has vector FMA. `#if arch` tests the
/// machine that compiles this manifest, so a cross build from x86-64 needs NORMLAB_PORTABLE=1.
#if arch(x86_64)
let cpuFlags = Context.environment["NORMLAB_PORTABLE"] != "1"
#else
let cpuFlags = false
#endif

/// Tells the Swift code of the kernels and of the engine (which checks the CPU at start) that
/// the kernels were compiled for x86-64-v3.
let cpuFlagsDefined = SwiftSetting.define("NORMLAB_X86_64_V3")

/// With the CPU flags, the kernels are also compiled optimised in debug builds (-Ounchecked),
/// so that the tests run at speed; the portable configuration has no unsafe flags at all.
/// `-Xcc` gives the C headers the kernels import the same target.
let kernelSettings: [SwiftSetting] = cpuFlags
    ? [.unsafeFlags(["-Ounchecked", "-Xcc", "-mavx2", "-Xcc", "-mfma", "-target-cpu", "haswell"]), cpuFlagsDefined]
    : []

/// The AVX-512 micro-kernel alone, in a target compiled for AVX-512 so that its instructions
/// appear nowhere else; it runs only where CPUID says the CPU has AVX-512 and XGETBV that the
/// OS saves its registers. With the prefetch hint it uses (header only: Swift has none).
let avx512Targets: [Target] = cpuFlags ? [
    .systemLibrary(name: "CPrefetch"),
    .target(name: "SIMDKernelsAVX512", dependencies: ["CPrefetch"],
            swiftSettings: [.unsafeFlags(["-Ounchecked", "-target-cpu", "skylake-avx512"])]),
] : []

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
        // System libraries (module maps), found through pkg-config: on macOS Homebrew's lie outside
        // the compiler's search paths. The REPL uses libedit (macOS also ships one); Preview uses
        // libpng and libjpeg.
        .systemLibrary(name: "CEditLine", pkgConfig: "libedit", providers: [.apt(["libedit-dev"]), .brew(["libedit"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"]), .brew(["libpng"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg-dev"]), .brew(["jpeg-turbo"])]),
        // zlib's crc32 checksums every checkpoint tensor and the dataset cache: zlib comes with
        // libpng-dev (libpng links it), and Python's zlib.crc32 gives the same number, so the
        // exported PyTorch script checks them too.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        // The Jupyter kernel's transport (ZeroMQ) and message signatures (HMAC-SHA256 from
        // OpenSSL's libcrypto): kept libraries for a protocol and a hash, not written here.
        .systemLibrary(name: "CZMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"]), .brew(["zeromq"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]),
        // libjpeg and libpng report errors by longjmp, which Swift cannot catch: the decoders are
        // a small C target (which takes the libraries' paths from CPNG and CJPEG). Writing PNG uses
        // libpng's simplified API from Swift (CPNG).
        .target(name: "CCodecs", dependencies: ["CPNG", "CJPEG"], linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16")]),

        // The fast kernels on raw pointers (GEMM, convolution, elementwise), in their own target
        // so that only they get the CPU flags (`kernelSettings`).
        .target(name: "SIMDKernels", dependencies: ["Ops", "CPlatform"] + (cpuFlags ? ["SIMDKernelsAVX512"] : []), swiftSettings: kernelSettings),
        // The op descriptors (UnaryOp, BinaryOp, ReduceOp, ConvDims) that the engine and its
        // kernels share.
        .target(name: "Ops"),
        // What differs between Linux and macOS, and the CPU's features (CPUID, XGETBV), in C.
        .target(name: "CPlatform"),

        // Tensor, primitive ops (Reference/ and SIMD/ backends), autograd, RNG, printing.
        .target(name: "Engine", dependencies: ["Ops", "SIMDKernels", "CPlatform"], swiftSettings: cpuFlags ? [cpuFlagsDefined] : []),
        // Datasets (CelebA, image folders, synthetic faces, 2-D toys); later models and training.
        // The PyTorch export (normlab_gan.py) is compiled into the binary as bytes, so an installed
        // normlab needs no resource bundle beside it.
        .target(name: "GAN", dependencies: ["Engine", "NN", "Preview", "CZlib"], resources: [.embedInCode("Resources/normlab_gan.py")]),
        // The lesson language: lexer, parser, evaluator, values (knows Engine only).
        .target(name: "Script", dependencies: ["Engine"]),
        // The builtins table: binds Engine, NN, GAN and Preview into the language.
        .target(name: "Library", dependencies: ["Script", "Engine", "NN", "GAN", "Preview"]),
        // Lessons (Markdown with code cells), stepping, checks, transcripts.
        .target(name: "Notebook", dependencies: ["Library", "Script", "Engine", "Preview"]),
        // The line-editing REPL (libedit): commands, completion, history, Ctrl-C.
        .target(name: "REPL", dependencies: ["Notebook", "Library", "Script", "Engine", "Preview", "CEditLine", "CPlatform"]),
        // The Jupyter kernel: the same session, its output as messages, pictures as PNG.
        .target(name: "Kernel", dependencies: ["Notebook", "Library", "Script", "Engine", "Preview", "GAN", "CZMQ", "CCrypto", "CPlatform"]),
        // Pictures: PNG and JPEG codecs, terminal previews, image grids, plots (Engine only below).
        .target(name: "Preview", dependencies: ["Engine", "CPNG", "CCodecs"]),
        // Layers, spectral norm, AdaIN, the WGAN-GP loss, Adam, checkpoints.
        .target(name: "NN", dependencies: ["Engine", "CZlib"]),

        .executableTarget(
            name: "normlab",
            dependencies: [
                "Engine", "SIMDKernels", "NN", "GAN", "Preview", "Library", "Notebook", "REPL", "Kernel", "CEditLine", "CPNG", "CCodecs",
                // `normlab version` asks ZeroMQ and OpenSSL for their own versions.
                "CZMQ", "CCrypto",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Helpers the test targets share: reference vectors, closeness, finite differences.
        .target(name: "TestSupport", dependencies: ["Engine"], path: "Tests/TestSupport"),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "SIMDKernels", "CPlatform", "TestSupport"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "TestSupport"]),
        // Fixtures are read by path from the checkout, not bundled as resources.
        .testTarget(name: "PreviewTests", dependencies: ["Preview", "TestSupport", "CZlib"], exclude: ["Fixtures"]),
        .testTarget(name: "ScriptTests", dependencies: ["Script", "Engine"]),
        .testTarget(name: "GANTests", dependencies: ["GAN", "Preview", "TestSupport", "CZlib"]),
        .testTarget(name: "LibraryTests", dependencies: ["Library", "Script", "GAN", "NN", "TestSupport", "Engine", "Preview"]),
        .testTarget(name: "NotebookTests", dependencies: ["Notebook", "Library", "Script", "Engine", "Preview"]),
        // Drives the built normlab binary, through pipes and through a pseudo-terminal.
        .testTarget(name: "REPLTests", dependencies: ["normlab", "REPL", "Notebook", "Library", "Script"]),
        // Messages and signatures against fixed vectors; the kernel under jupyter_client and
        // nbclient where Python has them (the scripts are read from the checkout).
        // Seeded programs through the interpreter and the REPL's piped mode (issue 17).
        .testTarget(name: "FuzzTests", dependencies: ["REPL", "Notebook", "Library", "Script", "Engine", "SIMDKernels"]),
        .testTarget(name: "KernelTests", dependencies: ["Kernel", "normlab"], exclude: ["Python"]),
    ] + avx512Targets
)
