import Dispatch
import Ops
import Synchronization

extension ConvDims {
    /// A 1×1 kernel with stride 1 and no padding reads the input as its own column matrix.
    var isPointwise: Bool { kernelH == 1 && kernelW == 1 && stride.h == 1 && stride.w == 1 && padding.h == 0 && padding.w == 0 }
}

/// Unfolds one image [C, H, W] into the column matrix [C·kh·kw, outH·outW]:
/// column (oy, ox) holds the input patch that output pixel sees, zeros in the padding. Each
/// output row of a tap is a run of a zero-padded copy of the image, read without bounds
/// checks (with stride 2, by vectors of even lanes).
func im2col(_ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, _ s: ConvDims) {
    im2col(x, into: .rowMajor(col, ld: s.pixels), s)
}

func im2col(_ x: UnsafePointer<Float>, into col: ColumnLayout, _ s: ConvDims) {
    withPaddedGroup(x, first: 0, count: 1, s, threads: 1) { padded in gatherRows(padded, channels: 0..<s.inChannels, into: col, s) }
}

/// The adjoint of im2col: adds each column entry back onto the input pixel it came from, in a
/// zero-padded image that is then cropped.
func col2im(_ col: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>, _ s: ConvDims) {
    withPaddedImages(s, count: 1) { padded in
        padded.base.update(repeating: 0, count: s.inChannels * padded.planeSize)
        addRows(col, ld: s.pixels, channels: 0..<s.inChannels, into: padded, s)
        crop(padded, image: 0, into: x, s)
    }
}

/// Zero-padded copies of `count` images, channel-major: [C, count, H + 2·padH, W + 2·padW]. A
/// thread that handles channel c of every image works in one contiguous block, which it can
/// zero and fill while the block is in L1, instead of a plane in each image, an image apart.
struct PaddedImages: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>, count: Int
    /// One plane's geometry.
    let planes: PaddedPlanes
    /// The distance between the first pixels of two output rows.
    let rowStride: Int

    var planeSize: Int { planes.planeSize }

    /// Image i's plane of channel c.
    func plane(_ i: Int, _ c: Int) -> UnsafeMutablePointer<Float> { base + (c * count + i) * planeSize }
    /// Channel c's planes of every image, side by side.
    var channelBlock: Int { count * planeSize }
}

/// Scratch for the strided paths and for groups of images.
func withPaddedImages(_ s: ConvDims, count: Int, _ body: (PaddedImages) -> Void) {
    let paddedWidth = s.width + 2 * s.padding.w
    // The stride-2 vectors read, and add zero to, one float past the last they use. Each plane
    // has that float of its own: past a plane's last pixel lies the next plane, which in a group
    // belongs to another channel, so another thread may be adding into it.
    let planes = PaddedPlanes(rows: s.height + 2 * s.padding.h, rowStride: paddedWidth, spare: 1)
    let size = count * s.inChannels * planes.planeSize
    let padded = UnsafeMutablePointer<Float>.allocate(capacity: max(size, 1))
    defer { padded.deallocate() }
    body(PaddedImages(base: padded, count: count, planes: planes, rowStride: s.stride.h * paddedWidth))
}

/// Images first..<first + count of x, zero-padded (in parallel), for `body`.
func withPaddedGroup(_ x: UnsafePointer<Float>, first: Int, count: Int, _ s: ConvDims, threads: Int,
                     _ body: (PaddedImages) -> Void) {
    withPaddedImages(s, count: count) { padded in
        concurrentPerform(iterations: count, threads: threads) { i in pad(x + (first + i) * s.inputSize, into: padded, image: i, s) }
        body(padded)
    }
}

