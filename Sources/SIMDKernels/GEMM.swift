import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if NORMLAB_X86_64_V3
import CPlatform
import SIMDKernelsAVX512
#endif

// Single-precision matrix multiply, C = op(A)·op(B) (+ C when accumulating), in the
// Goto/BLIS structure. The micro-kernel broadcasts mr elements of A and loads nr of B as
// vectors, so (as in BLIS, which computes the transpose) the broadcast operand is the one
// that stays in L1: one packed mr×kc sliver of A is reused against every nr-column sliver of
// a kc×nc block of B that stays in L2, and the mc×kc chunk of A waits in L3.

/// A micro-kernel and the cache blocking that suits it.
public struct GEMMKernel: Sendable, CustomStringConvertible {
    public let name: String
    /// Register tile mr×nr; kc: the depth of one pass (an mr×kc sliver of A fills about
    /// half of L1); nc: the columns of a packed kc×nc block of B (under half of L2);
    /// mc: the rows of a packed mc×kc chunk of A (L3).
    let mr: Int, nr: Int, kc: Int, mc: Int, nc: Int
    let run: @Sendable (Int, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Bool) -> Void
    /// One core's FMA peak with this kernel's vector width, GFLOP/s.
    public let measurePeak: @Sendable () -> Double

    /// 6×16 with 8-wide vectors: 12 accumulators + 2 loads of B + 1 broadcast of A = 15 of
    /// AVX2's 16 ymm registers (NEON's 32 registers of 4 floats hold it twice over).
    public static let sixBySixteen = GEMMKernel(name: "\(vectorInstructions) 6×16", mr: 6, nr: 16, kc: 256, mc: 3072, nc: 512,
                                                run: microKernel6x16, measurePeak: { peakGFLOPS(chains: fmaChains256) })
    #if NORMLAB_X86_64_V3
    /// 12×32 with 16-wide AVX-512 vectors: 24 of the 32 zmm registers accumulate.
    public static let avx512 = GEMMKernel(name: "AVX-512 12×32", mr: 12, nr: 32, kc: 384, mc: 3072, nc: 512,
                                          run: microKernel12x32, measurePeak: { peakGFLOPS(chains: fmaChains512) })

    /// The kernels this CPU can run, best first. `NORMLAB_GEMM=avx2` keeps only AVX2.
    public static let available: [GEMMKernel] = {
        let forced = getenv("NORMLAB_GEMM").map { String(cString: $0) }
        return cpuSupportsAVX512 && forced != "avx2" ? [.avx512, .sixBySixteen] : [.sixBySixteen]
    }()
    #else
    public static let available: [GEMMKernel] = [.sixBySixteen]
    #endif
    public static var best: GEMMKernel { available[0] }
    public var description: String { name }
}

#if NORMLAB_X86_64_V3
/// Whether the CPU has the AVX-512 of the 12×32 kernel's target and the OS saves its registers.
let cpuSupportsAVX512: Bool = {
    let f = nl_cpu_features_detect()
    return f.avx512f && f.avx512cd && f.avx512bw && f.avx512dq && f.avx512vl && f.osSavesAVX512
}()
#endif

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

/// op(A) packed once, whole, for a kernel: slivers of mr rows (the last zero-padded), each
/// holding mr floats for every p in 0..<k. A convolution multiplies the same weight into every
/// image of a batch; packed once, it is not packed again per image.
public final class PackedMatrix: @unchecked Sendable {
    public let rows: Int, columns: Int
    let kernel: GEMMKernel
    let base: UnsafeMutablePointer<Float>

