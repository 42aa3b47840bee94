/// The primitive ops. Every other tensor op is composed of these, so these are the only
/// ops with kernels (one per backend) and the only ops with hand-written derivatives
/// (`Derivatives.swift`). Each forward here checks its shapes, with an error naming them,
/// allocates its result, runs the kernel and records itself on the tape.
enum Primitive {
    case leaf
    case unary(UnaryOp)
    case binary(BinaryOp)
    /// leakyReluGrad(g, x): g where x > 0, slope·g elsewhere (ReLU's with slope 0). The
    /// backward of (leaky) ReLU in one pass, where g · slope(x) took two.
    case leakyReluGrad(slope: Float)
    /// where(cond, a, b)
    case select
    /// Reduction keeping the reduced axes as size 1.
    case reduce(ReduceOp, axes: [Int])
    case reshape
    case permute([Int])
    /// Broadcast to a larger shape (the result's shape).
    case expand
    /// The box lower..<lower + result shape.
    case slice(lower: [Int])
    /// Zeros around: `before` on each axis, the rest after.
    case pad(before: [Int])
    case concat(axis: Int)
    case matmul(transposeA: Bool, transposeB: Bool)
    case conv2d(ConvGeometry)
    case conv2dInputGrad(ConvGeometry)
    case conv2dWeightGrad(ConvGeometry)

    /// Derivatives written with the output (exp, sqrt, …) keep it; the rest do not.
    var savesOutput: Bool {
        switch self {
        case .unary(.exp), .unary(.sqrt), .unary(.tanh), .unary(.sigmoid), .reduce(.max, _): return true
        default: return false
        }
    }

    var isDifferentiable: Bool {
        switch self {
        case .binary(let op): return !op.isComparison
        case .unary(.sign): return false
        default: return true
        }
    }

    var name: String {
        switch self {
        case .leaf: return "leaf"
        case .unary(let op): return "\(op)"
        case .binary(let op): return op.rawValue
        case .leakyReluGrad: return "leakyReluGrad"
        case .select: return "where"
        case .reduce(let op, let axes): return "\(op.rawValue)(axes: \(axes))"
        case .reshape: return "reshape"
        case .permute(let p): return "permute(\(p))"
        case .expand: return "expand"
        case .slice: return "slice"
        case .pad: return "pad"
        case .concat(let axis): return "concat(axis: \(axis))"
        case .matmul(let ta, let tb): return "matmul" + (ta ? "(Aᵀ)" : "") + (tb ? "(Bᵀ)" : "")
        case .conv2d: return "conv2d"
        case .conv2dInputGrad: return "conv2dInputGrad"
        case .conv2dWeightGrad: return "conv2dWeightGrad"
        }
    }
}

extension Tensor {
    /// Allocates the result, runs `kernel` on the current backend, and records the op when
    /// gradients are on and some input is in the graph.
    static func apply(_ primitive: Primitive, _ inputs: [Tensor], shape: Shape, op: String,
                      kernel: (any Backend, UnsafeMutableBufferPointer<Float>) -> Void) throws -> Tensor {
        let storage = try Storage(uninitializedFor: shape, op: op)
        kernel(Runtime.backend, storage.buffer)
        return recorded(primitive, inputs, Tensor(shape: shape, storage: storage))
    }

    static func recorded(_ primitive: Primitive, _ inputs: [Tensor], _ result: Tensor) -> Tensor {
        guard GradMode.isEnabled, primitive.isDifferentiable, inputs.contains(where: { $0.node != nil }) else {
            return result
        }
        var result = result
        result.node = Node(primitive, inputs: inputs, shape: result.shape,
                           savedOutput: primitive.savesOutput ? result.storage : nil)
        return result
    }

    var view: StridedView { StridedView(base: storage.pointer, strides: shape.strides) }

    func view(broadcastTo target: Shape) -> StridedView {
        StridedView(base: storage.pointer, strides: shape.broadcastStrides(to: target))
    }

    // MARK: Elementwise

    static func unary(_ op: UnaryOp, _ x: Tensor) throws -> Tensor {
        try apply(.unary(op), [x], shape: x.shape, op: "\(op)") { backend, out in
            backend.unary(op, x.storage.readOnly, out)
        }
    }