/// Where a column matrix's element (row, column) goes: row-major (one panel as wide as the
/// matrix), or in the GEMM's packed panels, so that the product need not copy it again.
struct ColumnLayout: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
    let panelWidth: Int, rowStride: Int, panelStride: Int

    static func rowMajor(_ base: UnsafeMutablePointer<Float>, ld: Int) -> ColumnLayout {
        ColumnLayout(base: base, panelWidth: Int.max, rowStride: ld, panelStride: 0)
    }
    static func panels(_ panels: PackedPanels) -> ColumnLayout {
        ColumnLayout(base: panels.base, panelWidth: panels.width, rowStride: panels.width, panelStride: panels.panelStride)
    }

    /// Where (0, column) is, relative to base; (row, column) is row·rowStride further on.
    func offset(column: Int) -> Int { column / panelWidth * panelStride + column % panelWidth }

    /// Whether gatherRows can write images of this shape in panels `width` wide: each image in
    /// one panel, or filling whole panels with whole output rows.
    static func holds(_ s: ConvDims, width: Int) -> Bool {
        width % s.pixels == 0 || (s.pixels % width == 0 && width % s.outW == 0)
    }
}

/// The column matrix's rows for `channels`, from padded images: row (c, ky, kx) holds image i's
/// outputs from column i·pixels on. In panels, an image lies in one panel, or (8×8 maps and
/// larger) fills whole panels, each holding width / outW of its output rows (see
/// `ColumnLayout.holds`). A thread fills whole rows, writing each row's memory once and in
/// order, where filling image by image wrote 64 bytes into each of thousands of rows (4×4 maps).
func gatherRows(_ padded: PaddedImages, channels: Range<Int>, into col: ColumnLayout, _ s: ConvDims) {
    let images = (0..<padded.count).map { col.offset(column: $0 * s.pixels) }
    var part = s
    part.outH = col.panelWidth >= s.pixels ? s.outH : col.panelWidth / s.outW
    let parts = s.outH / part.outH
    for c in channels {
        for ky in 0..<s.kernelH {
            for kx in 0..<s.kernelW {
                let row = col.base + ((c * s.kernelH + ky) * s.kernelW + kx) * col.rowStride
                for i in 0..<padded.count {
                    let tap = padded.plane(i, c) + tapOffset(ky: ky, kx: kx, s)
                    for q in 0..<parts {
                        gatherTap(tap + q * part.outH * padded.rowStride, rowStride: padded.rowStride, part,
                                  into: row + images[i] + q * col.panelStride)
                    }
                }
            }
        }
    }
}

/// The adjoint of gatherRows: adds the rows for `channels` back into the padded images.
func addRows(_ col: UnsafePointer<Float>, ld: Int, channels: Range<Int>, into padded: PaddedImages, _ s: ConvDims) {
    for c in channels {
        for ky in 0..<s.kernelH {
            for kx in 0..<s.kernelW {
                let row = col + ((c * s.kernelH + ky) * s.kernelW + kx) * ld
                for i in 0..<padded.count {
                    addTap(row + i * s.pixels, into: padded.plane(i, c) + tapOffset(ky: ky, kx: kx, s), rowStride: padded.rowStride, s)
                }
            }
        }
    }
}

/// One tap of one image: its outH output rows, `rowStride` apart in the padded image, side by
/// side in the column matrix's row. Maps 4 wide at stride 2 store two rows per 8-float vector:
/// a run of 4 alone costs more in loop than in data.
@inline(__always)
func gatherTap(_ source: UnsafePointer<Float>, rowStride: Int, _ s: ConvDims, into destination: UnsafeMutablePointer<Float>) {
    var oy = 0
    if s.stride.w == 2 && s.outW == 4 {
        let from = UnsafeRawPointer(source), to = UnsafeMutableRawPointer(destination)
        @inline(__always) func row(_ y: Int) -> SIMD4<Float> { from.loadUnaligned(fromByteOffset: 4 * y * rowStride, as: Lanes8.self).evenHalf }
        while oy + 2 <= s.outH {
            to.storeBytes(of: Lanes8(lowHalf: row(oy), highHalf: row(oy + 1)), toByteOffset: 16 * oy, as: Lanes8.self)
            oy += 2
        }
    }
    while oy < s.outH {
        gatherRun(source + oy * rowStride, stride: s.stride.w, count: s.outW, into: destination + oy * s.outW)
        oy += 1
    }
}

