import Dispatch
import Ops
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Elementwise work over operands read through strides (0 on broadcast axes). Axes that are
// contiguous for every operand are merged, then an odometer walks the outer axes and a tight
// loop runs along the innermost one: no division per element, SIMD where the strides allow.

/// Merges adjacent axes that are contiguous in every operand; drops axes of size 1.
func collapse(_ dims: [Int], _ strides: [[Int]]) -> (dims: [Int], strides: [[Int]]) {
    var outDims: [Int] = []
    var outStrides = [[Int]](repeating: [], count: strides.count)
    for axis in dims.indices where dims[axis] != 1 {
        // Axis joins the previous one when one step along the previous one is a full sweep
        // of this one, in every operand.
        if let last = outDims.last, (0..<strides.count).allSatisfy({ outStrides[$0].last! == strides[$0][axis] * dims[axis] }) {
            outDims[outDims.count - 1] = last * dims[axis]
            for k in strides.indices { outStrides[k][outStrides[k].count - 1] = strides[k][axis] }
        } else {
            outDims.append(dims[axis])
            for k in strides.indices { outStrides[k].append(strides[k][axis]) }
        }
    }
    if outDims.isEmpty { return ([1], strides.map { _ in [0] }) }
    return (outDims, outStrides)
}

/// Calls `row(offsets, count, innerStrides)` for every run along the innermost merged axis,
/// with each operand's offset at the start of the run. With `threads` > 1 and enough elements
/// to pay for a thread, the outermost merged axis is cut into one part per thread: for
/// operations whose runs write disjoint outputs.
@inline(__always)
func forEachRow(_ dims: [Int], _ strides: [[Int]], threads: Int = 1, _ row: (_ offsets: [Int], _ count: Int, _ inner: [Int]) -> Void) {
    let (d, s) = collapse(dims, strides)
    forEachRow(d, s, parts: partsFor(d, threads: threads)) { _, offsets, count, inner in row(offsets, count, inner) }
}

/// How many parts a walk over collapsed `d` is cut into on `threads` threads.
@inline(__always)
func partsFor(_ d: [Int], threads: Int) -> Int {
    max(1, min(threads, d[0], d.reduce(1, *) >= parallelElementwiseMinimum ? threads : 1))
}

/// The runs of collapsed `d`, `s`, cut along the outermost axis into `parts` parts run on
/// their own threads; `row` is told which part a run belongs to.
@inline(__always)
func forEachRow(_ d: [Int], _ s: [[Int]], parts: Int, _ row: (_ part: Int, _ offsets: [Int], _ count: Int, _ inner: [Int]) -> Void) {
    if parts <= 1 {
        walkRows(d, s, from: 0, to: d[0]) { row(0, $0, $1, $2) }
        return
    }
    concurrentPerform(iterations: parts) { part in
        let rows = evenShare(part, of: parts, d[0])
        walkRows(d, s, from: rows.lowerBound, to: rows.upperBound) { row(part, $0, $1, $2) }
    }
}

/// Below this many elements an elementwise op stays on one thread (waking a second costs
/// about as much as 64K additions).
let parallelElementwiseMinimum = 1 << 16

/// The runs whose outermost index lies in start..<end, in order (collapsed dims and strides).
@inline(__always)
func walkRows(_ d: [Int], _ s: [[Int]], from start: Int, to end: Int, _ row: (_ offsets: [Int], _ count: Int, _ inner: [Int]) -> Void) {
    let rank = d.count
    let inner = s.map { $0[rank - 1] }
    if rank == 1 {
        // One run: the part is a stretch of it.
        if end > start { row(s.map { $0[0] * start }, end - start, inner) }
        return
    }
    var index = [Int](repeating: 0, count: rank)
    index[0] = start
    var offsets = s.map { $0[0] * start }
    let rows = (end - start) * d.dropFirst().dropLast().reduce(1, *)
    for _ in 0..<rows {
        row(offsets, d[rank - 1], inner)
        // Advance the odometer over the outer axes.
        var axis = rank - 2
        while axis >= 0 {
            index[axis] += 1
            for k in s.indices { offsets[k] += s[k][axis] }
            if index[axis] < d[axis] { break }
            for k in s.indices { offsets[k] -= s[k][axis] * d[axis] }
            index[axis] = 0
            axis -= 1
        }
    }
}