    /// With `threads` > 1 a large matrix is packed in bands of slivers, one per thread: a
    /// convolution packs its weight (thousands of rows by hundreds) on every call.
    public init(_ a: MatrixView, rows: Int, columns: Int, kernel: GEMMKernel = .best, threads: Int = 1) {
        (self.rows, self.columns, self.kernel) = (rows, columns, kernel)
        let base = UnsafeMutablePointer<Float>.allocate(capacity: max(1, roundUp(rows, kernel.mr) * columns))
        self.base = base
        let slivers = (rows + kernel.mr - 1) / kernel.mr
        let parts = rows * columns >= parallelElementwiseMinimum ? min(threads, slivers) : 1
        concurrentPerform(iterations: parts) { part in
            let share = evenShare(part, of: parts, slivers)
            let first = share.lowerBound * kernel.mr, end = min(rows, share.upperBound * kernel.mr)
            guard end > first else { return }
            packA(a, rows: first, end - first, columns: 0, columns, mr: kernel.mr, into: base + first * columns)
        }
    }

    deinit { base.deallocate() }

    /// The packed rows from `row` (a multiple of mr) on, for columns from `column` on: slivers
    /// `columns · mr` floats apart.
    func slivers(row: Int, column: Int) -> UnsafeMutablePointer<Float> { base + row * columns + column * kernel.mr }
}

/// op(B) packed beforehand as `packB` packs it, for all of k at once: panels of `width` (the
/// kernel's nr) columns, each holding `width` floats for every p in 0..<rows. A convolution
/// writes its column matrix this way directly, which saves the product a copy of it; a large
/// product split by rows packs its B this way once for all its threads.
struct PackedPanels: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
    let rows: Int, columns: Int, width: Int
    var panelStride: Int { rows * width }
    /// Floats needed for rows × columns.
    static func capacity(rows: Int, columns: Int, width: Int) -> Int { rows * roundUp(columns, width) }

    /// Zeros in the last panel's columns past `columns`, as packB leaves them: their products
    /// are thrown away, but a stray NaN or denormal there would slow the FMAs.
    func zeroPastLastColumn() {
        let used = columns % width
        guard used > 0 else { return }
        let last = base + columns / width * panelStride
        for row in 0..<rows { (last + row * width + used).update(repeating: 0, count: width - used) }
    }
}

/// The right operand of a product: a matrix in memory, or one packed beforehand.
enum RightOperand {
    case view(MatrixView)
    case packed(PackedPanels)

    /// The columns from `start` on (for packed panels a multiple of their width).
    func columns(from start: Int) -> RightOperand {
        switch self {
        case .view(var view): view.base += start * view.columnStride; return .view(view)
        case .packed(let p):
            return .packed(PackedPanels(base: p.base + start / p.width * p.panelStride, rows: p.rows, columns: p.columns - start, width: p.width))
        }
    }
}

/// The left operand of a product: a matrix in memory, or one packed beforehand.
enum LeftOperand {
    case view(MatrixView)
    case packed(PackedMatrix, firstRow: Int)

    func rows(from start: Int) -> LeftOperand {
        switch self {
        case .view(var view): view.base += start * view.rowStride; return .view(view)
        case .packed(let packed, let first): return .packed(packed, firstRow: first + start)
        }
    }
}

/// C[m×n] (row stride ldc) = A[m×k]·B[k×n], or += when `accumulate`. `threads` > 1 cuts C
/// into equal bands of rows (or of columns, when C is wide and short) and computes each as an
/// independent product: a thread packs what its band needs itself, which repeats a little
/// packing and needs no synchronisation.
public func sgemm(m: Int, n: Int, k: Int, a: MatrixView, b: MatrixView, c: UnsafeMutablePointer<Float>, ldc: Int,
                  accumulate: Bool = false, threads: Int = 1, kernel: GEMMKernel = .best) {
    if (m == 1 || n == 1) && k > 0 {
        matrixVector(m: m, n: n, k: k, a: a, b: b, c: c, ldc: ldc, accumulate: accumulate)
        return
    }
    sgemm(m: m, n: n, k: k, a: .view(a), b: .view(b), c: c, ldc: ldc, accumulate: accumulate, threads: threads, kernel: kernel)
}

