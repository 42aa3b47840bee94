// The tensor API. Primitives (Primitives.swift) have kernels and derivatives; everything else
// here is composed of them, so it is differentiable to any order without further code.

infix operator .== : ComparisonPrecedence
infix operator .!= : ComparisonPrecedence
infix operator .< : ComparisonPrecedence
infix operator .<= : ComparisonPrecedence
infix operator .> : ComparisonPrecedence
infix operator .>= : ComparisonPrecedence

// MARK: - Arithmetic (broadcasting)

extension Tensor {
    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try binary(.add, a, b) }
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try binary(.sub, a, b) }
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try binary(.mul, a, b) }
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try binary(.div, a, b) }
    public static prefix func - (a: Tensor) throws -> Tensor { try unary(.neg, a) }

    /// Elementwise comparisons give 1 where true and 0 where false (no gradient).
    public static func .== (a: Tensor, b: Tensor) throws -> Tensor { try binary(.equal, a, b) }
    public static func .!= (a: Tensor, b: Tensor) throws -> Tensor { try binary(.notEqual, a, b) }
    public static func .< (a: Tensor, b: Tensor) throws -> Tensor { try binary(.less, a, b) }
    public static func .<= (a: Tensor, b: Tensor) throws -> Tensor { try binary(.lessEqual, a, b) }
    public static func .> (a: Tensor, b: Tensor) throws -> Tensor { try binary(.greater, a, b) }
    public static func .>= (a: Tensor, b: Tensor) throws -> Tensor { try binary(.greaterEqual, a, b) }
}

// MARK: - Elementwise math

public func exp(_ x: Tensor) throws -> Tensor { try Tensor.unary(.exp, x) }
public func log(_ x: Tensor) throws -> Tensor { try Tensor.unary(.log, x) }
public func sqrt(_ x: Tensor) throws -> Tensor { try Tensor.unary(.sqrt, x) }
public func tanh(_ x: Tensor) throws -> Tensor { try Tensor.unary(.tanh, x) }
public func sigmoid(_ x: Tensor) throws -> Tensor { try Tensor.unary(.sigmoid, x) }
public func relu(_ x: Tensor) throws -> Tensor { try Tensor.unary(.relu, x) }
public func abs(_ x: Tensor) throws -> Tensor { try Tensor.unary(.abs, x) }
/// −1, 0 or 1 by the sign of each element (no gradient).
public func sign(_ x: Tensor) throws -> Tensor { try Tensor.unary(.sign, x) }
public func sin(_ x: Tensor) throws -> Tensor { try Tensor.unary(.sin, x) }
public func cos(_ x: Tensor) throws -> Tensor { try Tensor.unary(.cos, x) }
/// xᵖ elementwise for a constant exponent.
public func pow(_ x: Tensor, _ p: Float) throws -> Tensor { try Tensor.unary(.pow(p), x) }
/// xʸ elementwise for positive x, as exp(y·log x).
@_disfavoredOverload
public func pow(_ x: Tensor, _ y: Tensor) throws -> Tensor { try exp(y * log(x)) }
/// 1/√x
public func rsqrt(_ x: Tensor) throws -> Tensor { try pow(x, Float(-0.5)) }
/// x where x > 0, slope·x elsewhere. The slope has no default here: the study's critic uses NN's
/// `criticLeakySlope` (0.2), PyTorch's F.leaky_relu 0.01, and a caller says which it means.
public func leakyRelu(_ x: Tensor, slope: Float) throws -> Tensor {
    try Tensor.unary(.leakyRelu(slope: slope), x)
}
/// The larger of a and b elementwise (a on ties).
public func maximum(_ a: Tensor, _ b: Tensor) throws -> Tensor { try Tensor.where(a .>= b, a, b) }
/// The smaller of a and b elementwise (a on ties).
public func minimum(_ a: Tensor, _ b: Tensor) throws -> Tensor { try Tensor.where(a .<= b, a, b) }
/// Limits every element to [min, max]; the gradient is zero where the limit applies.
public func clamp(_ x: Tensor, min low: Float? = nil, max high: Float? = nil) throws -> Tensor {
    if let low, let high, low > high {
        throw EngineError.invalidArgument(op: "clamp", message: "min \(low) is greater than max \(high)")
    }
    var y = x
    if let low { y = try Tensor.where(y .< Tensor(low), Tensor(low), y) }
    if let high { y = try Tensor.where(y .> Tensor(high), Tensor(high), y) }
    return y
}

