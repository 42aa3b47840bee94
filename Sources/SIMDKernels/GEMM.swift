import Dispatch

// Single-precision matrix multiply, C = op(A)·op(B) (+ C when accumulating), in the
// Goto/BLIS structure: B is packed into KC×NC panels that stay in L3, A into MC×KC blocks
// that stay in L2, and a 6×16 register-blocked micro-kernel with fused multiply-adds runs
// over them (12 accumulators of 8 floats + 2 loads of B + 1 broadcast of A = 15 of the 16
// AVX2 registers).

let mr = 6, nr = 16
let kc = 256, mc = 96, nc = 2048

/// A matrix in memory: element (i, j) of op(X) is at base[i·rowStride + j·columnStride].
public struct MatrixView: @unchecked Sendable {
    public var base: UnsafePointer<Float>
    public var rowStride: Int
    public var columnStride: Int
    public init(base: UnsafePointer<Float>, rowStride: Int, columnStride: Int) {
        self.base = base; self.rowStride = rowStride; self.columnStride = columnStride
    }
    /// op(X) of shape `rows × columns`: X itself stored row-major, or X stored as `columns × rows`
    /// and read transposed.
    public init(base: UnsafePointer<Float>, rows: Int, columns: Int, transposed: Bool) {
        // op(X) = Xᵀ where X is stored row-major as columns × rows.
        self.init(base: base, rowStride: transposed ? 1 : columns, columnStride: transposed ? rows : 1)
    }
}

struct SendablePointer<T>: @unchecked Sendable { let pointer: UnsafeMutablePointer<T> }

/// C[m×n] (row stride ldc) = A[m×k]·B[k×n], or += when `accumulate`. `threads` > 1 splits the
/// rows of C between threads.
public func sgemm(m: Int, n: Int, k: Int, a: MatrixView, b: MatrixView, c: UnsafeMutablePointer<Float>, ldc: Int,
                  accumulate: Bool = false, threads: Int = 1) {
    guard m > 0, n > 0 else { return }
    guard k > 0 else {
        if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
        return
    }
    let packedB = UnsafeMutablePointer<Float>.allocate(capacity: kc * roundUp(min(n, nc), nr))
    defer { packedB.deallocate() }
    let blocksOfM = (m + mc - 1) / mc
    let workers = max(1, min(threads, blocksOfM, 2 * m * n * k < 1 << 21 ? 1 : threads))
    let packedA = (0..<workers).map { _ in SendablePointer(pointer: UnsafeMutablePointer<Float>.allocate(capacity: mc * kc)) }
    defer { packedA.forEach { $0.pointer.deallocate() } }
    let cc = SendablePointer(pointer: c)
    let pb = SendablePointer(pointer: packedB)

    for jc in stride(from: 0, to: n, by: nc) {
        let nb = min(nc, n - jc)
        for pc in stride(from: 0, to: k, by: kc) {
            let kb = min(kc, k - pc)
            packB(b, rows: pc, kb, columns: jc, nb, into: packedB)
            let add = accumulate || pc > 0
            let work: @Sendable (Int) -> Void = { worker in
                for block in stride(from: worker, to: blocksOfM, by: workers) {
                    let ic = block * mc
                    let mb = min(mc, m - ic)
                    packA(a, rows: ic, mb, columns: pc, kb, into: packedA[worker].pointer)
                    macroKernel(mb, nb, kb, packedA[worker].pointer, pb.pointer, cc.pointer + ic * ldc + jc, ldc, add)
                }
            }
            if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
        }
    }
}

@inline(__always) func roundUp(_ x: Int, _ multiple: Int) -> Int { (x + multiple - 1) / multiple * multiple }

/// B[pc..<pc+kb, jc..<jc+nb] as panels of 16 columns: panel j holds, for each p, 16 floats.
/// Columns past the edge are zero so the micro-kernel never branches.
@inline(__always)
func packB(_ b: MatrixView, rows pc: Int, _ kb: Int, columns jc: Int, _ nb: Int, into out: UnsafeMutablePointer<Float>) {
    var dst = out
    for j0 in stride(from: 0, to: nb, by: nr) {
        let width = min(nr, nb - j0)
        if b.columnStride == 1 && width == nr {
            for p in 0..<kb {
                let src = b.base + (pc + p) * b.rowStride + jc + j0
                dst.update(from: src, count: nr)
                dst += nr
            }
        } else {
            for p in 0..<kb {
                let row = b.base + (pc + p) * b.rowStride
                for j in 0..<nr { dst[j] = j < width ? row[(jc + j0 + j) * b.columnStride] : 0 }
                dst += nr
            }
        }
    }
}

