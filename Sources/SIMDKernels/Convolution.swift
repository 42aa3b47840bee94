import Dispatch

/// The sizes of one 2-D convolution (NCHW input, [out, in, kh, kw] weight).
public struct ConvolutionShape: Sendable {
    public var batch, inChannels, height, width, outChannels, kernelH, kernelW, outH, outW: Int
    public var strideH, strideW, padH, padW, dilationH, dilationW: Int
    public init(batch: Int, inChannels: Int, height: Int, width: Int, outChannels: Int, kernelH: Int, kernelW: Int,
                outH: Int, outW: Int, strideH: Int, strideW: Int, padH: Int, padW: Int, dilationH: Int, dilationW: Int) {
        (self.batch, self.inChannels, self.height, self.width) = (batch, inChannels, height, width)
        (self.outChannels, self.kernelH, self.kernelW, self.outH, self.outW) = (outChannels, kernelH, kernelW, outH, outW)
        (self.strideH, self.strideW, self.padH, self.padW, self.dilationH, self.dilationW) = (strideH, strideW, padH, padW, dilationH, dilationW)
    }
    var patch: Int { inChannels * kernelH * kernelW }       // rows of the column matrix
    var pixels: Int { outH * outW }                         // its columns
    var inputSize: Int { inChannels * height * width }
    var outputSize: Int { outChannels * outH * outW }
    /// A 1×1 kernel with stride 1 and no padding reads the input as its own column matrix.
    var isPointwise: Bool { kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0 }
}

/// Unfolds one image [C, H, W] into the column matrix [C·kh·kw, outH·outW]: column (oy, ox)
/// holds the input patch that output pixel sees, zeros where it falls in the padding.
func im2col(_ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, _ s: ConvolutionShape) {
    var row = col
    for c in 0..<s.inChannels {
        let plane = x + c * s.height * s.width
        for ky in 0..<s.kernelH {
            for kx in 0..<s.kernelW {
                for oy in 0..<s.outH {
                    let iy = oy * s.strideH - s.padH + ky * s.dilationH
                    let out = row + oy * s.outW
                    guard iy >= 0 && iy < s.height else { out.update(repeating: 0, count: s.outW); continue }
                    let line = plane + iy * s.width
                    let x0 = kx * s.dilationW - s.padW
                    if s.strideW == 1 {
                        // The valid run is one contiguous copy, with zeros either side.
                        let first = max(0, -x0), last = min(s.outW, s.width - x0)
                        if first > 0 { out.update(repeating: 0, count: min(first, s.outW)) }
                        if last > first { (out + first).update(from: line + x0 + first, count: last - first) }
                        if last < s.outW { (out + max(last, first)).update(repeating: 0, count: s.outW - max(last, first)) }
                    } else {
                        for ox in 0..<s.outW {
                            let ix = ox * s.strideW + x0
                            out[ox] = ix >= 0 && ix < s.width ? line[ix] : 0
                        }
                    }
                }
                row += s.pixels
            }
        }
    }
}

/// The adjoint of im2col: adds each column entry back onto the input pixel it came from.
func col2im(_ col: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>, _ s: ConvolutionShape) {
    x.update(repeating: 0, count: s.inputSize)
    var row = col
    for c in 0..<s.inChannels {
        let plane = x + c * s.height * s.width
        for ky in 0..<s.kernelH {
            for kx in 0..<s.kernelW {
                let x0 = kx * s.dilationW - s.padW
                for oy in 0..<s.outH {
                    let iy = oy * s.strideH - s.padH + ky * s.dilationH
                    guard iy >= 0 && iy < s.height else { continue }
                    let line = plane + iy * s.width
                    let input = row + oy * s.outW
                    for ox in 0..<s.outW {
                        let ix = ox * s.strideW + x0
                        if ix >= 0 && ix < s.width { line[ix] += input[ox] }
                    }
                }
                row += s.pixels
            }
        }
    }
}