/// The matrix product over the last two axes, leading axes broadcast (NumPy's matmul,
/// including its rules for vectors: a 1-D left operand is a row, a 1-D right one a column).
public func matmul(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    guard a.rank >= 1, b.rank >= 1 else {
        throw EngineError.shapeMismatch(op: "matmul", shapes: [a.shape, b.shape], reason: "scalars have no matrix product; use *")
    }
    let a2 = a.rank == 1 ? try a.reshaped([1, a.count]) : a
    let b2 = b.rank == 1 ? try b.reshaped([b.count, 1]) : b
    var c = try Tensor.matmulPrimitive(a2, b2, transposeA: false, transposeB: false)
    if a.rank == 1 { c = try c.squeezed(axis: -2) }
    if b.rank == 1 { c = try c.squeezed(axis: -1) }
    return c
}

/// op(a) · op(b) over the last two axes, with op a transpose where asked: the transpose is read
/// in place by the kernel, not copied (Linear's x·Wᵀ, for instance).
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws -> Tensor {
    if !transposeA && !transposeB { return try matmul(a, b) }
    return try Tensor.matmulPrimitive(a, b, transposeA: transposeA, transposeB: transposeB)
}

extension Tensor {
    public func matmul(_ other: Tensor) throws -> Tensor { try Engine.matmul(self, other) }
}

// MARK: - Convolution

/// 2-D cross-correlation (PyTorch's conv2d): input `[N, C, H, W]`, weight `[outC, C, kH, kW]`,
/// optional bias `[outC]`.
public func conv2d(_ x: Tensor, _ w: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                   dilation: Int = 1) throws -> Tensor {
    try Tensor.conv2dPrimitive(x, w, bias: bias, ConvGeometry(stride: stride, padding: padding, dilation: dilation))
}

/// Transposed convolution (PyTorch's conv_transpose2d, the generator's upsampling): the
/// adjoint of conv2d. Weight `[inC, outC, kH, kW]`; output size
/// (H − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1.
public func convTranspose2d(_ x: Tensor, _ w: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                            outputPadding: Int = 0, dilation: Int = 1) throws -> Tensor {
    guard x.rank == 4, w.rank == 4, x.shape[1] == w.shape[0] else {
        throw EngineError.shapeMismatch(op: "convTranspose2d", shapes: [x.shape, w.shape],
                                        reason: "input must be [N, C, H, W] and weight [C, outC, kH, kW] with matching C")
    }
    guard outputPadding >= 0, outputPadding < max(stride, dilation) else {
        throw EngineError.invalidArgument(op: "convTranspose2d", message: "outputPadding \(outputPadding) must be smaller than stride or dilation")
    }
    func size(_ input: Int, _ k: Int) -> Int { (input - 1) * stride - 2 * padding + dilation * (k - 1) + outputPadding + 1 }
    let outShape: Shape = [x.shape[0], w.shape[1], size(x.shape[2], w.shape[2]), size(x.shape[3], w.shape[3])]
    guard outShape[2] >= 1, outShape[3] >= 1 else {
        throw EngineError.shapeMismatch(op: "convTranspose2d", shapes: [x.shape, w.shape], reason: "padding \(padding) leaves no output")
    }
    return try Tensor.conv2dInputGradPrimitive(x, w, bias: bias, inputShape: outShape,
                                               ConvGeometry(stride: stride, padding: padding, dilation: dilation), op: "convTranspose2d")
}

// MARK: - Reductions

extension Tensor {
    /// Σ over `axes` (all axes when nil).
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor {
        let axes = try shape.axes(axes, op: "sum")
        return try dropping(axes, keepDims, Tensor.reduce(.sum, self, axes: axes, name: "sum"))
    }