/// A[ic..<ic+mb, pc..<pc+kb] as panels of 6 rows: panel i holds, for each p, 6 floats.
@inline(__always)
func packA(_ a: MatrixView, rows ic: Int, _ mb: Int, columns pc: Int, _ kb: Int, into out: UnsafeMutablePointer<Float>) {
    var dst = out
    for i0 in stride(from: 0, to: mb, by: mr) {
        let height = min(mr, mb - i0)
        if a.rowStride == 1 && height == mr {
            // Transposed A: the 6 rows of one column are adjacent.
            for p in 0..<kb {
                let src = a.base + (ic + i0) + (pc + p) * a.columnStride
                dst.update(from: src, count: mr)
                dst += mr
            }
        } else {
            for p in 0..<kb {
                for i in 0..<mr {
                    dst[i] = i < height ? a.base[(ic + i0 + i) * a.rowStride + (pc + p) * a.columnStride] : 0
                }
                dst += mr
            }
        }
    }
}

@inline(__always)
func macroKernel(_ mb: Int, _ nb: Int, _ kb: Int, _ packedA: UnsafeMutablePointer<Float>, _ packedB: UnsafeMutablePointer<Float>,
                 _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
    var edge = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
    for j0 in stride(from: 0, to: nb, by: nr) {
        let b = packedB + (j0 / nr) * kb * nr
        for i0 in stride(from: 0, to: mb, by: mr) {
            let a = packedA + (i0 / mr) * kb * mr
            let rows = min(mr, mb - i0), columns = min(nr, nb - j0)
            if rows == mr && columns == nr {
                microKernel(kb, a, b, c + i0 * ldc + j0, ldc, accumulate)
            } else {
                // Edge tile: compute the full 6×16 into a scratch tile, copy the part that exists.
                withUnsafeMutableBytes(of: &edge) { raw in
                    let tile = raw.baseAddress!.assumingMemoryBound(to: Float.self)
                    microKernel(kb, a, b, tile, nr, false)
                    for i in 0..<rows {
                        for j in 0..<columns {
                            let out = c + (i0 + i) * ldc + j0 + j
                            out.pointee = accumulate ? out.pointee + tile[i * nr + j] : tile[i * nr + j]
                        }
                    }
                }
            }
        }
    }
}

/// C[6×16] (+)= Σₚ a[p]·b[p] as 12 independent FMA chains.
@inline(__always)
func microKernel(_ kb: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                 _ ldc: Int, _ accumulate: Bool) {
    var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
    var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
    var c40 = SIMD8<Float>(), c41 = SIMD8<Float>(), c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
    let rawB = UnsafeRawPointer(b)
    var pa = a
    for p in 0..<kb {
        let b0 = rawB.loadUnaligned(fromByteOffset: p * 64, as: SIMD8<Float>.self)
        let b1 = rawB.loadUnaligned(fromByteOffset: p * 64 + 32, as: SIMD8<Float>.self)
        var av = SIMD8<Float>(repeating: pa[0])
        c00 = c00.addingProduct(av, b0); c01 = c01.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: pa[1])
        c10 = c10.addingProduct(av, b0); c11 = c11.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: pa[2])
        c20 = c20.addingProduct(av, b0); c21 = c21.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: pa[3])
        c30 = c30.addingProduct(av, b0); c31 = c31.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: pa[4])
        c40 = c40.addingProduct(av, b0); c41 = c41.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: pa[5])
        c50 = c50.addingProduct(av, b0); c51 = c51.addingProduct(av, b1)
        pa += mr
    }
    @inline(__always) func store(_ row: Int, _ lo: SIMD8<Float>, _ hi: SIMD8<Float>) {
        let raw = UnsafeMutableRawPointer(c + row * ldc)
        if accumulate {
            raw.storeBytes(of: raw.loadUnaligned(as: SIMD8<Float>.self) + lo, as: SIMD8<Float>.self)
            raw.storeBytes(of: raw.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self) + hi, toByteOffset: 32, as: SIMD8<Float>.self)
        } else {
            raw.storeBytes(of: lo, as: SIMD8<Float>.self)
            raw.storeBytes(of: hi, toByteOffset: 32, as: SIMD8<Float>.self)
        }
    }
    store(0, c00, c01); store(1, c10, c11); store(2, c20, c21)
    store(3, c30, c31); store(4, c40, c41); store(5, c50, c51)
}
