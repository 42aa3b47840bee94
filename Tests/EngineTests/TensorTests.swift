import XCTest
@testable import Engine
import TestSupport

final class TensorTests: XCTestCase {
    func testCreation() throws {
        XCTAssertEqual(try Tensor.zeros([2, 2]).scalars, [0, 0, 0, 0])
        XCTAssertEqual(try Tensor.full([3], value: 2.5).scalars, [2.5, 2.5, 2.5])
        XCTAssertEqual(try Tensor.arange(0, 5).scalars, [0, 1, 2, 3, 4])
        XCTAssertEqual(try Tensor.arange(1, 2, step: 0.25).scalars, [1, 1.25, 1.5, 1.75])
        XCTAssertEqual(try Tensor.arange(3, 0, step: -1).scalars, [3, 2, 1])
        XCTAssertEqual(try Tensor.linspace(0, 1, count: 5).scalars, [0, 0.25, 0.5, 0.75, 1])
        XCTAssertEqual(try Tensor.eye(2, 3).scalars, [1, 0, 0, 0, 1, 0])
        XCTAssertEqual(try Tensor([[1, 2], [3, 4]]).shape, [2, 2])
        XCTAssertEqual(Tensor(3).shape, .scalar)
        XCTAssertEqual(try Tensor(3).item(), 3)
        let literal: Tensor = 2.5
        XCTAssertEqual(try literal.item(), 2.5)
    }

    func testBroadcastingArithmetic() throws {
        let column = try Tensor([[1], [2]]), row = try Tensor([10, 20, 30])
        XCTAssertEqual(try (column + row).scalars, [11, 21, 31, 12, 22, 32])
        XCTAssertEqual(try (row - column).shape, [2, 3])
        XCTAssertEqual(try (row * 2).scalars, [20, 40, 60])
        XCTAssertEqual(try (1 / Tensor([2, 4])).scalars, [0.5, 0.25])
        XCTAssertEqual(try (row .> 15).scalars, [0, 1, 1])
        XCTAssertEqual(try Tensor.where(row .>= 20, row, -1).scalars, [-1, 20, 30])
        XCTAssertEqual(try clamp(Tensor([-2, 0.5, 3]), min: 0, max: 1).scalars, [0, 0.5, 1])
        XCTAssertEqual(try leakyRelu(Tensor([-2, 3]), slope: 0.2).scalars, [-0.4, 3])
    }

    func testReductions() throws {
        let x = try Tensor([[1, 2, 3], [4, 5, 9]])
        XCTAssertEqual(try x.sum().item(), 24)
        XCTAssertEqual(try x.sum(axes: [0]).scalars, [5, 7, 12])
        XCTAssertEqual(try x.sum(axes: [1], keepDims: true).shape, [2, 1])
        XCTAssertEqual(try x.mean(axes: [1]).scalars, [2, 6])
        XCTAssertEqual(try x.max(axes: [1]).scalars, [3, 9])
        XCTAssertEqual(try x.min(axes: [0]).scalars, [1, 2, 3])
        // Row 2 = [4, 5, 9]: mean 6, squared deviations 4 + 1 + 9 = 14.
        XCTAssertEqual(try x.variance(axes: [1]).scalars[1], 14 / 3, accuracy: 1e-6)
        XCTAssertEqual(try x.variance(axes: [1], unbiased: true).scalars[1], 7, accuracy: 1e-6)
        XCTAssertEqual(try Tensor([3, 4]).norm().item(), 5)
        XCTAssertEqual(try Tensor([1, .nan, 3]).max().item().isNaN, true)
    }