/// Splits the images of a batch between threads; each worker gets its own scratch buffer.
/// With fewer images than threads, the GEMMs themselves are threaded instead.
func forEachImage(_ s: ConvolutionShape, threads: Int, scratch: Int,
                  _ body: @escaping @Sendable (_ worker: Int, _ image: Int, _ scratch: UnsafeMutablePointer<Float>, _ gemmThreads: Int) -> Void) {
    let workers = max(1, min(threads, s.batch))
    let gemmThreads = s.batch < threads ? threads : 1
    let buffers = (0..<workers).map { _ in SendablePointer(pointer: UnsafeMutablePointer<Float>.allocate(capacity: max(scratch, 1))) }
    defer { buffers.forEach { $0.pointer.deallocate() } }
    let work: @Sendable (Int) -> Void = { worker in
        for image in stride(from: worker, to: s.batch, by: workers) { body(worker, image, buffers[worker].pointer, gemmThreads) }
    }
    if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
}

/// y[n] = W · im2col(x[n])
public func convolutionForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                               _ s: ConvolutionShape, threads: Int) {
    let (xs, ws, ys) = (UnsafeSendable(x), UnsafeSendable(w), SendablePointer(pointer: y))
    forEachImage(s, threads: threads, scratch: s.isPointwise ? 0 : s.patch * s.pixels) { _, n, col, gemmThreads in
        let input = xs.pointer + n * s.inputSize
        if !s.isPointwise { im2col(input, col, s) }
        let columns = s.isPointwise ? input : UnsafePointer(col)
        sgemm(m: s.outChannels, n: s.pixels, k: s.patch,
              a: MatrixView(base: ws.pointer, rows: s.outChannels, columns: s.patch, transposed: false),
              b: MatrixView(base: columns, rows: s.patch, columns: s.pixels, transposed: false),
              c: ys.pointer + n * s.outputSize, ldc: s.pixels, threads: gemmThreads)
    }
}

/// dx[n] = col2im(Wᵀ · dy[n])  (also the forward pass of a transposed convolution)
public func convolutionInputGrad(_ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                                 _ s: ConvolutionShape, threads: Int) {
    let (dys, ws, dxs) = (UnsafeSendable(dy), UnsafeSendable(w), SendablePointer(pointer: dx))
    forEachImage(s, threads: threads, scratch: s.isPointwise ? 0 : s.patch * s.pixels) { _, n, col, gemmThreads in
        let target = s.isPointwise ? dxs.pointer + n * s.inputSize : col
        sgemm(m: s.patch, n: s.pixels, k: s.outChannels,
              a: MatrixView(base: ws.pointer, rows: s.patch, columns: s.outChannels, transposed: true),
              b: MatrixView(base: dys.pointer + n * s.outputSize, rows: s.outChannels, columns: s.pixels, transposed: false),
              c: target, ldc: s.pixels, threads: gemmThreads)
        if !s.isPointwise { col2im(col, dxs.pointer + n * s.inputSize, s) }
    }
}

/// dw = Σₙ dy[n] · im2col(x[n])ᵀ, each worker summing its images into its own buffer first.
public func convolutionWeightGrad(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
                                  _ s: ConvolutionShape, threads: Int) {
    let weightSize = s.outChannels * s.patch
    let workers = max(1, min(threads, s.batch))
    let partial = UnsafeMutablePointer<Float>.allocate(capacity: workers * weightSize)
    defer { partial.deallocate() }
    partial.update(repeating: 0, count: workers * weightSize)
    let (xs, dys, partials) = (UnsafeSendable(x), UnsafeSendable(dy), SendablePointer(pointer: partial))
    forEachImage(s, threads: threads, scratch: s.isPointwise ? 0 : s.patch * s.pixels) { worker, n, col, gemmThreads in
        let input = xs.pointer + n * s.inputSize
        if !s.isPointwise { im2col(input, col, s) }
        let columns = s.isPointwise ? input : UnsafePointer(col)
        sgemm(m: s.outChannels, n: s.patch, k: s.pixels,
              a: MatrixView(base: dys.pointer + n * s.outputSize, rows: s.outChannels, columns: s.pixels, transposed: false),
              b: MatrixView(base: columns, rows: s.pixels, columns: s.patch, transposed: true),
              c: partials.pointer + worker * weightSize, ldc: s.patch, accumulate: true, threads: gemmThreads)
    }
    dw.update(from: partial, count: weightSize)
    for worker in 1..<max(workers, 1) {
        let source = partial + worker * weightSize
        for i in 0..<weightSize { dw[i] += source[i] }
    }
}

struct UnsafeSendable<T>: @unchecked Sendable {
    let pointer: UnsafePointer<T>
    init(_ pointer: UnsafePointer<T>) { self.pointer = pointer }
}