/// The adjoint of gatherTap: adds one tap's output rows back into the padded image.
@inline(__always)
func addTap(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, rowStride: Int, _ s: ConvDims) {
    var oy = 0
    if s.stride.w == 2 && s.outW == 4 {
        let from = UnsafeRawPointer(source), to = UnsafeMutableRawPointer(destination)
        @inline(__always) func add(_ v: SIMD4<Float>, _ y: Int) {
            to.storeBytes(of: to.loadUnaligned(fromByteOffset: 4 * y * rowStride, as: Lanes8.self) + spreadEven(v), toByteOffset: 4 * y * rowStride, as: Lanes8.self)
        }
        while oy + 2 <= s.outH {
            let pair = from.loadUnaligned(fromByteOffset: 16 * oy, as: Lanes8.self)
            add(pair.lowHalf, oy); add(pair.highHalf, oy + 1)
            oy += 2
        }
    }
    while oy < s.outH {
        addRun(source + oy * s.outW, count: s.outW, into: destination + oy * rowStride, stride: s.stride.w)
        oy += 1
    }
}

/// destination[i] = source[i·stride] for i in 0..<count. Stride 2 (the usual downsampling)
/// takes the even lanes of 16-float loads: 8 outputs per load instead of 8 loads.
@inline(__always)
func gatherRun(_ source: UnsafePointer<Float>, stride: Int, count: Int, into destination: UnsafeMutablePointer<Float>) {
    if stride == 1 { copyShort(source, to: destination, count: count); return }
    var i = 0
    if stride == 2 {
        let from = UnsafeRawPointer(source), to = UnsafeMutableRawPointer(destination)
        while i + 8 <= count {
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: 8 * i, as: SIMD16<Float>.self).evenHalf, toByteOffset: 4 * i, as: Lanes8.self)
            i += 8
        }
        if i + 4 <= count {
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: 8 * i, as: Lanes8.self).evenHalf, toByteOffset: 4 * i, as: SIMD4<Float>.self)
            i += 4
        }
    }
    while i < count { destination[i] = source[i * stride]; i += 1 }
}

/// v in the even lanes of 8, zeros between: one vpmovzxdq.
@inline(__always)
func spreadEven(_ v: SIMD4<Float>) -> Lanes8 { Lanes8(v[0], 0, v[1], 0, v[2], 0, v[3], 0) }

/// destination[i·stride] += source[i] for i in 0..<count, the adjoint of gatherRun. Stride 2
/// adds the source spread over the even lanes (spreadEven).
@inline(__always)
func addRun(_ source: UnsafePointer<Float>, count: Int, into destination: UnsafeMutablePointer<Float>, stride: Int) {
    var i = 0
    let from = UnsafeRawPointer(source), to = UnsafeMutableRawPointer(destination)
    if stride == 1 {
        while i + 8 <= count {
            let sum = to.loadUnaligned(fromByteOffset: 4 * i, as: Lanes8.self) + from.loadUnaligned(fromByteOffset: 4 * i, as: Lanes8.self)
            to.storeBytes(of: sum, toByteOffset: 4 * i, as: Lanes8.self)
            i += 8
        }
    } else if stride == 2 {
        while i + 4 <= count {
            let v = from.loadUnaligned(fromByteOffset: 4 * i, as: SIMD4<Float>.self)
            to.storeBytes(of: to.loadUnaligned(fromByteOffset: 8 * i, as: Lanes8.self) + spreadEven(v), toByteOffset: 8 * i, as: Lanes8.self)
            i += 4
        }
    }
    while i < count { destination[i * stride] += source[i]; i += 1 }
}

/// Where kernel tap (ky, kx) of the patch at output (0, 0) sits in a padded plane.
@inline(__always)
func tapOffset(ky: Int, kx: Int, _ s: ConvDims) -> Int {
    ky * s.dilation.h * (s.width + 2 * s.padding.w) + kx * s.dilation.w
}

