// The vectors the kernels compute with. The kernels are written once, in Swift's SIMD types,
// and compiled for the CPU family of the build (see Package.swift): AVX2 and FMA on x86-64,
// NEON on arm64, and plain SSE2 in the portable configuration of x86-64.

typealias Lanes8 = SIMD8<Float>

/// The vector instructions this build's kernels were compiled for.
public let vectorInstructions: String = {
    #if NORMLAB_X86_64_V3
    "AVX2"
    #elseif arch(arm64)
    "NEON"
    #elseif arch(x86_64)
    "SSE2"
    #else
    "generic SIMD"
    #endif
}()

extension SIMD8 where Scalar == Float {
    /// self + a·b, fused (rounded once) where the target has a vector FMA: x86-64 compiled for
    /// AVX2 and FMA, and arm64, whose NEON always has one. Elsewhere a fused multiply-add is a
    /// call of libm's fmaf per lane, far slower than a product and a sum.
    @inline(__always)
    func multiplyAdd(_ a: Self, _ b: Self) -> Self {
        #if NORMLAB_X86_64_V3 || arch(arm64)
        addingProduct(a, b)
        #else
        self + a * b
        #endif
    }
}