/// C = op(A)·x (n = 1) or xᵀ·op(B) (m = 1): a matrix-vector product, as in spectral norm's
/// power iteration. Nothing is reused, so packing cannot pay, and a 12×32 register tile would
/// do 12 or 32 times the work: dot products where the matrix's rows run along p, otherwise
/// a sum of scaled rows.
func matrixVector(m: Int, n: Int, k: Int, a: MatrixView, b: MatrixView, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
    // As xᵀ·op(B) with x of length k and op(B) of k × count, into `count` outputs `stride` apart.
    let (vector, vectorStride, matrix, count, stride): (UnsafePointer<Float>, Int, MatrixView, Int, Int) = n == 1
        ? (b.base, b.rowStride, MatrixView(base: a.base, rowStride: a.columnStride, columnStride: a.rowStride), m, ldc)
        : (a.base, a.columnStride, b, n, 1)
    if matrix.rowStride == 1 && vectorStride == 1 {
        // Output j is the dot product of x with a contiguous line of the matrix.
        for j in 0..<count {
            let d = dot(vector, matrix.base + j * matrix.columnStride, k)
            c[j * stride] = accumulate ? c[j * stride] + d : d
        }
    } else if matrix.columnStride == 1 && stride == 1 {
        // Outputs are contiguous along each matrix row: add x[p]·row p.
        if !accumulate { c.update(repeating: 0, count: count) }
        for p in 0..<k { axpy(vector[p * vectorStride], matrix.base + p * matrix.rowStride, c, count) }
    } else {
        for j in 0..<count {
            var d: Float = 0
            for p in 0..<k { d += vector[p * vectorStride] * matrix.base[p * matrix.rowStride + j * matrix.columnStride] }
            c[j * stride] = accumulate ? c[j * stride] + d : d
        }
    }
}

/// Σ x[i]·y[i] over contiguous x and y, in four 8-lane partial sums.
@inline(__always)
func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ count: Int) -> Float {
    let rx = UnsafeRawPointer(x), ry = UnsafeRawPointer(y)
    var s0 = Lanes8(), s1 = Lanes8(), s2 = Lanes8(), s3 = Lanes8()
    var i = 0
    @inline(__always) func load(_ r: UnsafeRawPointer, _ at: Int) -> Lanes8 { r.loadUnaligned(fromByteOffset: 4 * at, as: Lanes8.self) }
    while i + 32 <= count {
        s0 = s0.multiplyAdd(load(rx, i), load(ry, i)); s1 = s1.multiplyAdd(load(rx, i + 8), load(ry, i + 8))
        s2 = s2.multiplyAdd(load(rx, i + 16), load(ry, i + 16)); s3 = s3.multiplyAdd(load(rx, i + 24), load(ry, i + 24))
        i += 32
    }
    while i + 8 <= count { s0 = s0.multiplyAdd(load(rx, i), load(ry, i)); i += 8 }
    var total = ((s0 + s1) + (s2 + s3)).sum()
    while i < count { total += x[i] * y[i]; i += 1 }
    return total
}

/// y += alpha·x over contiguous x and y.
@inline(__always)
func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
    let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
    let a = Lanes8(repeating: alpha)
    var i = 0
    while i + 8 <= count {
        let sum = ry.loadUnaligned(fromByteOffset: 4 * i, as: Lanes8.self).multiplyAdd(a, rx.loadUnaligned(fromByteOffset: 4 * i, as: Lanes8.self))
        ry.storeBytes(of: sum, toByteOffset: 4 * i, as: Lanes8.self)
        i += 8
    }
    while i < count { y[i] += alpha * x[i]; i += 1 }
}

/// The same with A packed beforehand (m = a.rows, k = a.columns).
public func sgemm(a: PackedMatrix, n: Int, b: MatrixView, c: UnsafeMutablePointer<Float>, ldc: Int,
                  accumulate: Bool = false, threads: Int = 1) {
    sgemm(m: a.rows, n: n, k: a.columns, a: .packed(a, firstRow: 0), b: .view(b), c: c, ldc: ldc, accumulate: accumulate,
          threads: threads, kernel: a.kernel)
}