/// One image's planes, zero-padded: `top` rows and `left` columns before the data, zeros after
/// it up to `rows` × `rowStride`, and `spare` zeros after the last row.
struct PaddedPlanes {
    let rows: Int, rowStride: Int, planeSize: Int

    init(rows: Int, rowStride: Int, spare: Int = 0) {
        (self.rows, self.rowStride, planeSize) = (rows, rowStride, rows * rowStride + spare)
    }

    /// Zeros, then the image's rows, planes `planeStride` apart (default: side by side): one
    /// memset of a plane or more is cheaper than zeroing each row's pixel or two of padding
    /// either side, a call per row for a few floats.
    func fill(_ from: UnsafePointer<Float>, channels: Int, height: Int, width: Int, top: Int, left: Int,
              into padded: UnsafeMutablePointer<Float>, planeStride: Int? = nil) {
        let planeStride = planeStride ?? planeSize
        if planeStride == planeSize { padded.update(repeating: 0, count: channels * planeSize) }
        for c in 0..<channels {
            let plane = padded + c * planeStride
            if planeStride != planeSize { plane.update(repeating: 0, count: planeSize) }
            for y in 0..<height { copyShort(from + (c * height + y) * width, to: plane + (top + y) * rowStride + left, count: width) }
        }
    }
}

/// Image i of `padded`: x with its padding.
func pad(_ x: UnsafePointer<Float>, into padded: PaddedImages, image i: Int, _ s: ConvDims) {
    padded.planes.fill(x, channels: s.inChannels, height: s.height, width: s.width, top: s.padding.h, left: s.padding.w,
                       into: padded.plane(i, 0), planeStride: padded.channelBlock)
}

func crop(_ padded: PaddedImages, image i: Int, into x: UnsafeMutablePointer<Float>, _ s: ConvDims) {
    let paddedWidth = padded.planes.rowStride
    for c in 0..<s.inChannels {
        let interior = padded.plane(i, c) + s.padding.h * paddedWidth + s.padding.w
        for y in 0..<s.height { copyShort(interior + y * paddedWidth, to: x + (c * s.height + y) * s.width, count: s.width) }
    }
}

/// Splits the images of a batch between threads in groups of `size`; each worker gets its own
/// scratch buffer and runs a group start to finish (columns, product, output) on its own, so
/// a group's data stays in its core's L2. With fewer groups than threads, the work inside a
/// group is threaded instead (`innerThreads`).
/// `claimed`: each worker takes the next group not yet taken, so a thread that starts late or
/// runs slow (a VM's core) does fewer; for work whose result does not depend on which worker
/// did a group. Otherwise worker w does groups w, w + workers, …, always the same ones: work
/// that sums into a worker's own buffer needs that, or its result would change from run to run.
func forEachGroup(_ s: ConvDims, size: Int, threads: Int, scratch: Int, claimed: Bool = true,
                  _ body: (_ worker: Int, _ first: Int, _ count: Int, _ scratch: UnsafeMutablePointer<Float>, _ innerThreads: Int) -> Void) {
    _ = heapSetUp
    let groups = (s.batch + size - 1) / size, workers = groupWorkers(s, size: size, threads: threads)
    let innerThreads = groups < threads ? threads : 1
    let buffers = (0..<workers).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: max(scratch, 1)) }
    defer { buffers.forEach { $0.deallocate() } }
    let next = Atomic<Int>(0)
    func run(_ worker: Int, _ group: Int) {
        body(worker, group * size, min(size, s.batch - group * size), buffers[worker], innerThreads)
    }
    concurrentPerform(iterations: workers) { worker in
        if claimed {
            while case let group = next.add(1, ordering: .relaxed).oldValue, group < groups { run(worker, group) }
        } else {
            for group in stride(from: worker, to: groups, by: workers) { run(worker, group) }
        }
    }
}

/// How many workers forEachGroup uses (and so how many per-worker sums a weight gradient needs).
func groupWorkers(_ s: ConvDims, size: Int, threads: Int) -> Int { max(1, min(threads, (s.batch + size - 1) / size)) }