    func testMovement() throws {
        let x = try Tensor.arange(0, 6).reshaped([2, 3])
        XCTAssertEqual(try x.T.scalars, [0, 3, 1, 4, 2, 5])
        XCTAssertEqual(try x.transposed().shape, [3, 2])
        XCTAssertEqual(try x.reshaped([3, -1]).shape, [3, 2])
        XCTAssertEqual(try x.permuted([1, 0]).scalars, try x.T.scalars)
        XCTAssertEqual(try x[1].scalars, [3, 4, 5])
        XCTAssertEqual(try x[-1, -1].item(), 5)
        XCTAssertEqual(try x[TensorIndex.all, 1...].scalars, [1, 2, 4, 5])
        XCTAssertEqual(try x[0, ..<2].scalars, [0, 1])
        XCTAssertEqual(try x[0, 1..<100].scalars, [1, 2], "ranges are clipped, as in NumPy")
        XCTAssertEqual(try x[0..<1].shape, [1, 3])
        XCTAssertEqual(try x.padded([(0, 1), (1, 0)]).scalars, [0, 0, 1, 2, 0, 3, 4, 5, 0, 0, 0, 0])
        XCTAssertEqual(try Tensor.concat([x, x * 10], axis: 1).scalars, [0, 1, 2, 0, 10, 20, 3, 4, 5, 30, 40, 50])
        XCTAssertEqual(try Tensor.stack([x, x], axis: 0).shape, [2, 2, 3])
        XCTAssertEqual(try Tensor([1, 2]).expanded(to: [2, 2]).scalars, [1, 2, 1, 2])
        XCTAssertEqual(try x.unsqueezed(axis: 0).shape, [1, 2, 3])
        XCTAssertEqual(try x.flattened().shape, [6])
    }

    func testValueSemantics() throws {
        let a = try Tensor([1, 2, 3])
        var b = a
        try b.withUnsafeMutableBufferPointer { $0[0] = 100 }
        XCTAssertEqual(a.scalars, [1, 2, 3], "changing a copy leaves the original alone")
        XCTAssertEqual(b.scalars, [100, 2, 3])
    }

    func testMatmul() throws {
        let a = try Tensor([[1, 2], [3, 4]]), b = try Tensor([[5, 6], [7, 8]])
        XCTAssertEqual(try matmul(a, b).scalars, [19, 22, 43, 50])
        XCTAssertEqual(try matmul(Tensor([1, 1]), b).scalars, [12, 14])
        XCTAssertEqual(try matmul(a, Tensor([1, 1])).scalars, [3, 7])
        // A batched product equals the products of its batch elements.
        var rng = RandomGenerator(seed: 3)
        let x = try Tensor.randn([3, 4, 5], generator: &rng), y = try Tensor.randn([3, 5, 2], generator: &rng)
        let batched = try matmul(x, y)
        for i in 0..<3 { assertClose(try batched[i], try matmul(x[i], y[i]), rtol: 1e-6, atol: 1e-6) }
    }

    /// conv2d against an independent composition: pad, then for every kernel tap slice the
    /// strided window out of the input and multiply it with that tap's weights.
    func testConv2dMatchesTapByTapComposition() throws {
        var rng = RandomGenerator(seed: 4)
        for (stride, padding, dilation) in [(1, 0, 1), (1, 1, 1), (2, 1, 1), (1, 2, 2), (3, 0, 1)] {
            let x = try Tensor.randn([2, 3, 7, 6], generator: &rng), w = try Tensor.randn([4, 3, 3, 3], generator: &rng)
            let y = try conv2d(x, w, stride: stride, padding: padding, dilation: dilation)
            let padded = try x.padded([(0, 0), (0, 0), (padding, padding), (padding, padding)])
            let (oh, ow) = (y.shape[2], y.shape[3])
            var expected = try Tensor.zeros(y.shape)
            for ky in 0..<3 {
                for kx in 0..<3 {
                    var rows: [Tensor] = []
                    for oy in 0..<oh {
                        var columns: [Tensor] = []
                        for ox in 0..<ow {
                            columns.append(try padded[TensorIndex.all, TensorIndex.all, oy * stride + ky * dilation, ox * stride + kx * dilation])
                        }
                        rows.append(try Tensor.stack(columns, axis: -1))
                    }
                    let window = try Tensor.stack(rows, axis: -2)                 // [N, C, oh, ow]
                    let tap = try w[TensorIndex.all, TensorIndex.all, ky, kx]      // [O, C]
                    let contribution = try matmul(tap, window.permuted([0, 2, 1, 3]).reshaped([2, oh, 3, ow]).permuted([0, 1, 2, 3]).reshaped([2 * oh, 3, ow]))
                    expected = try expected + contribution.reshaped([2, oh, 4, ow]).permuted([0, 2, 1, 3])
                }
            }
            assertClose(y, expected, rtol: 1e-5, atol: 1e-5, "stride \(stride) padding \(padding) dilation \(dilation)")
        }
    }

