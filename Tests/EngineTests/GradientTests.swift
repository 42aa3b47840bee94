import XCTest
@testable import Engine
import TestSupport

/// Every primitive and composite op, first and second order, against finite differences.
final class GradientTests: XCTestCase {
    /// Both orders for `f` at `inputs`, on each backend.
    func check(_ inputs: [Tensor], rtol: Double = 3e-3, atol: Double = 3e-3, secondOrder: Bool = true,
               file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) throws -> Tensor) throws {
        try withEachBackend { _ in
            try checkGradients(inputs, rtol: rtol, atol: atol, file: file, line: line, f)
            if secondOrder { try checkSecondOrder(inputs, rtol: rtol, atol: atol, file: file, line: line, f) }
        }
    }

    func testUnaryOps() throws {
        let x = try randomInput([2, 3], seed: 1, awayFromZero: 0.1)
        let positive = try randomInput([2, 3], seed: 2, positive: true)
        try check([x]) { try -$0[0] }
        try check([x]) { try exp($0[0]) }
        try check([positive]) { try log($0[0]) }
        try check([positive]) { try sqrt($0[0]) }
        try check([positive]) { try rsqrt($0[0]) }
        try check([x]) { try tanh($0[0]) }
        try check([x]) { try sigmoid($0[0]) }
        try check([x]) { try relu($0[0]) }
        try check([x]) { try leakyRelu($0[0], slope: 0.2) }
        // The backward pass of (leaky) ReLU is a primitive of its own, linear in the upstream
        // gradient: here that gradient depends on y, so second order goes through its rule.
        let scale = try randomInput([2, 3], seed: 31, positive: true)
        try check([x, scale]) { try relu($0[0] * $0[1]) * $0[1] }
        try check([x, scale]) { try leakyRelu($0[0] * $0[1], slope: 0.2) * $0[1] }
        try check([x]) { try abs($0[0]) }
        try check([x]) { try sin($0[0]) }
        try check([x]) { try cos($0[0]) }
        try check([x]) { try pow($0[0], 3) }
        try check([positive]) { try pow($0[0], Float(-1.5)) }
        try check([positive, x]) { try pow($0[0], $0[1]) }
    }

    func testBinaryOpsWithBroadcasting() throws {
        let a = try randomInput([2, 3], seed: 3)
        let row = try randomInput([3], seed: 4)
        let column = try randomInput([2, 1], seed: 5)
        let denominator = try randomInput([1, 3], seed: 6, positive: true)
        try check([a, row]) { try $0[0] + $0[1] }
        try check([column, row]) { try $0[0] - $0[1] }
        try check([a, column]) { try $0[0] * $0[1] }
        try check([a, denominator]) { try $0[0] / $0[1] }
        try check([a]) { try $0[0] * 2 + 1 }
        try check([column, row]) { try $0[0] * $0[0] * $0[1] }  // a product with a repeated input
    }

    func testSelectionOps() throws {
        let a = try randomInput([2, 3], seed: 7)
        let b = try randomInput([2, 3], seed: 8)
        let mask = try a .> b
        _ = mask
        let far = try randomInput([2, 3], seed: 9, scale: 2, awayFromZero: 0.3)
        try check([a, b]) { try Tensor.where(far .> 0, $0[0], $0[1]) }
        try check([a, b]) { try maximum($0[0] * 3, $0[1]) }  // no ties at these seeds
        try check([a, b]) { try minimum($0[0] * 3, $0[1]) }
        try check([far]) { try clamp($0[0], min: -0.1, max: 0.15) }
    }

    func testReductions() throws {
        let x = try randomInput([2, 3, 4], seed: 10)
        try check([x]) { try $0[0].sum() }
        try check([x]) { try $0[0].sum(axes: [1]) }
        try check([x]) { try $0[0].sum(axes: [0, 2], keepDims: true) }
        try check([x]) { try $0[0].mean(axes: [-1]) }
        try check([x]) { try $0[0].variance(axes: [2]) }
        try check([x]) { try $0[0].variance(axes: [0, 2], unbiased: true) }
        try check([x]) { try $0[0].std(axes: [1]) }
        try check([x]) { try $0[0].norm(axes: [1, 2]) }
        try check([x]) { try $0[0].max(axes: [1]) }
        try check([x]) { try $0[0].min(axes: [0, 2]) }
        try check([x]) { try $0[0].max() }
    }

    func testMaxSharesTheGradientAmongTies() throws {
        let x = try Tensor([[1, 3, 3], [2, 0, 1]]).requiringGrad()
        let g = try grad(of: x.max(axes: [1]).sum(), wrt: [x])[0]
        XCTAssertEqual(g.scalars, [0, 0.5, 0.5, 1, 0, 0])
    }

    func testMovementOps() throws {
        let x = try randomInput([2, 3, 4], seed: 12)
        try check([x]) { try $0[0].reshaped([4, -1]) * $0[0].reshaped([4, 6]) }
        try check([x]) { try $0[0].permuted([2, 0, 1]) * $0[0].permuted([2, 0, 1]) }
        try check([x]) { try $0[0].transposed() }
        try check([try randomInput([3, 1], seed: 13)]) { try $0[0].expanded(to: [2, 3, 4]) * x }
        try check([x]) { try $0[0][1, 0..<2] * $0[0][0, 1...2] }
        try check([x]) { try $0[0][TensorIndex.all, 1..., -1] }
        try check([x]) { try $0[0].padded([(1, 0), (0, 2)]) * 3 }
        try check([x, try randomInput([2, 1, 4], seed: 14)]) { try Tensor.concat([$0[0], $0[1], $0[0]], axis: 1) * 2 }
        try check([x, try randomInput([2, 3, 4], seed: 15)]) { try Tensor.stack([$0[0], $0[1]], axis: -1) * 2 }
        try check([x]) { try $0[0].unsqueezed(axis: 1).squeezed(axis: 1) * $0[0] }
    }

    func testMatmul() throws {
        let a = try randomInput([3, 4], seed: 16)
        let b = try randomInput([4, 5], seed: 17)
        try check([a, b]) { try matmul($0[0], $0[1]) }
        // Batched, with the batch axes broadcast: [2, 1, 3, 4] @ [3, 4, 2] -> [2, 3, 3, 2].
        try check([try randomInput([2, 1, 3, 4], seed: 18), try randomInput([3, 4, 2], seed: 19)]) { try matmul($0[0], $0[1]) }
        // A shared matrix across a batch, and NumPy's vector rules.
        try check([try randomInput([2, 3, 4], seed: 20), b]) { try matmul($0[0], $0[1]) }
        try check([try randomInput([4], seed: 21), b]) { try matmul($0[0], $0[1]) }
        try check([a, try randomInput([4], seed: 22)]) { try matmul($0[0], $0[1]) }
        // The transposed forms the backward pass uses.
        try check([a, try randomInput([5, 4], seed: 23)]) { try Tensor.matmulPrimitive($0[0], $0[1], transposeA: false, transposeB: true) }
        try check([try randomInput([4, 3], seed: 24), b]) { try Tensor.matmulPrimitive($0[0], $0[1], transposeA: true, transposeB: false) }
        try check([try randomInput([4, 3], seed: 25), try randomInput([5, 4], seed: 26)]) {
            try Tensor.matmulPrimitive($0[0], $0[1], transposeA: true, transposeB: true)
        }
    }

    func testConv2d() throws {
        let x = try randomInput([2, 2, 5, 5], seed: 30)
        let w = try randomInput([3, 2, 3, 3], seed: 31, scale: 0.5)
        let b = try randomInput([3], seed: 32)
        try check([x, w, b]) { try conv2d($0[0], $0[1], bias: $0[2], padding: 1) }
        try check([x, w]) { try conv2d($0[0], $0[1], stride: 2, padding: 1) }
        try check([x, w]) { try conv2d($0[0], $0[1], padding: 2, dilation: 2) }
        // Second order through a nonlinearity: conv's Hessian terms are the adjoint kernels.
        try check([x, w]) { try tanh(conv2d($0[0], $0[1], stride: 2)) }
        // The bias is fused into the convolution as a third input.
        try check([x, w, b]) { try tanh(conv2d($0[0], $0[1], bias: $0[2], stride: 2)) }
    }

    func testConvTranspose2d() throws {
        let x = try randomInput([2, 3, 3, 3], seed: 33)
        let w = try randomInput([3, 2, 4, 4], seed: 34, scale: 0.5)
        let b = try randomInput([2], seed: 35)
        try check([x, w, b]) { try convTranspose2d($0[0], $0[1], bias: $0[2], stride: 2, padding: 1) }
        try check([x, w]) { try tanh(convTranspose2d($0[0], $0[1], stride: 2, padding: 1, outputPadding: 1)) }
        try check([x, w, b]) { try tanh(convTranspose2d($0[0], $0[1], bias: $0[2], stride: 2, padding: 1)) }
    }

    func testConvWeightGradientPrimitiveDifferentiatesBothWays() throws {
        // The weight adjoint appears in double backprop; check it as an op in its own right.
        let x = try randomInput([2, 2, 4, 4], seed: 36)
        let dy = try randomInput([2, 3, 2, 2], seed: 37)
        try check([x, dy]) { try tanh(Tensor.conv2dWeightGradPrimitive($0[0], $0[1], weightShape: [3, 2, 3, 3], ConvGeometry(stride: 1))) }
    }

    func testCompositeNetworkSecondOrder() throws {
        // A tiny critic: conv → leaky ReLU → linear, and the gradient penalty (‖∇ₓD‖ − 1)²,
        // differentiated with respect to the weights: the WGAN-GP double backprop.
        let x = try randomInput([2, 1, 4, 4], seed: 40)
        let wc = try randomInput([2, 1, 3, 3], seed: 41, scale: 0.7)
        let w2 = try randomInput([1, 32], seed: 42, scale: 0.3)
        func critic(_ input: Tensor, _ wc: Tensor, _ w2: Tensor) throws -> Tensor {
            let h = try leakyRelu(conv2d(input, wc, padding: 1), slope: 0.2)
            return try matmul(h.reshaped([input.shape[0], -1]), w2.T)
        }
        try checkGradients([wc, w2], rtol: 3e-3, atol: 3e-3) { p in
            let input = x.requiringGrad()
            let d = try critic(input, p[0], p[1])
            let gx = try grad(of: d.sum(), wrt: [input], createGraph: true)[0]
            let norms = try gx.reshaped([2, -1]).norm(axes: [1])
            return try pow(norms - 1, 2).mean()
        }
    }
}