/// forEachGroup one image at a time.
func forEachImage(_ s: ConvDims, threads: Int, scratch: Int, claimed: Bool = true,
                  _ body: (_ worker: Int, _ image: Int, _ scratch: UnsafeMutablePointer<Float>, _ gemmThreads: Int) -> Void) {
    forEachGroup(s, size: 1, threads: threads, scratch: scratch, claimed: claimed) { worker, image, _, scratch, gemmThreads in
        body(worker, image, scratch, gemmThreads)
    }
}

// Small feature maps make small per-image products (the weight gradient of a 4×4 output has
// k = 16, of an 8×8 output k = 64). Such images are processed in groups that share one column
// matrix [patch, g·pixels], so that each product is wide (or deep) enough for the micro-kernel:
// the forward pass and the input gradient of maps up to 4×4, and every weight gradient, whose
// per-image product adds a k of only `pixels` into dw each time.

/// Images per group: as many as keep a group's column matrix near 1 MB (256K floats), which
/// stays in the worker's L2 beside the product's other operands, and at most a batch's share
/// per thread; the groups are then evened out, so that every worker gets as many images (a
/// weight gradient deals groups to workers in a fixed order). One product over the whole
/// batch, threaded inside, would send the batch's whole column matrix through memory instead.
func groupSize(_ s: ConvDims, threads: Int) -> Int {
    let share = (s.batch + threads - 1) / max(threads, 1)
    let most = max(1, min(share, (256 << 10) / max(s.patch * s.pixels, 1)))
    let groupsPerWorker = max(1, (share + most - 1) / most)
    return max(1, (share + groupsPerWorker - 1) / groupsPerWorker)
}

/// Columns of `count` images side by side: image i's columns start at i·pixels. The images are
/// padded in parallel, then each thread fills the rows of its channels.
func groupColumns(_ x: UnsafePointer<Float>, first: Int, count: Int, _ col: UnsafeMutablePointer<Float>, _ s: ConvDims, threads: Int) {
    groupColumns(x, first: first, count: count, into: .rowMajor(col, ld: count * s.pixels), s, threads: threads)
}

/// The same straight into a product's packed panels.
func groupColumns(_ x: UnsafePointer<Float>, first: Int, count: Int, into panels: PackedPanels, _ s: ConvDims, threads: Int) {
    groupColumns(x, first: first, count: count, into: .panels(panels), s, threads: threads)
    panels.zeroPastLastColumn()
}

func groupColumns(_ x: UnsafePointer<Float>, first: Int, count: Int, into col: ColumnLayout, _ s: ConvDims, threads: Int) {
    withPaddedGroup(x, first: first, count: count, s, threads: threads) { padded in
        concurrentPerform(iterations: s.inChannels, threads: threads) { c in gatherRows(padded, channels: c..<c + 1, into: col, s) }
    }
}

/// The transposed column matrix of `count` images, straight into a product's packed panels, for
/// the weight gradient (whose B is colᵀ): row j = i·pixels + pixel holds that pixel's patch. With
/// a kernel 4 wide and no dilation along x, one channel's taps at a pixel are the kernel's kh
/// rows of 4 adjacent padded pixels, which go out as 4·kh adjacent floats; a panel holds
/// width / (4·kh) channels.
func groupColumnsTransposed(_ x: UnsafePointer<Float>, first: Int, count: Int, into panels: PackedPanels, _ s: ConvDims,
                            threads: Int) {
    let taps = s.kernelH * s.kernelW, channelsPerPanel = panels.width / taps
    withPaddedGroup(x, first: first, count: count, s, threads: threads) { padded in
        concurrentPerform(iterations: (s.inChannels + channelsPerPanel - 1) / channelsPerPanel, threads: threads) { panel in
            let channels = panel * channelsPerPanel..<min(s.inChannels, (panel + 1) * channelsPerPanel)
            for c in channels {
                let lane = panels.base + panel * panels.panelStride + (c - channels.lowerBound) * taps
                for i in 0..<count {
                    let plane = padded.plane(i, c)
                    for oy in 0..<s.outH {
                        for ox in 0..<s.outW {
                            let window = UnsafeRawPointer(plane + oy * padded.rowStride + ox * s.stride.w)
                            let out = UnsafeMutableRawPointer(lane + (i * s.pixels + oy * s.outW + ox) * panels.width)
                            for ky in 0..<s.kernelH {
                                out.storeBytes(of: window.loadUnaligned(fromByteOffset: 4 * tapOffset(ky: ky, kx: 0, s), as: SIMD4<Float>.self),
                                               toByteOffset: 16 * ky, as: SIMD4<Float>.self)
                            }
                        }
                    }
                }
            }
        }
    }
    panels.zeroPastLastColumn()
}