    /// The two adjoint kernels satisfy ⟨conv(x, w), g⟩ = ⟨x, T(g, w)⟩ = ⟨w, W(x, g)⟩.
    func testConvolutionAdjointIdentities() throws {
        var rng = RandomGenerator(seed: 5)
        let x = try Tensor.randn([2, 3, 9, 8], generator: &rng), w = try Tensor.randn([5, 3, 4, 4], generator: &rng)
        let geometry = ConvGeometry(stride: 2, padding: 1, dilation: 1)
        let y = try Tensor.conv2dPrimitive(x, w, geometry)
        let g = try Tensor.randn(y.shape, generator: &rng)
        let forward = try (y * g).sum().item()
        let viaInput = try (x * Tensor.conv2dInputGradPrimitive(g, w, inputShape: x.shape, geometry)).sum().item()
        let viaWeight = try (w * Tensor.conv2dWeightGradPrimitive(x, g, weightShape: w.shape, geometry)).sum().item()
        XCTAssertEqual(viaInput, forward, accuracy: 1e-3 * Swift.abs(forward))
        XCTAssertEqual(viaWeight, forward, accuracy: 1e-3 * Swift.abs(forward))
    }

    func testConvTransposeUpsamplesLikePyTorch() throws {
        // (H − 1)·stride − 2·padding + k: the generator's 4×4 → 8×8 step.
        let x = try Tensor.ones([1, 2, 4, 4]), w = try Tensor.ones([2, 3, 4, 4])
        let y = try convTranspose2d(x, w, stride: 2, padding: 1)
        XCTAssertEqual(y.shape, [1, 3, 8, 8])
        // With all ones, an interior output pixel receives 2 input pixels per axis × 2 channels.
        XCTAssertEqual(try y[0, 0, 3, 3].item(), 8)
        XCTAssertEqual(try y[0, 0, 0, 0].item(), 2)
    }

    func testRandomStreamsAreSeeded() throws {
        var a = RandomGenerator(seed: 42), b = RandomGenerator(seed: 42), c = RandomGenerator(seed: 43)
        let x = try Tensor.randn([100], generator: &a)
        XCTAssertEqual(x.scalars, try Tensor.randn([100], generator: &b).scalars)
        XCTAssertNotEqual(x.scalars, try Tensor.randn([100], generator: &c).scalars)
        Runtime.seed(7)
        let first = try Tensor.rand([5])
        Runtime.seed(7)
        XCTAssertEqual(first.scalars, try Tensor.rand([5]).scalars)
        // Pinned: a change of algorithm would silently change every seeded experiment.
        var pinned = RandomGenerator(seed: 0)
        XCTAssertEqual(pinned.next(), 0x99EC5F36CB75F2B4)
    }

    func testRandomDistributions() throws {
        var rng = RandomGenerator(seed: 1)
        let normal = try Tensor.randn([100_000], generator: &rng)
        XCTAssertEqual(try normal.mean().item(), 0, accuracy: 0.01)
        XCTAssertEqual(try normal.std().item(), 1, accuracy: 0.01)
        let uniform = try Tensor.rand([100_000], generator: &rng)
        XCTAssertGreaterThanOrEqual(try uniform.min().item(), 0)
        XCTAssertLessThan(try uniform.max().item(), 1)
        XCTAssertEqual(try uniform.mean().item(), 0.5, accuracy: 0.01)
    }
}

final class AutogradTests: XCTestCase {
    func testBackwardAccumulatesUntilCleared() throws {
        let x = try Tensor([1, 2, 3]).requiringGrad()
        try (x * x).sum().backward()
        XCTAssertEqual(x.grad?.scalars, [2, 4, 6])
        try (x * x).sum().backward()
        XCTAssertEqual(x.grad?.scalars, [4, 8, 12], "gradients add up, as in PyTorch")
        x.zeroGrad()
        XCTAssertNil(x.grad)
    }

    func testNoGradAndDetach() throws {
        let x = try Tensor([1, 2]).requiringGrad()
        let y = try noGrad { try x * 3 }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertFalse(try (x.detached() * 3).requiresGrad)
        // A detached factor is a constant: d(x · stop(x))/dx = stop(x).
        XCTAssertEqual(try grad(of: (x * x.detached()).sum(), wrt: [x])[0].scalars, [1, 2])
    }

