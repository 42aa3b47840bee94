import CPrefetch

// The AVX-512 micro-kernel, in its own target compiled for skylake-avx512 so that no other
// code can pick up AVX-512 instructions: SIMDKernels calls it only after checking the CPU.

/// C[12×32] (+)= Σₚ a[p]·b[p], a packed as 12 floats per p, b as 32: 24 accumulators of 16
/// floats in 24 of the 32 zmm registers, 2 loads of B and 12 broadcasts of A per step.
/// B streams from L2, so each step asks for the two lines of B it will need 8 steps later;
/// the hardware prefetcher alone leaves the FMAs waiting.
@inline(never)
public func microKernel12x32(_ kb: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                             _ ldc: Int, _ accumulate: Bool) {
    typealias V = SIMD16<Float>
    var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V(), c30 = V(), c31 = V()
    var c40 = V(), c41 = V(), c50 = V(), c51 = V(), c60 = V(), c61 = V(), c70 = V(), c71 = V()
    var c80 = V(), c81 = V(), c90 = V(), c91 = V(), ca0 = V(), ca1 = V(), cb0 = V(), cb1 = V()
    let rawB = UnsafeRawPointer(b)
    var pa = a
    for p in 0..<kb {
        normlab_prefetch(rawB + p * 128 + 1024); normlab_prefetch(rawB + p * 128 + 1024 + 64)
        let b0 = rawB.loadUnaligned(fromByteOffset: p * 128, as: V.self)
        let b1 = rawB.loadUnaligned(fromByteOffset: p * 128 + 64, as: V.self)
        var av = V(repeating: pa[0]); c00 = c00.addingProduct(av, b0); c01 = c01.addingProduct(av, b1)
        av = V(repeating: pa[1]); c10 = c10.addingProduct(av, b0); c11 = c11.addingProduct(av, b1)
        av = V(repeating: pa[2]); c20 = c20.addingProduct(av, b0); c21 = c21.addingProduct(av, b1)
        av = V(repeating: pa[3]); c30 = c30.addingProduct(av, b0); c31 = c31.addingProduct(av, b1)
        av = V(repeating: pa[4]); c40 = c40.addingProduct(av, b0); c41 = c41.addingProduct(av, b1)
        av = V(repeating: pa[5]); c50 = c50.addingProduct(av, b0); c51 = c51.addingProduct(av, b1)
        av = V(repeating: pa[6]); c60 = c60.addingProduct(av, b0); c61 = c61.addingProduct(av, b1)
        av = V(repeating: pa[7]); c70 = c70.addingProduct(av, b0); c71 = c71.addingProduct(av, b1)
        av = V(repeating: pa[8]); c80 = c80.addingProduct(av, b0); c81 = c81.addingProduct(av, b1)
        av = V(repeating: pa[9]); c90 = c90.addingProduct(av, b0); c91 = c91.addingProduct(av, b1)
        av = V(repeating: pa[10]); ca0 = ca0.addingProduct(av, b0); ca1 = ca1.addingProduct(av, b1)
        av = V(repeating: pa[11]); cb0 = cb0.addingProduct(av, b0); cb1 = cb1.addingProduct(av, b1)
        pa += 12
    }
    @inline(__always) func store(_ row: Int, _ lo: V, _ hi: V) {
        let raw = UnsafeMutableRawPointer(c + row * ldc)
        if accumulate {
            raw.storeBytes(of: raw.loadUnaligned(as: V.self) + lo, as: V.self)
            raw.storeBytes(of: raw.loadUnaligned(fromByteOffset: 64, as: V.self) + hi, toByteOffset: 64, as: V.self)
        } else {
            raw.storeBytes(of: lo, as: V.self)
            raw.storeBytes(of: hi, toByteOffset: 64, as: V.self)
        }
    }
    store(0, c00, c01); store(1, c10, c11); store(2, c20, c21); store(3, c30, c31)
    store(4, c40, c41); store(5, c50, c51); store(6, c60, c61); store(7, c70, c71)
    store(8, c80, c81); store(9, c90, c91); store(10, ca0, ca1); store(11, cb0, cb1)
}

/// The FMA peak of one core with 512-bit vectors (see SIMDKernels.measureFMAPeak).
@inline(never)
public func fmaChains512(_ iterations: Int, _ state: UnsafeMutablePointer<SIMD16<Float>>) {
    let a = state[12], b = state[13]
    var c0 = state[0], c1 = state[1], c2 = state[2], c3 = state[3], c4 = state[4], c5 = state[5]
    var c6 = state[6], c7 = state[7], c8 = state[8], c9 = state[9], c10 = state[10], c11 = state[11]
    for _ in 0..<iterations {
        c0 = c0.addingProduct(a, b); c1 = c1.addingProduct(a, b); c2 = c2.addingProduct(a, b)
        c3 = c3.addingProduct(a, b); c4 = c4.addingProduct(a, b); c5 = c5.addingProduct(a, b)
        c6 = c6.addingProduct(a, b); c7 = c7.addingProduct(a, b); c8 = c8.addingProduct(a, b)
        c9 = c9.addingProduct(a, b); c10 = c10.addingProduct(a, b); c11 = c11.addingProduct(a, b)
    }
    state[0] = c0; state[1] = c1; state[2] = c2; state[3] = c3; state[4] = c4; state[5] = c5
    state[6] = c6; state[7] = c7; state[8] = c8; state[9] = c9; state[10] = c10; state[11] = c11
}