/// The same with both operands packed beforehand (m = a.rows, k = a.columns = b.rows, n = b.columns).
func sgemm(a: PackedMatrix, b: PackedPanels, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false, threads: Int = 1) {
    precondition(a.columns == b.rows && b.width == a.kernel.nr, "packed operands that do not fit")
    sgemm(m: a.rows, n: b.columns, k: a.columns, a: .packed(a, firstRow: 0), b: .packed(b), c: c, ldc: ldc, accumulate: accumulate,
          threads: threads, kernel: a.kernel)
}

func sgemm(m: Int, n: Int, k: Int, a: LeftOperand, b: RightOperand, c: UnsafeMutablePointer<Float>, ldc: Int,
           accumulate: Bool, threads: Int, kernel: GEMMKernel) {
    _ = heapSetUp
    guard m > 0, n > 0 else { return }
    guard k > 0 else {
        if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
        return
    }
    let byRows = (m + kernel.mr - 1) / kernel.mr >= (n + kernel.nr - 1) / kernel.nr
    let (length, unit) = byRows ? (m, kernel.mr) : (n, kernel.nr)
    // Whole micro-panels per thread; tiny products stay serial.
    let workers = max(1, min(threads, (length + unit - 1) / unit, 2 * m * n * k < 1 << 21 ? 1 : threads))
    if workers == 1 {
        gemmBlocked(m: m, n: n, k: k, a: a, b: b, c: c, ldc: ldc, accumulate: accumulate, kernel: kernel)
        return
    }
    if byRows, case .view(let view) = b, (1 << 19)...(1 << 26) ~= k * n {
        // Every band would pack all of B for itself: pack it once instead, each thread a share
        // of its panels. From 2 MB of B, where packing starts to count, up to 256 MB, a copy
        // that is always affordable.
        let nr = kernel.nr, panels = (n + nr - 1) / nr
        let packed = UnsafeMutablePointer<Float>.allocate(capacity: PackedPanels.capacity(rows: k, columns: n, width: nr))
        defer { packed.deallocate() }
        concurrentPerform(iterations: workers) { worker in
            let share = evenShare(worker, of: workers, panels)
            guard !share.isEmpty else { return }
            let first = share.lowerBound * nr
            packB(view, rows: 0, k, columns: first, min(n, share.upperBound * nr) - first, nr: nr, into: packed + first * k)
        }
        sgemm(m: m, n: n, k: k, a: a, b: .packed(PackedPanels(base: packed, rows: k, columns: n, width: nr)), c: c, ldc: ldc,
              accumulate: accumulate, threads: threads, kernel: kernel)
        return
    }
    let band = roundUp((length + workers - 1) / workers, unit)
    concurrentPerform(iterations: workers) { worker in
        let start = min(length, worker * band), count = min(length, start + band) - start
        guard count > 0 else { return }
        if byRows {
            gemmBlocked(m: count, n: n, k: k, a: a.rows(from: start), b: b, c: c + start * ldc, ldc: ldc,
                        accumulate: accumulate, kernel: kernel)
        } else {
            gemmBlocked(m: m, n: count, k: k, a: a, b: b.columns(from: start), c: c + start, ldc: ldc, accumulate: accumulate,
                        kernel: kernel)
        }
    }
}