/// The adjoint of groupColumns: each thread adds the rows of its channels into the padded
/// images, then the images are cropped in parallel.
func ungroupColumns(_ col: UnsafePointer<Float>, first: Int, count: Int, into x: UnsafeMutablePointer<Float>, _ s: ConvDims,
                    bias: UnsafePointer<Float>?, threads: Int) {
    withPaddedImages(s, count: count) { padded in
        concurrentPerform(iterations: s.inChannels, threads: threads) { c in
            padded.plane(0, c).update(repeating: 0, count: padded.channelBlock)
            addRows(col, ld: count * s.pixels, channels: c..<c + 1, into: padded, s)
        }
        concurrentPerform(iterations: count, threads: threads) { i in
            let image = x + (first + i) * s.inputSize
            crop(padded, image: i, into: image, s)
            addBias(bias, to: image, channels: s.inChannels, pixels: s.height * s.width)
        }
    }
}

/// planes[c] += bias[c] for each of `channels` planes of `pixels` floats, when there is a bias:
/// a convolution's bias, added to each image while it is still in cache.
@inline(__always)
func addBias(_ bias: UnsafePointer<Float>?, to planes: UnsafeMutablePointer<Float>, channels: Int, pixels: Int) {
    guard let bias else { return }
    for c in 0..<channels {
        let plane = UnsafeMutableRawPointer(planes + c * pixels), b = Lanes8(repeating: bias[c])
        var i = 0
        while i + 8 <= pixels {
            plane.storeBytes(of: plane.loadUnaligned(fromByteOffset: 4 * i, as: Lanes8.self) + b, toByteOffset: 4 * i, as: Lanes8.self)
            i += 8
        }
        while i < pixels { planes[c * pixels + i] += bias[c]; i += 1 }
    }
}

/// [n][channel][pixel] ⇄ [channel][image·pixels + pixel] for a group of images.
func gather(_ y: UnsafePointer<Float>, first: Int, count: Int, channels: Int, pixels: Int, into out: UnsafeMutablePointer<Float>) {
    for i in 0..<count {
        for c in 0..<channels {
            copyShort(y + ((first + i) * channels + c) * pixels, to: out + c * count * pixels + i * pixels, count: pixels)
        }
    }
}

func scatter(_ grouped: UnsafePointer<Float>, first: Int, count: Int, channels: Int, pixels: Int, into y: UnsafeMutablePointer<Float>) {
    for i in 0..<count {
        for c in 0..<channels {
            copyShort(grouped + c * count * pixels + i * pixels, to: y + ((first + i) * channels + c) * pixels, count: pixels)
        }
    }
}