/// out = a ∘ b over `dims`, operands through strides, out contiguous.
public func binary(_ op: BinaryOp, _ a: UnsafePointer<Float>, _ aStrides: [Int], _ b: UnsafePointer<Float>, _ bStrides: [Int],
                   _ out: UnsafeMutablePointer<Float>, dims: [Int], threads: Int = 1) {
    var outStrides = [Int](repeating: 1, count: dims.count)
    for axis in stride(from: dims.count - 2, through: 0, by: -1) { outStrides[axis] = outStrides[axis + 1] * dims[axis + 1] }
    forEachRow(dims, [aStrides, bStrides, outStrides], threads: threads) { offsets, n, inner in
        let (pa, pb, po) = (a + offsets[0], b + offsets[1], out + offsets[2])
        switch op {
        case .add: zipRow(pa, inner[0], pb, inner[1], po, n, +)
        case .sub: zipRow(pa, inner[0], pb, inner[1], po, n, -)
        case .mul: zipRow(pa, inner[0], pb, inner[1], po, n, *)
        case .div: zipRow(pa, inner[0], pb, inner[1], po, n, /)
        case .equal: scalarRow(pa, inner[0], pb, inner[1], po, n) { $0 == $1 ? 1 : 0 }
        case .notEqual: scalarRow(pa, inner[0], pb, inner[1], po, n) { $0 != $1 ? 1 : 0 }
        case .less: scalarRow(pa, inner[0], pb, inner[1], po, n) { $0 < $1 ? 1 : 0 }
        case .lessEqual: scalarRow(pa, inner[0], pb, inner[1], po, n) { $0 <= $1 ? 1 : 0 }
        case .greater: scalarRow(pa, inner[0], pb, inner[1], po, n) { $0 > $1 ? 1 : 0 }
        case .greaterEqual: scalarRow(pa, inner[0], pb, inner[1], po, n) { $0 >= $1 ? 1 : 0 }
        }
    }
}

/// One run of an arithmetic op, 8 lanes at a time where both operands step by 1 or 0.
@inline(__always)
func zipRow(_ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int, _ out: UnsafeMutablePointer<Float>, _ n: Int,
            _ f: (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>) {
    var i = 0
    if (sa == 1 || sa == 0) && (sb == 1 || sb == 0) {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b), ro = UnsafeMutableRawPointer(out)
        let va0 = SIMD8<Float>(repeating: a[0]), vb0 = SIMD8<Float>(repeating: b[0])
        while i + 8 <= n {
            let va = sa == 1 ? ra.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) : va0
            let vb = sb == 1 ? rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) : vb0
            ro.storeBytes(of: f(va, vb), toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
    }
    while i < n {
        out[i] = f(SIMD8(repeating: a[i * sa]), SIMD8(repeating: b[i * sb]))[0]
        i += 1
    }
}

@inline(__always)
func scalarRow(_ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int, _ out: UnsafeMutablePointer<Float>, _ n: Int,
               _ f: (Float, Float) -> Float) {
    for i in 0..<n { out[i] = f(a[i * sa], b[i * sb]) }
}

/// out = cond ≠ 0 ? a : b
public func select(_ cond: UnsafePointer<Float>, _ cStrides: [Int], _ a: UnsafePointer<Float>, _ aStrides: [Int],
                   _ b: UnsafePointer<Float>, _ bStrides: [Int], _ out: UnsafeMutablePointer<Float>, dims: [Int], threads: Int = 1) {
    var outStrides = [Int](repeating: 1, count: dims.count)
    for axis in stride(from: dims.count - 2, through: 0, by: -1) { outStrides[axis] = outStrides[axis + 1] * dims[axis + 1] }
    forEachRow(dims, [cStrides, aStrides, bStrides, outStrides], threads: threads) { o, n, s in
        let (pc, pa, pb, po) = (cond + o[0], a + o[1], b + o[2], out + o[3])
        for i in 0..<n { po[i] = pc[i * s[0]] != 0 ? pa[i * s[1]] : pb[i * s[2]] }
    }
}

/// out = x > 0 ? g : slope·g over `count` contiguous elements: (leaky) ReLU's backward.
public func leakyReluGrad(slope: Float, _ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                          count: Int, threads: Int = 1) {
    forEachRow([count], [[1], [1], [1]], threads: threads) { o, n, _ in
        zipRow(g + o[0], 1, x + o[1], 1, out + o[2], n) { gv, xv in (slope * gv).replacing(with: gv, where: xv .> 0) }
    }
}

/// destination[index] = source[index]: contiguous runs become memory copies.
public func copy(_ source: UnsafePointer<Float>, _ sourceStrides: [Int], _ destination: UnsafeMutablePointer<Float>,
                 _ destinationStrides: [Int], dims: [Int], threads: Int = 1) {
    forEachRow(dims, [sourceStrides, destinationStrides], threads: threads) { o, n, s in
        let (from, to) = (source + o[0], destination + o[1])
        if s[0] == 1 && s[1] == 1 { to.update(from: from, count: n) }
        else if s[0] == 0 { for i in 0..<n { to[i * s[1]] = from[0] } }
        else { for i in 0..<n { to[i * s[1]] = from[i * s[0]] } }
    }
}

/// y = f(x) elementwise over `count` contiguous elements.
public func unary(_ op: UnaryOp, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, threads: Int = 1) {
    forEachRow([count], [[1], [1]], threads: threads) { offsets, count, _ in
        unaryRun(op, x + offsets[0], y + offsets[1], count: count)
    }
}

