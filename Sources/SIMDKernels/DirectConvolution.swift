import Ops

// Direct convolution for layers with at most 4 output channels and stride 1, such as an RGB
// output layer (3 channels). As a GEMM, its forward pass has m = 3
// rows against a 12-row register tile, and its input gradient has k = 3: both waste most of
// the micro-kernel. Here each output is summed in registers straight from a zero-padded image:
// 4 output planes × 16 pixels of one row per tile, every tap one vector pair and 4 broadcasts.

extension ConvDims {
    /// Stride 1, few output channels, and padding no wider than the kernel's reach (so the
    /// input gradient is a direct convolution of the padded output gradient).
    var isDirect: Bool {
        outChannels <= 4 && stride.h == 1 && stride.w == 1
            && padding.h <= dilation.h * (kernelH - 1) && padding.w <= dilation.w * (kernelW - 1)
    }
}

/// A direct convolution's geometry: `inputs` padded planes, each tap t = (i, ky, kx) reading
/// from `tapOffsets[t]` past the output pixel's corner, into output planes of outH × outW.
struct DirectGeometry {
    let planes: PaddedPlanes, inputs: Int, outH: Int, outW: Int
    let tapOffsets: [Int]

    init(_ planes: PaddedPlanes, inputs: Int, kernelH: Int, kernelW: Int, dilationH: Int, dilationW: Int, outH: Int, outW: Int) {
        (self.planes, self.inputs, self.outH, self.outW) = (planes, inputs, outH, outW)
        var offsets: [Int] = []
        for i in 0..<inputs {
            for ky in 0..<kernelH {
                for kx in 0..<kernelW { offsets.append(i * planes.planeSize + ky * dilationH * planes.rowStride + kx * dilationW) }
            }
        }
        tapOffsets = offsets
    }

    /// Output rows padded to whole 16-pixel tiles; the padded planes are at least this wide
    /// past every tap, so a tile never reads into the next row.
    static func rowStride(outW: Int, reach: Int) -> Int { roundUp(outW, 16) + reach }
}

/// out[j][oy][ox] = Σₜ weights[t][j] · padded[tapOffsets[t] + oy·rowStride + ox] for j < count
/// (≤ 4), output planes `outPlane` apart; `weights` holds 4 floats per tap.
func directTiles(_ padded: UnsafePointer<Float>, _ g: DirectGeometry, weights: UnsafePointer<Float>,
                 into out: UnsafeMutablePointer<Float>, outPlane: Int, count: Int) {
    let raw = UnsafeRawPointer(padded)
    g.tapOffsets.withUnsafeBufferPointer { taps in
        for oy in 0..<g.outH {
            for ox in stride(from: 0, to: g.outW, by: 16) {
                var a0 = Lanes8(), a1 = Lanes8(), b0 = Lanes8(), b1 = Lanes8()
                var c0 = Lanes8(), c1 = Lanes8(), d0 = Lanes8(), d1 = Lanes8()
                let corner = 4 * (oy * g.planes.rowStride + ox)
                var w = weights
                for offset in taps {
                    let low = raw.loadUnaligned(fromByteOffset: corner + 4 * offset, as: Lanes8.self)
                    let high = raw.loadUnaligned(fromByteOffset: corner + 4 * offset + 32, as: Lanes8.self)
                    var s = Lanes8(repeating: w[0])
                    a0 = a0.multiplyAdd(s, low); a1 = a1.multiplyAdd(s, high)
                    s = Lanes8(repeating: w[1])
                    b0 = b0.multiplyAdd(s, low); b1 = b1.multiplyAdd(s, high)
                    s = Lanes8(repeating: w[2])
                    c0 = c0.multiplyAdd(s, low); c1 = c1.multiplyAdd(s, high)
                    s = Lanes8(repeating: w[3])
                    d0 = d0.multiplyAdd(s, low); d1 = d1.multiplyAdd(s, high)
                    w += 4
                }
                let pixels = min(16, g.outW - ox)
                @inline(__always) func store(_ j: Int, _ low: Lanes8, _ high: Lanes8) {
                    guard j < count else { return }
                    let row = out + j * outPlane + oy * g.outW + ox
                    if pixels == 16 {
                        UnsafeMutableRawPointer(row).storeBytes(of: low, as: Lanes8.self)
                        UnsafeMutableRawPointer(row).storeBytes(of: high, toByteOffset: 32, as: Lanes8.self)
                    } else {
                        for q in 0..<pixels { row[q] = q < 8 ? low[q] : high[q - 8] }
                    }
                }
                store(0, a0, a1); store(1, b0, b1); store(2, c0, c1); store(3, d0, d1)
            }
        }
    }
}