/// y[n] = W · im2col(x[n]) (+ bias[o] on channel o)
public func convolutionForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                               _ s: ConvDims, bias: UnsafePointer<Float>? = nil, threads: Int) {
    if s.isDirect { directForward(x, w, y, s, bias: bias, threads: threads); return }
    let weight = PackedMatrix(MatrixView(base: w, rows: s.outChannels, columns: s.patch, transposed: false),
                              rows: s.outChannels, columns: s.patch, threads: threads)
    // Maps larger than 4×4 go one image at a time: an image's own product is wide enough.
    let g = s.pixels <= 16 ? groupSize(s, threads: threads) : 1, width = weight.kernel.nr
    if g > 1 {
        // The columns go straight into the product's panels where they fit them.
        let inPanels = ColumnLayout.holds(s, width: width)
        let columns = inPanels ? PackedPanels.capacity(rows: s.patch, columns: g * s.pixels, width: width) : s.patch * g * s.pixels
        forEachGroup(s, size: g, threads: threads, scratch: columns + s.outChannels * g * s.pixels) { _, first, count, col, inner in
            let out = col + columns
            if inPanels {
                let panels = PackedPanels(base: col, rows: s.patch, columns: count * s.pixels, width: width)
                groupColumns(x, first: first, count: count, into: panels, s, threads: inner)
                sgemm(a: weight, b: panels, c: out, ldc: count * s.pixels, threads: inner)
            } else {
                groupColumns(x, first: first, count: count, col, s, threads: inner)
                sgemm(a: weight, n: count * s.pixels,
                      b: MatrixView(base: col, rows: s.patch, columns: count * s.pixels, transposed: false),
                      c: out, ldc: count * s.pixels, threads: inner)
            }
            addBias(bias, to: out, channels: s.outChannels, pixels: count * s.pixels)
            scatter(out, first: first, count: count, channels: s.outChannels, pixels: s.pixels, into: y)
        }
        return
    }
    // An image's columns fill whole panels (8×8 maps and larger): written there, they spare
    // the product packing them.
    let inPanels = !s.isPointwise && s.pixels % width == 0 && ColumnLayout.holds(s, width: width)
    forEachImage(s, threads: threads, scratch: s.isPointwise ? 0 : s.patch * s.pixels) { _, n, col, gemmThreads in
        let input = x + n * s.inputSize, output = y + n * s.outputSize
        if inPanels {
            let panels = PackedPanels(base: col, rows: s.patch, columns: s.pixels, width: width)
            im2col(input, into: .panels(panels), s)
            sgemm(a: weight, b: panels, c: output, ldc: s.pixels, threads: gemmThreads)
        } else {
            if !s.isPointwise { im2col(input, col, s) }
            let columns = s.isPointwise ? input : UnsafePointer(col)
            sgemm(a: weight, n: s.pixels, b: MatrixView(base: columns, rows: s.patch, columns: s.pixels, transposed: false),
                  c: output, ldc: s.pixels, threads: gemmThreads)
        }
        addBias(bias, to: output, channels: s.outChannels, pixels: s.pixels)
    }
}

/// dx[n] = col2im(Wᵀ · dy[n]) (+ bias[c] on channel c): also the forward pass of a transposed
/// convolution, whose bias that is.
public func convolutionInputGrad(_ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                                 _ s: ConvDims, bias: UnsafePointer<Float>? = nil, threads: Int) {
    if s.isDirect { directInputGrad(dy, w, dx, s, bias: bias, threads: threads); return }
    let weightT = PackedMatrix(MatrixView(base: w, rows: s.patch, columns: s.outChannels, transposed: true),
                               rows: s.patch, columns: s.outChannels, threads: threads)
    let g = s.pixels <= 16 ? groupSize(s, threads: threads) : 1
    if g > 1 {
        let columns = s.patch * g * s.pixels
        forEachGroup(s, size: g, threads: threads, scratch: columns + s.outChannels * g * s.pixels) { _, first, count, col, inner in
            let grouped = col + columns
            gather(dy, first: first, count: count, channels: s.outChannels, pixels: s.pixels, into: grouped)
            sgemm(a: weightT, n: count * s.pixels,
                  b: MatrixView(base: grouped, rows: s.outChannels, columns: count * s.pixels, transposed: false),
                  c: col, ldc: count * s.pixels, threads: inner)
            ungroupColumns(col, first: first, count: count, into: dx, s, bias: bias, threads: inner)
        }
        return
    }
    forEachImage(s, threads: threads, scratch: s.isPointwise ? 0 : s.patch * s.pixels) { _, n, col, gemmThreads in
        let target = s.isPointwise ? dx + n * s.inputSize : col
        sgemm(a: weightT, n: s.pixels,
              b: MatrixView(base: dy + n * s.outputSize, rows: s.outChannels, columns: s.pixels, transposed: false),
              c: target, ldc: s.pixels, threads: gemmThreads)
        if !s.isPointwise { col2im(col, dx + n * s.inputSize, s) }
        addBias(bias, to: dx + n * s.inputSize, channels: s.inChannels, pixels: s.height * s.width)
    }
}