    func testAnUnusedInputIsAnErrorUnlessZerosAreAskedFor() throws {
        let x = try Tensor([1, 2]).requiringGrad(), unused = try Tensor([5]).requiringGrad()
        XCTAssertThrowsError(try grad(of: x.sum(), wrt: [x, unused])) {
            XCTAssertTrue("\($0)".hasPrefix("grad: the value was not computed from wrt argument 1 through the recorded graph"), "\($0)")
        }
        XCTAssertEqual(try grad(of: x.sum(), wrt: [x, unused], allowUnused: true)[1].scalars, [0])
    }

    /// Issue 17, item 3: a gradient computed without createGraph is a constant, so the gradient
    /// of something built from it does not exist. PyTorch raises; so does grad, naming the cause.
    func testTheGradientOfAGradientWithoutCreateGraphIsAnError() throws {
        let x = try Tensor([1, 2]).requiringGrad()
        let g1 = try grad(of: (x * x * x).sum(), wrt: [x])[0]
        XCTAssertThrowsError(try grad(of: g1.sum(), wrt: [x])) {
            let message = "\($0)"
            XCTAssertTrue(message.hasPrefix("grad: the value has no recorded graph, so it does not depend on the tensor given as wrt"), message)
            XCTAssertTrue(message.contains("One of the differentiated Tensors appears to not have been used in the graph"), message)
            XCTAssertTrue(message.contains("createGraph: true"), message)
            XCTAssertTrue(message.contains("allowUnused: true"), message)
        }
        XCTAssertEqual(try grad(of: g1.sum(), wrt: [x], allowUnused: true)[0].scalars, [0, 0])
        // With createGraph the second derivative exists: d²/dx² Σx³ = 6x.
        let g2 = try grad(of: (x * x * x).sum(), wrt: [x], createGraph: true)[0]
        XCTAssertEqual(try grad(of: g2.sum(), wrt: [x])[0].scalars, [6, 12])
    }

    func testGradientWithRespectToAnIntermediate() throws {
        let x = try Tensor([1, 2]).requiringGrad()
        let h = try x * 3
        let y = try (h * h).sum()
        XCTAssertEqual(try grad(of: y, wrt: [h])[0].scalars, [6, 12])
    }

    func testThirdOrder() throws {
        // d³/dx³ x⁴ = 24x
        let x = try Tensor([0.5, 2]).requiringGrad()
        let d1 = try grad(of: pow(x, 4).sum(), wrt: [x], createGraph: true)[0]
        let d2 = try grad(of: d1.sum(), wrt: [x], createGraph: true)[0]
        let d3 = try grad(of: d2.sum(), wrt: [x])[0]
        XCTAssertEqual(d3.scalars, [12, 48])
    }

    func testSeededGradient() throws {
        let x = try Tensor([1, 2]).requiringGrad()
        XCTAssertEqual(try grad(of: x * x, wrt: [x], seed: Tensor([1, 10]))[0].scalars, [2, 40])
    }

    /// Issue 18, item 1: a chain of 40,000 ops once overflowed the stack when it was freed
    /// (each node released its input from inside its own deinit).
    func testALongGraphIsFreedWithoutRecursion() throws {
        let x = try Tensor([1]).requiringGrad()
        var y = x
        for _ in 0..<40_000 { y = try y * 1.0000001 }
        XCTAssertTrue(y.requiresGrad)
        y = x   // the whole chain goes here
        var z = x
        for _ in 0..<40_000 { z = try z * 1.0000001 }
        let g = try grad(of: z.sum(), wrt: [x], createGraph: true)[0]
        XCTAssertEqual(Double(try g.item()), pow(1.0000001, 40_000), accuracy: 1e-3)
        // g's graph (40,000 more nodes, holding z's) and a leaf's accumulated gradient go too.
        try z.sum().backward(createGraph: true)
        XCTAssertNotNil(x.grad)
        x.zeroGrad()
    }

    func testDeepGraphDoesNotOverflowTheStack() throws {
        var y = try Tensor([1]).requiringGrad()
        let x = y
        for _ in 0..<20_000 { y = try y + 1 }
        XCTAssertEqual(try grad(of: y.sum(), wrt: [x])[0].scalars, [1])
    }
}
