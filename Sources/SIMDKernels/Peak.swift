import Dispatch

/// The single-core FMA peak in GFLOP/s for a vector width: 12 independent chains of fused
/// multiply-adds (enough to hide the FMA latency), the ceiling a kernel on one core can approach.
/// The operands come from memory so the compiler cannot fold the chains away.
func peakGFLOPS<V: SIMD>(chains: (Int, UnsafeMutablePointer<V>) -> Void, seconds: Double = 0.2) -> Double where V.Scalar == Float {
    let state = UnsafeMutablePointer<V>.allocate(capacity: 14)
    defer { state.deallocate() }
    state.initialize(repeating: V(repeating: 1), count: 12)
    state[12] = V(repeating: 0.999_999)
    state[13] = V(repeating: 1e-7)
    var best = 0.0
    let iterations = 1 << 20
    let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
    while DispatchTime.now().uptimeNanoseconds < deadline {
        let start = DispatchTime.now().uptimeNanoseconds
        chains(iterations, state)
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        best = max(best, Double(iterations) * 12 * Double(V.scalarCount) * 2 / elapsed / 1e9)
    }
    return best
}

/// Twin of `fmaChains512` in SIMDKernelsAVX512: the two must live in targets compiled for
/// different instruction sets, so they cannot share one generic body. (Where the target has no
/// vector FMA, `multiplyAdd` is a product and a sum: the peak of those.)
@inline(never)
func fmaChains256(_ iterations: Int, _ state: UnsafeMutablePointer<SIMD8<Float>>) {
    let a = state[12], b = state[13]
    var c0 = state[0], c1 = state[1], c2 = state[2], c3 = state[3], c4 = state[4], c5 = state[5]
    var c6 = state[6], c7 = state[7], c8 = state[8], c9 = state[9], c10 = state[10], c11 = state[11]
    for _ in 0..<iterations {
        c0 = c0.multiplyAdd(a, b); c1 = c1.multiplyAdd(a, b); c2 = c2.multiplyAdd(a, b)
        c3 = c3.multiplyAdd(a, b); c4 = c4.multiplyAdd(a, b); c5 = c5.multiplyAdd(a, b)
        c6 = c6.multiplyAdd(a, b); c7 = c7.multiplyAdd(a, b); c8 = c8.multiplyAdd(a, b)
        c9 = c9.multiplyAdd(a, b); c10 = c10.multiplyAdd(a, b); c11 = c11.multiplyAdd(a, b)
    }
    state[0] = c0; state[1] = c1; state[2] = c2; state[3] = c3; state[4] = c4; state[5] = c5
    state[6] = c6; state[7] = c7; state[8] = c8; state[9] = c9; state[10] = c10; state[11] = c11
}