    static func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        let shape = try Shape.broadcast([a.shape, b.shape], op: op.rawValue)
        return try apply(.binary(op), [a, b], shape: shape, op: op.rawValue) { backend, out in
            backend.binary(op, a.view(broadcastTo: shape), b.view(broadcastTo: shape), shape: shape, out)
        }
    }

    /// g where x > 0, slope·g elsewhere: the upstream gradient `g` through (leaky) ReLU at `x`.
    static func leakyReluGrad(_ g: Tensor, _ x: Tensor, slope: Float) throws -> Tensor {
        guard g.shape == x.shape else {
            throw EngineError.shapeMismatch(op: "leakyReluGrad", shapes: [g.shape, x.shape], reason: "the gradient must have the input's shape")
        }
        return try apply(.leakyReluGrad(slope: slope), [g, x.detached()], shape: x.shape, op: "leakyReluGrad") { backend, out in
            backend.leakyReluGrad(slope: slope, g.storage.readOnly, x.storage.readOnly, out)
        }
    }

    /// Elementwise `cond ≠ 0 ? a : b`, all three broadcast together.
    public static func `where`(_ cond: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        let shape = try Shape.broadcast([cond.shape, a.shape, b.shape], op: "where")
        return try apply(.select, [cond.detached(), a, b], shape: shape, op: "where") { backend, out in
            backend.select(cond.view(broadcastTo: shape), a.view(broadcastTo: shape), b.view(broadcastTo: shape),
                           shape: shape, out)
        }
    }

    // MARK: Reductions

    static func reduce(_ op: ReduceOp, _ x: Tensor, axes: [Int], name: String) throws -> Tensor {
        var dims = x.shape.dims
        for axis in axes {
            if op == .max && dims[axis] == 0 {
                throw EngineError.invalidArgument(op: name, message: "axis \(axis) of shape \(x.shape) is empty: a maximum needs at least one element")
            }
            dims[axis] = 1
        }
        return try apply(.reduce(op, axes: axes), [x], shape: Shape(dims), op: name) { backend, out in
            backend.reduce(op, x.storage.readOnly, shape: x.shape, axes: axes, out)
        }
    }

    // MARK: Movement

    /// The same elements read with another shape of equal count (no copy).
    func reshapedPrimitive(_ shape: Shape) throws -> Tensor {
        let shape = try shape.validated(op: "reshape")
        guard shape.count == count else {
            throw EngineError.shapeMismatch(op: "reshape", shapes: [self.shape, shape],
                                            reason: "\(count) elements cannot be viewed as \(shape.count)")
        }
        return Tensor.recorded(.reshape, [self], Tensor(shape: shape, storage: storage))
    }

    func permutedPrimitive(_ permutation: [Int]) throws -> Tensor {
        guard permutation.count == rank, Set(permutation) == Set(0..<rank) else {
            throw EngineError.invalidArgument(op: "permute", message: "\(permutation) is not a permutation of the \(rank) axes of a tensor of shape \(shape)")
        }
        let shape = Shape(permutation.map { self.shape[$0] })
        let strides = self.shape.strides
        let source = StridedView(base: storage.pointer, strides: permutation.map { strides[$0] })
        return try Tensor.apply(.permute(permutation), [self], shape: shape, op: "permute") { backend, out in
            backend.copy(source, shape: shape, to: MutableStridedView(base: out.baseAddress!, strides: shape.strides))
        }
    }

    func expandedPrimitive(_ shape: Shape) throws -> Tensor {
        let target = try shape.validated(op: "expand")
        guard target.rank >= rank, try Shape.broadcast([self.shape, target], op: "expand") == target else {
            throw EngineError.shapeMismatch(op: "expand", shapes: [self.shape, target],
                                            reason: "only axes of size 1 (or new leading axes) can be expanded")
        }
        return try Tensor.apply(.expand, [self], shape: target, op: "expand") { backend, out in
            backend.copy(view(broadcastTo: target), shape: target, to: MutableStridedView(base: out.baseAddress!, strides: target.strides))
        }
    }

    func slicedPrimitive(lower: [Int], upper: [Int]) throws -> Tensor {
        guard lower.count == rank, upper.count == rank else {
            throw EngineError.invalidArgument(op: "slice", message: "needs bounds for all \(rank) axes of shape \(shape)")
        }
        for axis in 0..<rank where !(0 <= lower[axis] && lower[axis] <= upper[axis] && upper[axis] <= shape[axis]) {
            throw EngineError.invalidArgument(op: "slice", message: "range \(lower[axis])..<\(upper[axis]) does not fit axis \(axis) of size \(shape[axis]) (shape \(shape))")
        }
        let result = Shape(zip(lower, upper).map { $1 - $0 })
        let strides = shape.strides
        let start = zip(lower, strides).map(*).reduce(0, +)
        let source = StridedView(base: storage.pointer + start, strides: strides)
        return try Tensor.apply(.slice(lower: lower), [self], shape: result, op: "slice") { backend, out in
            backend.copy(source, shape: result, to: MutableStridedView(base: out.baseAddress!, strides: result.strides))
        }
    }

    func paddedPrimitive(before: [Int], after: [Int]) throws -> Tensor {
        guard before.count == rank, after.count == rank, !(before + after).contains(where: { $0 < 0 }) else {
            throw EngineError.invalidArgument(op: "pad", message: "needs non-negative padding for all \(rank) axes of shape \(shape), got before \(before) after \(after)")
        }
        let result = try Shape((0..<rank).map { before[$0] + shape[$0] + after[$0] }).validated(op: "pad")
        let strides = result.strides
        let start = zip(before, strides).map(*).reduce(0, +)
        return try Tensor.apply(.pad(before: before), [self], shape: result, op: "pad") { backend, out in
            out.initialize(repeating: 0)
            backend.copy(view, shape: shape, to: MutableStridedView(base: out.baseAddress! + start, strides: strides))
        }
    }

    static func concatPrimitive(_ tensors: [Tensor], axis: Int) throws -> Tensor {
        guard let first = tensors.first else {
            throw EngineError.invalidArgument(op: "concat", message: "needs at least one tensor")
        }
        let axis = try first.shape.axis(axis, op: "concat")
        for t in tensors where t.rank != first.rank || (0..<first.rank).contains(where: { $0 != axis && t.shape[$0] != first.shape[$0] }) {
            throw EngineError.shapeMismatch(op: "concat", shapes: tensors.map(\.shape),
                                            reason: "all axes but axis \(axis) must match")
        }
        var dims = first.shape.dims
        dims[axis] = tensors.map { $0.shape[axis] }.reduce(0, +)
        let result = try Shape(dims).validated(op: "concat")
        let strides = result.strides
        return try apply(.concat(axis: axis), tensors, shape: result, op: "concat") { backend, out in
            var start = 0
            for t in tensors {
                backend.copy(t.view, shape: t.shape, to: MutableStridedView(base: out.baseAddress! + start * strides[axis], strides: strides))
                start += t.shape[axis]
            }
        }
    }

    // MARK: Matrix product

    /// Batched `op(a) · op(b)` over the last two axes, leading (batch) axes broadcast.
    static func matmulPrimitive(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool) throws -> Tensor {
        guard a.rank >= 2, b.rank >= 2 else {
            throw EngineError.shapeMismatch(op: "matmul", shapes: [a.shape, b.shape], reason: "both operands need at least 2 axes")
        }
        let (m, k) = transposeA ? (a.shape[a.rank - 1], a.shape[a.rank - 2]) : (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (kb, n) = transposeB ? (b.shape[b.rank - 1], b.shape[b.rank - 2]) : (b.shape[b.rank - 2], b.shape[b.rank - 1])
        guard k == kb else {
            throw EngineError.shapeMismatch(op: "matmul", shapes: [a.shape, b.shape],
                                            reason: "inner dimensions \(k) and \(kb) differ")
        }
        let batchA = Shape(Array(a.shape.dims.dropLast(2)))
        let batchB = Shape(Array(b.shape.dims.dropLast(2)))
        guard let batch = try? Shape.broadcast([batchA, batchB], op: "matmul") else {
            throw EngineError.shapeMismatch(op: "matmul", shapes: [a.shape, b.shape],
                                            reason: "batch axes \(batchA) and \(batchB) cannot broadcast")
        }
        let result = try Shape(batch.dims + [m, n]).validated(op: "matmul")
        // A batch-free operand is shared by every batch (stride 0); a broadcast one is expanded.
        func operand(_ t: Tensor, _ own: Shape) throws -> (Tensor, Int) {
            if own.rank == 0 { return (t, 0) }
            if own == batch { return (t, t.shape[t.rank - 2] * t.shape[t.rank - 1]) }
            let full = try noGrad { try t.expandedPrimitive(Shape(batch.dims + t.shape.dims.suffix(2))) }
            return (full, t.shape[t.rank - 2] * t.shape[t.rank - 1])
        }
        let (ea, strideA) = try operand(a, batchA)
        let (eb, strideB) = try operand(b, batchB)
        let dims = MatmulDims(batch: batch.count, m: m, k: k, n: n, transposeA: transposeA, transposeB: transposeB,
                              aBatchStride: strideA, bBatchStride: strideB)
        return try apply(.matmul(transposeA: transposeA, transposeB: transposeB), [a, b], shape: result, op: "matmul") { backend, out in
            backend.matmul(ea.storage.pointer, eb.storage.pointer, out.baseAddress!, dims)
        }
    }

    // MARK: Convolution

    static func convDims(_ op: String, input: Shape, weight: Shape, output: Shape?, _ g: ConvGeometry) throws -> ConvDims {
        guard input.rank == 4, weight.rank == 4 else {
            throw EngineError.shapeMismatch(op: op, shapes: [input, weight], reason: "input must be [N, C, H, W] and weight [outC, inC, kH, kW]")
        }
        guard input[1] == weight[1] else {
            throw EngineError.shapeMismatch(op: op, shapes: [input, weight],
                                            reason: "the input has \(input[1]) channels, the weight expects \(weight[1])")
        }
        guard g.stride.h >= 1, g.stride.w >= 1, g.dilation.h >= 1, g.dilation.w >= 1, g.padding.h >= 0, g.padding.w >= 0 else {
            throw EngineError.invalidArgument(op: op, message: "stride and dilation must be ≥ 1 and padding ≥ 0 (\(g))")
        }
        let outH = g.outputSize(input: input[2], kernel: weight[2], stride: g.stride.h, padding: g.padding.h, dilation: g.dilation.h)
        let outW = g.outputSize(input: input[3], kernel: weight[3], stride: g.stride.w, padding: g.padding.w, dilation: g.dilation.w)
        guard outH >= 1, outW >= 1, input[2] + 2 * g.padding.h >= g.dilation.h * (weight[2] - 1) + 1,
              input[3] + 2 * g.padding.w >= g.dilation.w * (weight[3] - 1) + 1 else {
            throw EngineError.shapeMismatch(op: op, shapes: [input, weight], reason: "the kernel is larger than the padded input (\(g))")
        }
        if let output, output != Shape([input[0], weight[0], outH, outW]) {
            throw EngineError.shapeMismatch(op: op, shapes: [input, weight, output],
                                            reason: "the output gradient must have shape \(Shape([input[0], weight[0], outH, outW]))")
        }
        return ConvDims(batch: input[0], inChannels: input[1], height: input[2], width: input[3],
                        outChannels: weight[0], kernelH: weight[2], kernelW: weight[3], outH: outH, outW: outW, geometry: g)
    }

    /// conv2d, plus a per-channel bias (`[outC]`, a third input) when given: adding it inside
    /// the kernel, image by image while the image is in cache, saves a pass over the output.
    static func conv2dPrimitive(_ x: Tensor, _ w: Tensor, bias: Tensor? = nil, _ g: ConvGeometry) throws -> Tensor {
        let d = try convDims("conv2d", input: x.shape, weight: w.shape, output: nil, g)
        let shape: Shape = [d.batch, d.outChannels, d.outH, d.outW]
        try checkChannelBias(bias, output: shape, op: "conv2d")
        return try apply(.conv2d(g), [x, w] + (bias.map { [$0] } ?? []), shape: shape, op: "conv2d") { backend, out in
            backend.conv2d(input: x.storage.pointer, weight: w.storage.pointer, bias: bias.map { UnsafePointer($0.storage.pointer) },
                           output: out.baseAddress!, d)
        }
    }

    /// The gradient of conv2d in its input: `dy` through the adjoint into `inputShape` (plus a
    /// bias per channel of `inputShape`, a transposed convolution's, when given).
    static func conv2dInputGradPrimitive(_ dy: Tensor, _ w: Tensor, bias: Tensor? = nil, inputShape: Shape, _ g: ConvGeometry,
                                         op: String = "conv2dInputGrad") throws -> Tensor {
        let d = try convDims("conv2dInputGrad", input: inputShape, weight: w.shape, output: dy.shape, g)
        try checkChannelBias(bias, output: inputShape, op: op)
        return try apply(.conv2dInputGrad(g), [dy, w] + (bias.map { [$0] } ?? []), shape: inputShape, op: "conv2dInputGrad") { backend, out in
            backend.conv2dInputGrad(outputGrad: dy.storage.pointer, weight: w.storage.pointer, bias: bias.map { UnsafePointer($0.storage.pointer) },
                                    inputGrad: out.baseAddress!, d)
        }
    }

    static func checkChannelBias(_ bias: Tensor?, output: Shape, op: String) throws {
        guard let bias, bias.shape != Shape([output[1]]) else { return }
        throw EngineError.shapeMismatch(op: op, shapes: [output, bias.shape], reason: "the bias must have one element per output channel, [\(output[1])]")
    }

    /// The gradient of conv2d in its weight, for a weight of `weightShape`.
    static func conv2dWeightGradPrimitive(_ x: Tensor, _ dy: Tensor, weightShape: Shape, _ g: ConvGeometry) throws -> Tensor {
        let d = try convDims("conv2dWeightGrad", input: x.shape, weight: weightShape, output: dy.shape, g)
        return try apply(.conv2dWeightGrad(g), [x, dy], shape: weightShape, op: "conv2dWeightGrad") { backend, out in
            backend.conv2dWeightGrad(input: x.storage.pointer, outputGrad: dy.storage.pointer, weightGrad: out.baseAddress!, d)
        }
    }
}