    /// The largest element over `axes`; its gradient is shared among ties.
    public func max(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor {
        let axes = try shape.axes(axes, op: "max")
        return try dropping(axes, keepDims, Tensor.reduce(.max, self, axes: axes, name: "max"))
    }

    public func min(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor {
        try -((-self).max(axes: axes, keepDims: keepDims))
    }

    /// The arithmetic mean over `axes`.
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor {
        let n = try reducedCount(axes, op: "mean")
        return try sum(axes: axes, keepDims: keepDims) / Tensor(Float(n))
    }

    /// Σ(x − mean)² / (n − 1 if unbiased, else n) over `axes`. Biased (÷ n) by default, as
    /// instance and batch normalization use; unbiased is NumPy's ddof=1 and torch.var's default.
    public func variance(axes: [Int]? = nil, unbiased: Bool = false, keepDims: Bool = false) throws -> Tensor {
        let n = try reducedCount(axes, op: "variance")
        let divisor = unbiased ? n - 1 : n
        guard divisor > 0 else {
            throw EngineError.invalidArgument(op: "variance", message: "needs \(unbiased ? "at least 2 elements for the unbiased estimate" : "at least 1 element") along the reduced axes of shape \(shape)")
        }
        let centred = try self - mean(axes: axes, keepDims: true)
        return try (centred * centred).sum(axes: axes, keepDims: keepDims) / Tensor(Float(divisor))
    }

    /// The standard deviation, √variance.
    public func std(axes: [Int]? = nil, unbiased: Bool = false, keepDims: Bool = false) throws -> Tensor {
        try Engine.sqrt(variance(axes: axes, unbiased: unbiased, keepDims: keepDims))
    }

    /// The Euclidean (L2) norm √Σx² over `axes`.
    public func norm(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor {
        try Engine.sqrt((self * self).sum(axes: axes, keepDims: keepDims))
    }

    /// Sums the broadcast axes away, so a gradient gets the shape of the input it belongs to.
    public func sum(to target: Shape) throws -> Tensor {
        if shape == target { return self }
        let leading = rank - target.rank
        guard leading >= 0, try Shape.broadcast([target, shape], op: "sum(to:)") == shape else {
            throw EngineError.shapeMismatch(op: "sum(to:)", shapes: [shape, target], reason: "the target must broadcast to the tensor's shape")
        }
        let axes = (0..<rank).filter { $0 < leading || (target[$0 - leading] == 1 && shape[$0] != 1) }
        return try Tensor.reduce(.sum, self, axes: axes, name: "sum(to:)").reshaped(target)
    }

    private func reducedCount(_ axes: [Int]?, op: String) throws -> Int {
        try shape.axes(axes, op: op).map { shape[$0] }.reduce(1, *)
    }

    private func dropping(_ axes: [Int], _ keepDims: Bool, _ reduced: Tensor) throws -> Tensor {
        keepDims ? reduced : try reduced.reshaped(Shape(shape.dims.enumerated().filter { !axes.contains($0.offset) }.map(\.element)))
    }
}

// MARK: - Shape and movement

extension Tensor {
    /// The same elements in another shape; one dimension may be -1 and is then inferred.
    public func reshaped(_ newShape: Shape) throws -> Tensor {
        var dims = newShape.dims
        let unknown = dims.indices.filter { dims[$0] == -1 }
        if unknown.count > 1 {
            throw EngineError.invalidArgument(op: "reshape", message: "only one dimension can be -1 in \(newShape)")
        }
        if let u = unknown.first {
            let known = dims.enumerated().filter { $0.offset != u }.map(\.element).reduce(1, *)
            guard known > 0, count % known == 0 else {
                throw EngineError.shapeMismatch(op: "reshape", shapes: [shape, newShape], reason: "\(count) elements cannot fill \(newShape)")
            }
            dims[u] = count / known
        }
        return try reshapedPrimitive(Shape(dims))
    }

    /// All elements as a vector.
    public func flattened() throws -> Tensor { try reshaped([count]) }

    /// Reorders the axes: result axis i is input axis `permutation[i]`.
    public func permuted(_ permutation: [Int]) throws -> Tensor {
        try permutedPrimitive(permutation.map { try shape.axis($0, op: "permute") })
    }

    /// Swaps two axes (the last two by default: the matrix transpose of each batch element).
    public func transposed(_ a: Int = -2, _ b: Int = -1) throws -> Tensor {
        guard rank >= 2 else { return self }
        var permutation = Array(0..<rank)
        permutation.swapAt(try shape.axis(a, op: "transpose"), try shape.axis(b, op: "transpose"))
        return try permutedPrimitive(permutation)
    }

    /// All axes reversed, as NumPy's `.T` (the transpose of a matrix).
    public var T: Tensor {
        get throws { try permutedPrimitive(Array((0..<rank).reversed())) }
    }

    /// Repeats axes of size 1 (and adds leading axes) to reach `shape`, by broadcasting.
    public func expanded(to shape: Shape) throws -> Tensor {
        shape == self.shape ? self : try expandedPrimitive(shape)
    }

    /// Zero padding: `padding[i] = (before, after)` for axis i; missing leading axes get none.
    public func padded(_ padding: [(before: Int, after: Int)]) throws -> Tensor {
        guard padding.count <= rank else {
            throw EngineError.invalidArgument(op: "pad", message: "\(padding.count) paddings for a tensor of rank \(rank)")
        }
        let missing = [(before: Int, after: Int)](repeating: (0, 0), count: rank - padding.count)
        let all = missing + padding
        return try paddedPrimitive(before: all.map(\.before), after: all.map(\.after))
    }

    /// Joins tensors along `axis`; the other axes must agree.
    public static func concat(_ tensors: [Tensor], axis: Int = 0) throws -> Tensor {
        try concatPrimitive(tensors, axis: axis)
    }

    /// Stacks tensors of one shape along a new axis.
    public static func stack(_ tensors: [Tensor], axis: Int = 0) throws -> Tensor {
        guard let first = tensors.first else { throw EngineError.invalidArgument(op: "stack", message: "needs at least one tensor") }
        let a = axis < 0 ? axis + first.rank + 1 : axis
        guard a >= 0 && a <= first.rank else { throw EngineError.invalidAxis(op: "stack", axis: axis, rank: first.rank + 1) }
        return try concat(tensors.map { t in
            guard t.shape == first.shape else {
                throw EngineError.shapeMismatch(op: "stack", shapes: tensors.map(\.shape), reason: "all tensors must have the same shape")
            }
            var dims = t.shape.dims
            dims.insert(1, at: a)
            return try t.reshaped(Shape(dims))
        }, axis: a)
    }

    /// Adds an axis of size 1 at `axis`.
    public func unsqueezed(axis: Int) throws -> Tensor {
        let a = axis < 0 ? axis + rank + 1 : axis
        guard a >= 0 && a <= rank else { throw EngineError.invalidAxis(op: "unsqueeze", axis: axis, rank: rank + 1) }
        var dims = shape.dims
        dims.insert(1, at: a)
        return try reshaped(Shape(dims))
    }

    /// Removes an axis of size 1.
    public func squeezed(axis: Int) throws -> Tensor {
        let a = try shape.axis(axis, op: "squeeze")
        guard shape[a] == 1 else {
            throw EngineError.invalidArgument(op: "squeeze", message: "axis \(axis) of shape \(shape) has size \(shape[a]), not 1")
        }
        var dims = shape.dims
        dims.remove(at: a)
        return try reshaped(Shape(dims))
    }
}

// MARK: - Indexing

/// One position in a subscript: a single index (the axis disappears, as in NumPy), a range
/// (bounds may be negative or missing), or every element of the axis.
public enum TensorIndex: Sendable, TensorIndexExpression {
    case at(Int)
    case range(Int?, Int?)
    case all
    public var tensorIndex: TensorIndex { self }
}

/// What can stand in a tensor subscript: `x[1]`, `x[0..<2, -1]`, `x[.all, 1...]`.
public protocol TensorIndexExpression { var tensorIndex: TensorIndex { get } }
extension Int: TensorIndexExpression { public var tensorIndex: TensorIndex { .at(self) } }
extension Range: TensorIndexExpression where Bound == Int {
    public var tensorIndex: TensorIndex { .range(lowerBound, upperBound) }
}
extension ClosedRange: TensorIndexExpression where Bound == Int {
    public var tensorIndex: TensorIndex { .range(lowerBound, upperBound == -1 ? nil : upperBound + 1) }
}
extension PartialRangeFrom: TensorIndexExpression where Bound == Int {
    public var tensorIndex: TensorIndex { .range(lowerBound, nil) }
}
extension PartialRangeUpTo: TensorIndexExpression where Bound == Int {
    public var tensorIndex: TensorIndex { .range(nil, upperBound) }
}
extension PartialRangeThrough: TensorIndexExpression where Bound == Int {
    public var tensorIndex: TensorIndex { .range(nil, upperBound == -1 ? nil : upperBound + 1) }
}

extension Tensor {
    public subscript(_ indices: any TensorIndexExpression...) -> Tensor {
        get throws { try index(indices.map(\.tensorIndex)) }
    }

    /// NumPy-style basic indexing: negative indices count from the end; a range is clipped to
    /// the axis; a single index out of range is an error.
    public func index(_ indices: [TensorIndex]) throws -> Tensor {
        guard indices.count <= rank else {
            throw EngineError.invalidArgument(op: "index", message: "\(indices.count) indices for a tensor of rank \(rank) (shape \(shape))")
        }
        var lower = [Int](repeating: 0, count: rank), upper = shape.dims
        var dropped: [Int] = []
        for (axis, index) in indices.enumerated() {
            let size = shape[axis]
            switch index {
            case .all: break
            case .at(let i):
                let j = i < 0 ? i + size : i
                guard j >= 0 && j < size else { throw EngineError.indexOutOfRange(op: "index", index: i, axis: axis, size: size) }
                (lower[axis], upper[axis]) = (j, j + 1)
                dropped.append(axis)
            case .range(let start, let end):
                func clip(_ v: Int?, _ fallback: Int) -> Int {
                    guard let v else { return fallback }
                    return Swift.min(Swift.max(v < 0 ? v + size : v, 0), size)
                }
                lower[axis] = clip(start, 0)
                upper[axis] = Swift.max(clip(end, size), lower[axis])
            }
        }
        let box = (lower == [Int](repeating: 0, count: rank) && upper == shape.dims) ? self
            : try slicedPrimitive(lower: lower, upper: upper)
        if dropped.isEmpty { return box }
        return try box.reshaped(Shape(box.shape.dims.enumerated().filter { !dropped.contains($0.offset) }.map(\.element)))
    }
}