/// grad[t][j] += Σ_{oy,ox} padded[tapOffsets[t] + oy·rowStride + ox] · dy[j][oy][ox] for the 4
/// planes of `dy`, laid out as [4][outH][dyRowStride] with zeros past outW (and in planes past
/// the real channels).
func directWeightTiles(_ padded: UnsafePointer<Float>, _ g: DirectGeometry, dy: UnsafePointer<Float>, dyRowStride: Int,
                       into grad: UnsafeMutablePointer<Float>) {
    let raw = UnsafeRawPointer(padded), dyRaw = UnsafeRawPointer(dy)
    let dyPlane = 4 * g.outH * dyRowStride
    for (t, offset) in g.tapOffsets.enumerated() {
        var a0 = Lanes8(), a1 = Lanes8(), b0 = Lanes8(), b1 = Lanes8()
        var c0 = Lanes8(), c1 = Lanes8(), d0 = Lanes8(), d1 = Lanes8()
        for oy in 0..<g.outH {
            for ox in stride(from: 0, to: g.outW, by: 16) {
                let at = 4 * (offset + oy * g.planes.rowStride + ox), dyAt = 4 * (oy * dyRowStride + ox)
                let low = raw.loadUnaligned(fromByteOffset: at, as: Lanes8.self)
                let high = raw.loadUnaligned(fromByteOffset: at + 32, as: Lanes8.self)
                @inline(__always) func dyLanes(_ j: Int, _ half: Int) -> Lanes8 {
                    dyRaw.loadUnaligned(fromByteOffset: j * dyPlane + dyAt + 32 * half, as: Lanes8.self)
                }
                a0 = a0.multiplyAdd(low, dyLanes(0, 0)); a1 = a1.multiplyAdd(high, dyLanes(0, 1))
                b0 = b0.multiplyAdd(low, dyLanes(1, 0)); b1 = b1.multiplyAdd(high, dyLanes(1, 1))
                c0 = c0.multiplyAdd(low, dyLanes(2, 0)); c1 = c1.multiplyAdd(high, dyLanes(2, 1))
                d0 = d0.multiplyAdd(low, dyLanes(3, 0)); d1 = d1.multiplyAdd(high, dyLanes(3, 1))
            }
        }
        grad[4 * t] += (a0 + a1).sum(); grad[4 * t + 1] += (b0 + b1).sum()
        grad[4 * t + 2] += (c0 + c1).sum(); grad[4 * t + 3] += (d0 + d1).sum()
    }
}

/// The layout of one image for the direct kernels: padded so that every tile's taps stay
/// inside their row.
func directGeometry(_ s: ConvDims, inputs: Int, outH: Int, outW: Int) -> DirectGeometry {
    let reachH = s.dilation.h * (s.kernelH - 1), reachW = s.dilation.w * (s.kernelW - 1)
    let planes = PaddedPlanes(rows: outH + reachH, rowStride: DirectGeometry.rowStride(outW: outW, reach: reachW))
    return DirectGeometry(planes, inputs: inputs, kernelH: s.kernelH, kernelW: s.kernelW,
                          dilationH: s.dilation.h, dilationW: s.dilation.w, outH: outH, outW: outW)
}

/// y[n] = W ⊛ x[n] for `s.isDirect` shapes.
func directForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                   _ s: ConvDims, bias: UnsafePointer<Float>?, threads: Int) {
    let g = directGeometry(s, inputs: s.inChannels, outH: s.outH, outW: s.outW)
    // weights[t][j] = w[j][t], t = (c, ky, kx): the 4 output channels of a tap side by side.
    var weights = [Float](repeating: 0, count: 4 * s.patch)
    for j in 0..<s.outChannels { for t in 0..<s.patch { weights[4 * t + j] = w[j * s.patch + t] } }
    forEachImage(s, threads: threads, scratch: s.inChannels * g.planes.planeSize) { _, n, padded, _ in
        g.planes.fill(x + n * s.inputSize, channels: s.inChannels, height: s.height, width: s.width,
                      top: s.padding.h, left: s.padding.w, into: padded)
        weights.withUnsafeBufferPointer { weights in
            directTiles(padded, g, weights: weights.baseAddress!, into: y + n * s.outputSize,
                        outPlane: s.pixels, count: s.outChannels)
        }
        addBias(bias, to: y + n * s.outputSize, channels: s.outChannels, pixels: s.pixels)
    }
}