func unaryRun(_ op: UnaryOp, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    switch op {
    case .neg: mapSIMD(x, y, count) { -$0 }
    case .relu: mapSIMD(x, y, count) { $0.replacing(with: 0, where: $0 .< 0) }
    case .leakyRelu(let slope): mapSIMD(x, y, count) { $0.replacing(with: slope * $0, where: .!($0 .> 0)) }
    case .abs: mapSIMD(x, y, count) { $0.replacing(with: -$0, where: $0 .< 0) }
    case .sqrt: mapSIMD(x, y, count) { $0.squareRoot() }
    case .pow(let p) where p == 2: mapSIMD(x, y, count) { $0 * $0 }
    case .exp: for i in 0..<count { y[i] = expf(x[i]) }
    case .log: for i in 0..<count { y[i] = logf(x[i]) }
    case .tanh: for i in 0..<count { y[i] = tanhf(x[i]) }
    case .sigmoid: for i in 0..<count { y[i] = 1 / (1 + expf(-x[i])) }
    case .sin: for i in 0..<count { y[i] = sinf(x[i]) }
    case .cos: for i in 0..<count { y[i] = cosf(x[i]) }
    case .sign: for i in 0..<count { y[i] = x[i] > 0 ? 1 : (x[i] < 0 ? -1 : 0) }
    case .pow(let p): for i in 0..<count { y[i] = powf(x[i], p) }
    }
}

@inline(__always)
func mapSIMD(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, _ f: (SIMD8<Float>) -> SIMD8<Float>) {
    let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
    var i = 0
    while i + 8 <= n {
        ry.storeBytes(of: f(rx.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)), toByteOffset: 4 * i, as: SIMD8<Float>.self)
        i += 8
    }
    while i < n { y[i] = f(SIMD8(repeating: x[i]))[0]; i += 1 }
}

/// Sums (or maxima) of `x` (contiguous, `dims`) over the axes marked in `reduced`, into `out`
/// (the kept axes, contiguous). Sums accumulate in Double. A large reduction is cut between
/// threads along its outermost merged axis; when that axis is reduced, each part accumulates
/// into its own buffer and the buffers are combined in order, so a thread count always gives
/// the same result.
public func reduce(_ op: ReduceOp, _ x: UnsafePointer<Float>, dims: [Int], reduced: [Bool], _ out: UnsafeMutablePointer<Float>,
                   threads: Int = 1) {
    let outCount = zip(dims, reduced).map { $1 ? 1 : $0 }.reduce(1, *)
    var inStrides = [Int](repeating: 1, count: dims.count)
    for axis in stride(from: dims.count - 2, through: 0, by: -1) { inStrides[axis] = inStrides[axis + 1] * dims[axis + 1] }
    var outStrides = [Int](repeating: 0, count: dims.count)
    var step = 1
    for axis in stride(from: dims.count - 1, through: 0, by: -1) where !reduced[axis] {
        outStrides[axis] = step
        step *= dims[axis]
    }
    let (d, s) = collapse(dims, [inStrides, outStrides])
    let parts = partsFor(d, threads: threads)
    let buffers = s[1][0] == 0 ? parts : 1
    if op == .max {
        let maxima = buffers == 1 ? out : .allocate(capacity: buffers * outCount)
        defer { if buffers > 1 { maxima.deallocate() } }
        maxima.update(repeating: -.infinity, count: buffers * outCount)
        // NaN wins; otherwise the first of equal maxima stays (−0 before +0).
        @inline(__always) func keepMax(_ v: Float, _ m: inout Float) { if !m.isNaN && (v.isNaN || v > m) { m = v } }
        forEachRow(d, s, parts: parts) { part, o, n, inner in
            let (from, to) = (x + o[0], maxima + (buffers > 1 ? part * outCount : 0) + o[1])
            for i in 0..<n { keepMax(from[i], &to[i * inner[1]]) }
        }
        if buffers > 1 {
            out.update(from: maxima, count: outCount)
            for part in 1..<buffers { for j in 0..<outCount { keepMax(maxima[part * outCount + j], &out[j]) } }
        }
        return
    }
    let sums = UnsafeMutablePointer<Double>.allocate(capacity: max(buffers * outCount, 1))
    defer { sums.deallocate() }
    sums.update(repeating: 0, count: buffers * outCount)
    forEachRow(d, s, parts: parts) { part, o, n, inner in
        let from = x + o[0], to = sums + (buffers > 1 ? part * outCount : 0) + o[1]
        if inner[1] == 0 {
            // The run is reduced: sum it into one element (8 lanes of Float, combined in Double
            // every 64 elements so long rows keep Double accuracy).
            var total = 0.0, i = 0
            let raw = UnsafeRawPointer(from)
            while i + 64 <= n {
                var lanes = SIMD8<Float>()
                for k in stride(from: 0, to: 64, by: 8) { lanes += raw.loadUnaligned(fromByteOffset: 4 * (i + k), as: SIMD8<Float>.self) }
                total += Double(lanes.sum())
                i += 64
            }
            while i < n { total += Double(from[i]); i += 1 }
            to[0] += total
        } else {
            for i in 0..<n { to[i * inner[1]] += Double(from[i]) }
        }
    }
    for part in 1..<max(buffers, 1) { for j in 0..<outCount { sums[j] += sums[part * outCount + j] } }
    for j in 0..<outCount { out[j] = Float(sums[j]) }
}