/// dw = Σₙ dy[n] · im2col(x[n])ᵀ, each worker summing its images into its own buffer first.
public func convolutionWeightGrad(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
                                  _ s: ConvDims, threads: Int) {
    if s.isDirect { directWeightGrad(x, dy, dw, s, threads: threads); return }
    let weightSize = s.outChannels * s.patch, g = groupSize(s, threads: threads), nr = GEMMKernel.best.nr
    // Worker 0 sums into dw itself, the others into buffers of their own, added at the end.
    let workers = groupWorkers(s, size: g, threads: threads)
    let others = UnsafeMutablePointer<Float>.allocate(capacity: max(1, (workers - 1) * weightSize))
    defer { others.deallocate() }
    dw.update(repeating: 0, count: weightSize)
    others.update(repeating: 0, count: (workers - 1) * weightSize)
    func sums(_ worker: Int) -> UnsafeMutablePointer<Float> { worker == 0 ? dw : others + (worker - 1) * weightSize }
    if g > 1 {
        // colᵀ straight into the product's panels when a channel's taps fit them (see groupColumnsTransposed).
        let inPanels = s.kernelW == 4 && s.dilation.w == 1 && nr % (s.kernelH * 4) == 0
        let columns = inPanels ? PackedPanels.capacity(rows: g * s.pixels, columns: s.patch, width: nr) : s.patch * g * s.pixels
        forEachGroup(s, size: g, threads: threads, scratch: columns + s.outChannels * g * s.pixels, claimed: false) { worker, first, count, col, inner in
            let grouped = col + columns
            gather(dy, first: first, count: count, channels: s.outChannels, pixels: s.pixels, into: grouped)
            let a = MatrixView(base: grouped, rows: s.outChannels, columns: count * s.pixels, transposed: false)
            if inPanels {
                let panels = PackedPanels(base: col, rows: count * s.pixels, columns: s.patch, width: nr)
                groupColumnsTransposed(x, first: first, count: count, into: panels, s, threads: inner)
                sgemm(m: s.outChannels, n: s.patch, k: count * s.pixels, a: .view(a), b: .packed(panels), c: sums(worker),
                      ldc: s.patch, accumulate: true, threads: inner, kernel: .best)
            } else {
                groupColumns(x, first: first, count: count, col, s, threads: inner)
                sgemm(m: s.outChannels, n: s.patch, k: count * s.pixels, a: a,
                      b: MatrixView(base: col, rows: count * s.pixels, columns: s.patch, transposed: true),
                      c: sums(worker), ldc: s.patch, accumulate: true, threads: inner)
            }
        }
    } else {
        forEachImage(s, threads: threads, scratch: s.isPointwise ? 0 : s.patch * s.pixels, claimed: false) { worker, n, col, gemmThreads in
            let input = x + n * s.inputSize
            if !s.isPointwise { im2col(input, col, s) }
            let columns = s.isPointwise ? input : UnsafePointer(col)
            sgemm(m: s.outChannels, n: s.patch, k: s.pixels,
                  a: MatrixView(base: dy + n * s.outputSize, rows: s.outChannels, columns: s.pixels, transposed: false),
                  b: MatrixView(base: columns, rows: s.pixels, columns: s.patch, transposed: true),
                  c: sums(worker), ldc: s.patch, accumulate: true, threads: gemmThreads)
        }
    }
    for worker in 1..<workers {
        let source = others + (worker - 1) * weightSize
        for i in 0..<weightSize { dw[i] += source[i] }
    }
}