/// dx[n] = the full correlation of dy[n] with the flipped kernel: a direct convolution with the
/// output channels as inputs, of dy padded by each side's reach minus the forward padding.
func directInputGrad(_ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                     _ s: ConvDims, bias: UnsafePointer<Float>?, threads: Int) {
    let (top, left) = (s.dilation.h * (s.kernelH - 1) - s.padding.h, s.dilation.w * (s.kernelW - 1) - s.padding.w)
    let g = directGeometry(s, inputs: s.outChannels, outH: s.height, outW: s.width)
    // weights[block][t'][j] = w[o][4·block + j][kh-1-ky][kw-1-kx], t' = (o, ky, kx).
    let taps = s.outChannels * s.kernelH * s.kernelW, blocks = (s.inChannels + 3) / 4
    var weights = [Float](repeating: 0, count: blocks * taps * 4)
    for o in 0..<s.outChannels {
        for c in 0..<s.inChannels {
            for ky in 0..<s.kernelH {
                for kx in 0..<s.kernelW {
                    let t = (o * s.kernelH + ky) * s.kernelW + kx
                    let source = ((o * s.inChannels + c) * s.kernelH + s.kernelH - 1 - ky) * s.kernelW + s.kernelW - 1 - kx
                    weights[((c / 4) * taps + t) * 4 + c % 4] = w[source]
                }
            }
        }
    }
    let plane = s.height * s.width
    forEachImage(s, threads: threads, scratch: s.outChannels * g.planes.planeSize) { _, n, padded, _ in
        g.planes.fill(dy + n * s.outputSize, channels: s.outChannels, height: s.outH, width: s.outW,
                      top: top, left: left, into: padded)
        weights.withUnsafeBufferPointer { weights in
            for block in 0..<blocks {
                directTiles(padded, g, weights: weights.baseAddress! + block * taps * 4,
                            into: dx + n * s.inputSize + 4 * block * plane, outPlane: plane,
                            count: min(4, s.inChannels - 4 * block))
            }
        }
        addBias(bias, to: dx + n * s.inputSize, channels: s.inChannels, pixels: plane)
    }
}

/// dw = Σₙ dy[n] ⋆ x[n], each worker summing its images into its own buffer first.
func directWeightGrad(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
                      _ s: ConvDims, threads: Int) {
    let g = directGeometry(s, inputs: s.inChannels, outH: s.outH, outW: s.outW)
    let dyRowStride = roundUp(s.outW, 16), dyPlanes = PaddedPlanes(rows: s.outH, rowStride: dyRowStride)
    let workers = groupWorkers(s, size: 1, threads: threads)   // forEachImage's
    // Per worker: its padded image, then its 4 padded planes of dy; its sums [patch][4] in `partial`.
    let scratch = s.inChannels * g.planes.planeSize + 4 * dyPlanes.planeSize
    let partial = UnsafeMutablePointer<Float>.allocate(capacity: workers * 4 * s.patch)
    defer { partial.deallocate() }
    partial.update(repeating: 0, count: workers * 4 * s.patch)
    forEachImage(s, threads: threads, scratch: scratch, claimed: false) { worker, n, scratch, _ in
        let paddedDy = scratch + s.inChannels * g.planes.planeSize
        g.planes.fill(x + n * s.inputSize, channels: s.inChannels, height: s.height, width: s.width,
                      top: s.padding.h, left: s.padding.w, into: scratch)
        dyPlanes.fill(dy + n * s.outputSize, channels: s.outChannels, height: s.outH, width: s.outW,
                      top: 0, left: 0, into: paddedDy)
        (paddedDy + s.outChannels * dyPlanes.planeSize).update(repeating: 0, count: (4 - s.outChannels) * dyPlanes.planeSize)
        directWeightTiles(scratch, g, dy: paddedDy, dyRowStride: dyRowStride, into: partial + worker * 4 * s.patch)
    }
    for j in 0..<s.outChannels {
        for t in 0..<s.patch {
            var sum: Float = 0
            for worker in 0..<workers { sum += partial[worker * 4 * s.patch + 4 * t + j] }
            dw[j * s.patch + t] = sum
        }
    }
}