/// The whole product on the calling thread.
func gemmBlocked(m: Int, n: Int, k: Int, a: LeftOperand, b: RightOperand, c: UnsafeMutablePointer<Float>, ldc: Int,
                 accumulate: Bool, kernel: GEMMKernel) {
    let (mr, nr, kc, mc, nc) = (kernel.mr, kernel.nr, kernel.kc, kernel.mc, kernel.nc)
    let isPacked = if case .packed = a { true } else { false }
    let isPackedB = if case .packed = b { true } else { false }
    let scratchA = UnsafeMutablePointer<Float>.allocate(capacity: isPacked ? 1 : roundUp(min(m, mc), mr) * min(k, kc))
    let packedB = UnsafeMutablePointer<Float>.allocate(capacity: isPackedB ? 1 : min(k, kc) * roundUp(min(n, nc), nr))
    let tile = UnsafeMutablePointer<Float>.allocate(capacity: mr * nr)
    defer { scratchA.deallocate(); packedB.deallocate(); tile.deallocate() }
    for ic in stride(from: 0, to: m, by: mc) {
        let mb = min(mc, m - ic)
        for pc in stride(from: 0, to: k, by: kc) {
            let kb = min(kc, k - pc)
            let add = accumulate || pc > 0
            let packedA: UnsafeMutablePointer<Float>, sliverStride: Int
            switch a {
            case .view(let view):
                packA(view, rows: ic, mb, columns: pc, kb, mr: mr, into: scratchA)
                (packedA, sliverStride) = (scratchA, kb * mr)
            case .packed(let packed, let firstRow):
                (packedA, sliverStride) = (packed.slivers(row: firstRow + ic, column: pc), k * mr)
            }
            for jc in stride(from: 0, to: n, by: nc) {
                let nb = min(nc, n - jc)
                let panels: UnsafeMutablePointer<Float>, panelStride: Int
                switch b {
                case .view(let view):
                    packB(view, rows: pc, kb, columns: jc, nb, nr: nr, into: packedB)
                    (panels, panelStride) = (packedB, kb * nr)
                case .packed(let packed):
                    (panels, panelStride) = (packed.base + jc / nr * packed.panelStride + pc * nr, packed.panelStride)
                }
                macroKernel(kernel, mb, nb, kb, packedA, sliverStride, panels, panelStride, c + ic * ldc + jc, ldc, add, tile: tile)
            }
        }
    }
}

@inline(__always) func roundUp(_ x: Int, _ multiple: Int) -> Int { (x + multiple - 1) / multiple * multiple }

/// B[pc..<pc+kb, jc..<jc+nb] as panels of nr columns: panel j holds, for each p, nr floats.
/// Columns past the edge are zero so the micro-kernel never branches.
@inline(__always)
func packB(_ b: MatrixView, rows pc: Int, _ kb: Int, columns jc: Int, _ nb: Int, nr: Int, into out: UnsafeMutablePointer<Float>) {
    var dst = out
    for j0 in stride(from: 0, to: nb, by: nr) {
        let width = min(nr, nb - j0)
        if b.columnStride == 1 && width == nr {
            for p in 0..<kb {
                copyShort(b.base + (pc + p) * b.rowStride + jc + j0, to: dst, count: nr)
                dst += nr
            }
        } else if b.rowStride == 1 && width == nr && nr % 8 == 0 {
            // Transposed B (a convolution's weight gradient): each column runs along p.
            packTransposed(b.base + pc + (jc + j0) * b.columnStride, lineStride: b.columnStride, lines: nr, length: kb, into: dst)
            dst += kb * nr
        } else {
            for p in 0..<kb {
                let row = b.base + (pc + p) * b.rowStride
                for j in 0..<nr { dst[j] = j < width ? row[(jc + j0 + j) * b.columnStride] : 0 }
                dst += nr
            }
        }
    }
}

