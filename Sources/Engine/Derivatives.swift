/// The vector-Jacobian product of every primitive, in one table (as PyTorch's
/// derivatives.yaml): given the upstream gradient `g` = ∂L/∂y, return ∂L/∂input for each
/// input. Every rule is written in differentiable tensor ops, never in raw loops, so the
/// backward pass can itself be recorded and differentiated (second-order gradients).
///
/// `x` are the op's inputs, `y` its output (present for the ops that save it), and `needs[i]`
/// says whether input i's gradient is wanted; an unwanted or zero gradient is nil.
func vectorJacobianProduct(_ primitive: Primitive, inputs x: [Tensor], output y: Tensor, upstream g: Tensor,
                           needs: [Bool]) throws -> [Tensor?] {
    func ifNeeded(_ i: Int, _ rule: () throws -> Tensor) rethrows -> Tensor? { needs[i] ? try rule() : nil }

    switch primitive {
    case .leaf:
        return []

    case .unary(let op):
        let a = x[0]
        switch op {
        case .neg: return [try -g]                              // d(−a) = −1
        case .exp: return [try g * y]                           // d eᵃ = eᵃ
        case .log: return [try g / a]                           // d log a = 1/a
        case .sqrt: return [try g / (2 * y)]                    // d √a = 1/(2√a)
        case .tanh: return [try g * (1 - y * y)]                // d tanh a = 1 − tanh²a
        case .sigmoid: return [try g * y * (1 - y)]             // d σ(a) = σ(a)(1 − σ(a))
        case .relu: return [try Tensor.leakyReluGrad(g, a, slope: 0)]                // g·(a > 0), one pass
        case .leakyRelu(let slope): return [try Tensor.leakyReluGrad(g, a, slope: slope)]  // g·(1 or slope)
        case .abs: return [try g * sign(a)]                     // d|a| = sign a
        case .sign: return [nil]                                // piecewise constant
        case .sin: return [try g * cos(a)]
        case .cos: return [try -(g * sin(a))]
        case .pow(let p): return [try g * Tensor(p) * pow(a, p - 1)]  // d aᵖ = p·aᵖ⁻¹
        }

    case .binary(let op):
        let (a, b) = (x[0], x[1])
        switch op {
        case .add: return [try ifNeeded(0) { try g.sum(to: a.shape) }, try ifNeeded(1) { try g.sum(to: b.shape) }]
        case .sub: return [try ifNeeded(0) { try g.sum(to: a.shape) }, try ifNeeded(1) { try (-g).sum(to: b.shape) }]
        case .mul: return [try ifNeeded(0) { try (g * b).sum(to: a.shape) }, try ifNeeded(1) { try (g * a).sum(to: b.shape) }]
        case .div: return [try ifNeeded(0) { try (g / b).sum(to: a.shape) },                  // d(a/b)/da = 1/b
                           try ifNeeded(1) { try (-(g * a) / (b * b)).sum(to: b.shape) }]     // d(a/b)/db = −a/b²
        default: return [nil, nil]                                                            // comparisons
        }

    case .leakyReluGrad(let slope):  // linear in g with the same mask; piecewise constant in x
        return [try ifNeeded(0) { try Tensor.leakyReluGrad(g, x[1], slope: slope) }, nil]

    case .select:  // where(c, a, b): the gradient goes to whichever side was taken
        let (c, a, b) = (x[0], x[1], x[2])
        return [nil,
                try ifNeeded(1) { try Tensor.where(c, g, 0).sum(to: a.shape) },
                try ifNeeded(2) { try Tensor.where(c, 0, g).sum(to: b.shape) }]

    case .reduce(.sum, _):  // every input element contributed once
        return [try g.expanded(to: x[0].shape)]

    case .reduce(.max, let axes):  // shared equally among the elements that attained the maximum
        let attained = try (x[0] .== y.detached().expanded(to: x[0].shape))
        let ties = try attained.sum(axes: axes, keepDims: true)
        return [try g.expanded(to: x[0].shape) * attained / ties]

    case .reshape:
        return [try g.reshaped(x[0].shape)]

    case .permute(let permutation):  // undo the permutation
        var inverse = permutation
        for (i, p) in permutation.enumerated() { inverse[p] = i }
        return [try g.permuted(inverse)]

    case .expand:  // a broadcast input was used many times: add up its uses
        return [try g.sum(to: x[0].shape)]

    case .slice(let lower):  // the gradient is g inside the box and zero outside
        let after = (0..<x[0].rank).map { x[0].shape[$0] - lower[$0] - g.shape[$0] }
        return [try g.paddedPrimitive(before: lower, after: after)]

    case .pad(let before):  // only the original box reaches the input
        return [try g.slicedPrimitive(lower: before, upper: zip(before, x[0].shape.dims).map(+))]

    case .concat(let axis):  // each input gets its own stretch of g
        var start = 0
        return try x.enumerated().map { i, input in
            defer { start += input.shape[axis] }
            guard needs[i] else { return nil }
            var lower = [Int](repeating: 0, count: g.rank), upper = g.shape.dims
            lower[axis] = start
            upper[axis] = start + input.shape[axis]
            return try g.slicedPrimitive(lower: lower, upper: upper)
        }

    case let .matmul(ta, tb):  // C = op(A)·op(B):  ∂A from g·op(B)ᵀ,  ∂B from op(A)ᵀ·g
        let (a, b) = (x[0], x[1])
        return [try ifNeeded(0) {
                    let ga = ta ? try Tensor.matmulPrimitive(b, g, transposeA: tb, transposeB: true)   // (g·op(B)ᵀ)ᵀ
                                : try Tensor.matmulPrimitive(g, b, transposeA: false, transposeB: !tb) // g·op(B)ᵀ
                    return try ga.sum(to: a.shape)
                },
                try ifNeeded(1) {
                    let gb = tb ? try Tensor.matmulPrimitive(g, a, transposeA: true, transposeB: ta)   // (op(A)ᵀ·g)ᵀ
                                : try Tensor.matmulPrimitive(a, g, transposeA: !ta, transposeB: false) // op(A)ᵀ·g
                    return try gb.sum(to: b.shape)
                }]

    // conv2d(x, w), its input adjoint T(dy, w) and weight adjoint W(x, dy) are three faces of
    // one trilinear form ⟨conv2d(x, w), dy⟩, so each one's derivative is one of the others.
    // A bias, when fused in as a third input, is added to every pixel of its channel: its
    // gradient sums g over the batch and the pixels.
    case .conv2d(let geometry):
        let (input, weight) = (x[0], x[1])
        return [try ifNeeded(0) { try Tensor.conv2dInputGradPrimitive(g, weight, inputShape: input.shape, geometry) },
                try ifNeeded(1) { try Tensor.conv2dWeightGradPrimitive(input, g, weightShape: weight.shape, geometry) }]
            + (x.count == 3 ? [try ifNeeded(2) { try g.sum(axes: [0, 2, 3]) }] : [])

    case .conv2dInputGrad(let geometry):
        let (dy, weight) = (x[0], x[1])
        return [try ifNeeded(0) { try Tensor.conv2dPrimitive(g, weight, geometry) },
                try ifNeeded(1) { try Tensor.conv2dWeightGradPrimitive(g, dy, weightShape: weight.shape, geometry) }]
            + (x.count == 3 ? [try ifNeeded(2) { try g.sum(axes: [0, 2, 3]) }] : [])

    case .conv2dWeightGrad(let geometry):
        let (input, dy) = (x[0], x[1])
        return [try ifNeeded(0) { try Tensor.conv2dInputGradPrimitive(dy, g, inputShape: input.shape, geometry) },
                try ifNeeded(1) { try Tensor.conv2dPrimitive(input, g, geometry) }]
    }
}
