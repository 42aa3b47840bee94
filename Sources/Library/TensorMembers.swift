import Engine
import Script

private func property(_ name: String, _ signature: String, _ doc: String, example: String,
                      _ body: @escaping @Sendable (Tensor) throws -> Value) -> TensorMember {
    TensorMember(name: name, signature: signature, doc: doc, example: example, isProperty: true) { t, _ in try body(t) }
}

private func method(_ name: String, _ signature: String, _ doc: String, example: String,
                    _ body: @escaping @Sendable (Tensor, Arguments) throws -> Value) -> TensorMember {
    TensorMember(name: name, signature: signature, doc: doc, example: example, isProperty: false, body: body)
}

private func reduction(_ name: String, _ doc: String, _ f: @escaping @Sendable (Tensor, [Int]?, Bool) throws -> Tensor) -> TensorMember {
    method(name, "x.\(name)(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor", doc, example: "tensor([[1, 2], [3, 4]]).\(name)(axes: [1])") { t, args in
        try args.allow(["axes", "keepDims"])
        return .tensor(try f(t, args.axes(), args.optionalBool("keepDims") ?? false))
    }
}

/// Properties and methods of tensors, in one table like the builtins.
public let tensorMembers: [TensorMember] = [
    property("shape", "x.shape -> [Int]", "The size of each axis.", example: "zeros(2, 3).shape") { shapeValue($0.shape) },
    property("rank", "x.rank -> Int", "The number of axes.", example: "zeros(2, 3).rank") { .number(Double($0.rank)) },
    property("count", "x.count -> Int", "The number of elements.", example: "zeros(2, 3).count") { .number(Double($0.count)) },
    property("T", "x.T -> Tensor", "The transpose (all axes reversed, as NumPy's .T).", example: "tensor([[1, 2], [3, 4]]).T") { .tensor(try $0.T) },
    property("grad", "x.grad -> Tensor?", "The gradient backward() accumulated into this leaf, or nil.",
             example: "let w = tensor([1, 2]).requiringGrad(); (w * w).sum().backward(); w.grad") { t in t.grad.map { .tensor($0) } ?? .none },
    property("requiresGrad", "x.requiresGrad -> Bool", "Whether gradients flow to this value.", example: "randn(2).requiresGrad") { .bool($0.requiresGrad) },
    reduction("sum", "Σ over the axes (all when omitted).") { try $0.sum(axes: $1, keepDims: $2) },
    reduction("mean", "The mean over the axes.") { try $0.mean(axes: $1, keepDims: $2) },
    reduction("max", "The largest element over the axes.") { try $0.max(axes: $1, keepDims: $2) },
    reduction("min", "The smallest element over the axes.") { try $0.min(axes: $1, keepDims: $2) },
    reduction("norm", "The Euclidean norm √Σx² over the axes.") { try $0.norm(axes: $1, keepDims: $2) },
    method("variance", "x.variance(axes: [Int]? = nil, unbiased: Bool = false, keepDims: Bool = false) -> Tensor",
           "Σ(x − mean)² / n (or n − 1 when unbiased).", example: "tensor([1, 2, 3, 4]).variance(unbiased: true)") { t, args in
        try args.allow(["axes", "unbiased", "keepDims"])
        return .tensor(try t.variance(axes: args.axes(), unbiased: args.optionalBool("unbiased") ?? false, keepDims: args.optionalBool("keepDims") ?? false))
    },
    method("std", "x.std(axes: [Int]? = nil, unbiased: Bool = false, keepDims: Bool = false) -> Tensor", "The standard deviation.",
           example: "tensor([1, 2, 3, 4]).std()") { t, args in
        try args.allow(["axes", "unbiased", "keepDims"])
        return .tensor(try t.std(axes: args.axes(), unbiased: args.optionalBool("unbiased") ?? false, keepDims: args.optionalBool("keepDims") ?? false))
    },
    method("reshaped", "x.reshaped(_ shape: Int...) -> Tensor", "The same elements in another shape; one dimension may be -1.",
           example: "arange(6).reshaped([2, -1])") { t, args in
        try args.allow([]); return .tensor(try t.reshaped(args.shape()))
    },
    method("transposed", "x.transposed() -> Tensor", "Swaps the last two axes.", example: "zeros(2, 3).transposed().shape") { t, args in
        try args.allow([]); return .tensor(try t.transposed())
    },
    method("permuted", "x.permuted(_ axes: [Int]) -> Tensor", "Reorders the axes.", example: "zeros(2, 3, 4).permuted([2, 0, 1]).shape") { t, args in
        try args.allow([]); return .tensor(try t.permuted(args.shape().dims))
    },
    method("flattened", "x.flattened() -> Tensor", "All elements as a vector.", example: "ones(2, 2).flattened()") { t, args in
        try args.allow([]); return .tensor(try t.flattened())
    },
    method("item", "x.item() -> Number", "The single element of a one-element tensor as a number.", example: "tensor([[3]]).item()") { t, args in
        try args.allow([]); return .number(Double(try t.item()))
    },
    method("scalars", "x.scalars() -> [Number]", "The elements as an array.", example: "tensor([[1, 2], [3, 4]]).scalars()") { t, args in
        try args.allow([]); return .array(t.scalars.map { .number(Double($0)) })
    },
    method("sorted", "x.sorted() -> Tensor", "The elements of a vector in increasing order (no gradient).",
           example: "tensor([3, 1, 2]).sorted()") { t, args in
        try args.allow([])
        guard t.rank == 1 else { throw args.error("sorts a vector; flatten first (x.flattened().sorted())") }
        return .tensor(try Tensor(t.scalars.sorted()))
    },
    method("requiringGrad", "x.requiringGrad() -> Tensor", "The same values as a leaf of the autograd graph.",
           example: "tensor([1, 2]).requiringGrad().requiresGrad") { t, args in
        try args.allow([]); return .tensor(t.requiringGrad())
    },
    method("detached", "x.detached() -> Tensor", "The same values, cut from the graph (a constant).", example: "randn(2).detached()") { t, args in
        try args.allow([]); return .tensor(t.detached())
    },
    method("backward", "y.backward()", "Accumulates ∂y/∂leaf into the grad of every leaf y depends on (y a scalar).",
           example: "let w = tensor([3]).requiringGrad(); (w * w).sum().backward(); w.grad") { t, args in
        try args.allow([]); try t.backward(); return .none
    },
]