/// A[ic..<ic+mb, pc..<pc+kb] as panels of mr rows: panel i holds, for each p, mr floats.
@inline(__always)
func packA(_ a: MatrixView, rows ic: Int, _ mb: Int, columns pc: Int, _ kb: Int, mr: Int, into out: UnsafeMutablePointer<Float>) {
    var dst = out
    for i0 in stride(from: 0, to: mb, by: mr) {
        let height = min(mr, mb - i0)
        if a.rowStride == 1 && height == mr {
            // Transposed A: the mr rows of one column are adjacent.
            for p in 0..<kb {
                copyShort(a.base + (ic + i0) + (pc + p) * a.columnStride, to: dst, count: mr)
                dst += mr
            }
        } else if a.columnStride == 1 && height == mr && mr % 4 == 0 {
            // Row-major A: each row runs along p.
            packTransposed(a.base + (ic + i0) * a.rowStride + pc, lineStride: a.rowStride, lines: mr, length: kb, into: dst)
            dst += kb * mr
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

/// A copy of a few dozen floats (a packed row, an image row, a 4×4 map) inline: memmove's
/// call costs as much as the copy at this size.
@inline(__always)
func copyShort(_ source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>, count: Int) {
    let from = UnsafeRawPointer(source), to = UnsafeMutableRawPointer(destination)
    var i = 0
    while i + 8 <= count { to.storeBytes(of: from.loadUnaligned(fromByteOffset: 4 * i, as: Lanes8.self), toByteOffset: 4 * i, as: Lanes8.self); i += 8 }
    while i < count { destination[i] = source[i]; i += 1 }
}

/// dst[p·lines + l] = line l's element p, for `lines` lines (a multiple of 4) each contiguous
/// along p and `lineStride` apart: the packing of the operand whose p axis is contiguous. Blocks
/// of 8 p are transposed in registers rather than gathered element by element.
@inline(__always)
func packTransposed(_ first: UnsafePointer<Float>, lineStride: Int, lines: Int, length: Int, into dst: UnsafeMutablePointer<Float>) {
    var p = 0
    while p + 8 <= length {
        var l = 0
        while l + 8 <= lines {
            transpose8x8(first + l * lineStride + p, lineStride: lineStride, into: dst + p * lines + l, stride: lines)
            l += 8
        }
        if l < lines { transpose4x8(first + l * lineStride + p, lineStride: lineStride, into: dst + p * lines + l, stride: lines) }
        p += 8
    }
    while p < length {
        for l in 0..<lines { dst[p * lines + l] = first[l * lineStride + p] }
        p += 1
    }
}

// Transposes by the perfect unshuffle: each stage sends the even lanes of rows 2i and 2i+1 to
// row i and the odd lanes to row i + rows/2, which rotates the bits of (row, lane) by one.
// After three stages the 3 lane bits lead: row q holds lane q of every input row. (Tuples,
// not arrays, so that everything stays in registers.)

@inline(__always)
func unshuffle(_ r: inout (Lanes8, Lanes8, Lanes8, Lanes8, Lanes8, Lanes8, Lanes8, Lanes8)) {
    let p0 = SIMD16(lowHalf: r.0, highHalf: r.1), p1 = SIMD16(lowHalf: r.2, highHalf: r.3)
    let p2 = SIMD16(lowHalf: r.4, highHalf: r.5), p3 = SIMD16(lowHalf: r.6, highHalf: r.7)
    r = (p0.evenHalf, p1.evenHalf, p2.evenHalf, p3.evenHalf, p0.oddHalf, p1.oddHalf, p2.oddHalf, p3.oddHalf)
}

@inline(__always)
func unshuffle(_ r: inout (Lanes8, Lanes8, Lanes8, Lanes8)) {
    let p0 = SIMD16(lowHalf: r.0, highHalf: r.1), p1 = SIMD16(lowHalf: r.2, highHalf: r.3)
    r = (p0.evenHalf, p1.evenHalf, p0.oddHalf, p1.oddHalf)
}

/// dst[q·stride + i] = line i's element q, for 8 lines and q in 0..<8.
@inline(__always)
func transpose8x8(_ src: UnsafePointer<Float>, lineStride: Int, into dst: UnsafeMutablePointer<Float>, stride: Int) {
    let raw = UnsafeRawPointer(src)
    @inline(__always) func line(_ i: Int) -> Lanes8 { raw.loadUnaligned(fromByteOffset: 4 * i * lineStride, as: Lanes8.self) }
    var r = (line(0), line(1), line(2), line(3), line(4), line(5), line(6), line(7))
    unshuffle(&r); unshuffle(&r); unshuffle(&r)
    let out = UnsafeMutableRawPointer(dst)
    @inline(__always) func store(_ v: Lanes8, _ q: Int) { out.storeBytes(of: v, toByteOffset: 4 * q * stride, as: Lanes8.self) }
    store(r.0, 0); store(r.1, 1); store(r.2, 2); store(r.3, 3); store(r.4, 4); store(r.5, 5); store(r.6, 6); store(r.7, 7)
}

/// The same for 4 lines: after the three stages row j holds element 2j of the 4 lines, then
/// element 2j + 1.
@inline(__always)
func transpose4x8(_ src: UnsafePointer<Float>, lineStride: Int, into dst: UnsafeMutablePointer<Float>, stride: Int) {
    let raw = UnsafeRawPointer(src)
    @inline(__always) func line(_ i: Int) -> Lanes8 { raw.loadUnaligned(fromByteOffset: 4 * i * lineStride, as: Lanes8.self) }
    var r = (line(0), line(1), line(2), line(3))
    unshuffle(&r); unshuffle(&r); unshuffle(&r)
    let out = UnsafeMutableRawPointer(dst)
    @inline(__always) func store(_ v: Lanes8, _ j: Int) {
        out.storeBytes(of: v.lowHalf, toByteOffset: 4 * 2 * j * stride, as: SIMD4<Float>.self)
        out.storeBytes(of: v.highHalf, toByteOffset: 4 * (2 * j + 1) * stride, as: SIMD4<Float>.self)
    }
    store(r.0, 0); store(r.1, 1); store(r.2, 2); store(r.3, 3)
}

@inline(__always)
func macroKernel(_ kernel: GEMMKernel, _ mb: Int, _ nb: Int, _ kb: Int, _ packedA: UnsafeMutablePointer<Float>, _ sliverStride: Int,
                 _ packedB: UnsafeMutablePointer<Float>, _ panelStride: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool,
                 tile: UnsafeMutablePointer<Float>) {
    let (mr, nr) = (kernel.mr, kernel.nr)
    // One sliver of A stays in L1 while the slivers of B stream past it from L2.
    for i0 in stride(from: 0, to: mb, by: mr) {
        let a = packedA + (i0 / mr) * sliverStride
        for j0 in stride(from: 0, to: nb, by: nr) {
            let b = packedB + (j0 / nr) * panelStride
            let rows = min(mr, mb - i0), columns = min(nr, nb - j0)
            if rows == mr && columns == nr {
                kernel.run(kb, a, b, c + i0 * ldc + j0, ldc, accumulate)
            } else {
                // Edge tile: compute the full tile into scratch, copy the part that exists.
                kernel.run(kb, a, b, tile, nr, false)
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

/// C[6×16] (+)= Σₚ a[p]·b[p] as 12 independent FMA chains.
@inline(never)
func microKernel6x16(_ kb: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
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
        c00 = c00.multiplyAdd(av, b0); c01 = c01.multiplyAdd(av, b1)
        av = SIMD8<Float>(repeating: pa[1])
        c10 = c10.multiplyAdd(av, b0); c11 = c11.multiplyAdd(av, b1)
        av = SIMD8<Float>(repeating: pa[2])
        c20 = c20.multiplyAdd(av, b0); c21 = c21.multiplyAdd(av, b1)
        av = SIMD8<Float>(repeating: pa[3])
        c30 = c30.multiplyAdd(av, b0); c31 = c31.multiplyAdd(av, b1)
        av = SIMD8<Float>(repeating: pa[4])
        c40 = c40.multiplyAdd(av, b0); c41 = c41.multiplyAdd(av, b1)
        av = SIMD8<Float>(repeating: pa[5])
        c50 = c50.multiplyAdd(av, b0); c51 = c51.multiplyAdd(av, b1)
        pa += 6
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
