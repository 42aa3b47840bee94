/// The three kernels of a 2-D convolution, NCHW, weight [outC, inC, kH, kW] (cross-correlation,
/// as PyTorch's conv2d). Output pixel (oy, ox) sees input pixel
///     iy = oy·stride − padding + ky·dilation,   ix likewise,
/// and pixels outside the input are zero. The two adjoints are the same loop with the
/// roles of the three tensors exchanged.
extension ReferenceBackend {
    /// y[n, o, oy, ox] = Σ_{c, ky, kx} x[n, c, iy, ix] · w[o, c, ky, kx]  (+ b[o])
    public func conv2d(input x: UnsafePointer<Float>, weight w: UnsafePointer<Float>, bias b: UnsafePointer<Float>?,
                       output y: UnsafeMutablePointer<Float>, _ d: ConvDims) {
        for n in 0..<d.batch {
            for o in 0..<d.outChannels {
                for oy in 0..<d.outH {
                    for ox in 0..<d.outW {
                        var sum = Double(b?[o] ?? 0)
                        forEachTap(d, oy, ox) { c, ky, kx, iy, ix in
                            sum += Double(x[d.inputIndex(n, c, iy, ix)]) * Double(w[d.weightIndex(o, c, ky, kx)])
                        }
                        y[d.outputIndex(n, o, oy, ox)] = Float(sum)
                    }
                }
            }
        }
    }

    /// dx[n, c, iy, ix] = Σ_{o, oy, ox} dy[n, o, oy, ox] · w[o, c, ky, kx]  (+ b[c]; a transposed convolution)
    public func conv2dInputGrad(outputGrad dy: UnsafePointer<Float>, weight w: UnsafePointer<Float>, bias b: UnsafePointer<Float>?,
                                inputGrad dx: UnsafeMutablePointer<Float>, _ d: ConvDims) {
        var sums = [Double](repeating: 0, count: d.batch * d.inChannels * d.height * d.width)
        if let b {
            for n in 0..<d.batch {
                for c in 0..<d.inChannels {
                    for iy in 0..<d.height {
                        for ix in 0..<d.width { sums[d.inputIndex(n, c, iy, ix)] = Double(b[c]) }
                    }
                }
            }
        }
        for n in 0..<d.batch {
            for o in 0..<d.outChannels {
                for oy in 0..<d.outH {
                    for ox in 0..<d.outW {
                        let g = Double(dy[d.outputIndex(n, o, oy, ox)])
                        forEachTap(d, oy, ox) { c, ky, kx, iy, ix in
                            sums[d.inputIndex(n, c, iy, ix)] += g * Double(w[d.weightIndex(o, c, ky, kx)])
                        }
                    }
                }
            }
        }
        for i in sums.indices { dx[i] = Float(sums[i]) }
    }

    /// dw[o, c, ky, kx] = Σ_{n, oy, ox} x[n, c, iy, ix] · dy[n, o, oy, ox]
    public func conv2dWeightGrad(input x: UnsafePointer<Float>, outputGrad dy: UnsafePointer<Float>,
                                 weightGrad dw: UnsafeMutablePointer<Float>, _ d: ConvDims) {
        var sums = [Double](repeating: 0, count: d.outChannels * d.inChannels * d.kernelH * d.kernelW)
        for n in 0..<d.batch {
            for o in 0..<d.outChannels {
                for oy in 0..<d.outH {
                    for ox in 0..<d.outW {
                        let g = Double(dy[d.outputIndex(n, o, oy, ox)])
                        forEachTap(d, oy, ox) { c, ky, kx, iy, ix in
                            sums[d.weightIndex(o, c, ky, kx)] += Double(x[d.inputIndex(n, c, iy, ix)]) * g
                        }
                    }
                }
            }
        }
        for i in sums.indices { dw[i] = Float(sums[i]) }
    }

    /// Calls `body(c, ky, kx, iy, ix)` for every kernel tap of output pixel (oy, ox) that
    /// falls inside the input (the rest read zero padding and contribute nothing).
    @inline(__always)
    private func forEachTap(_ d: ConvDims, _ oy: Int, _ ox: Int,
                            _ body: (_ c: Int, _ ky: Int, _ kx: Int, _ iy: Int, _ ix: Int) -> Void) {
        let g = d.geometry
        for c in 0..<d.inChannels {
            for ky in 0..<d.kernelH {
                let iy = oy * g.stride.h - g.padding.h + ky * g.dilation.h
                guard iy >= 0 && iy < d.height else { continue }
                for kx in 0..<d.kernelW {
                    let ix = ox * g.stride.w - g.padding.w + kx * g.dilation.w
                    guard ix >= 0 && ix < d.width else { continue }
                    body(c, ky, kx, iy, ix)
                }
            }
        }
    }
}

extension ConvDims {
    @inline(__always) func inputIndex(_ n: Int, _ c: Int, _ y: Int, _ x: Int) -> Int {
        ((n * inChannels + c) * height + y) * width + x
    }
    @inline(__always) func weightIndex(_ o: Int, _ c: Int, _ ky: Int, _ kx: Int) -> Int {
        ((o * inChannels + c) * kernelH + ky) * kernelW + kx
    }
    @inline(__always) func outputIndex(_ n: Int, _ o: Int, _ y: Int, _ x: Int) -> Int {
        ((n * outChannels + o) * outH + y) * outW + x
    }
}
