import Engine
import Script

private func property(_ name: String, returns: String, _ doc: String, example: String,
                      _ body: @escaping @Sendable (Tensor) throws -> Value) -> TensorMember {
    TensorMember(name, [], returns: returns, isProperty: true, doc: doc, example: example) { t, _ in try body(t) }
}

private func method(_ name: String, _ parameters: [BuiltinParameter] = [], returns: String?, _ doc: String, example: String,
                    _ body: @escaping @Sendable (Tensor, BoundArguments) throws -> Value) -> TensorMember {
    TensorMember(name, parameters, returns: returns, isProperty: false, doc: doc, example: example, body)
}

private let axes = BuiltinParameter.labelled("axes", .either(.int, .list(.int)), default: nil, aliases: ["dim"],
                                             "an axis or an array of axes (all when omitted); negative counts from the end")
private let keepDims = BuiltinParameter.labelled("keepDims", .bool, default: false, aliases: ["keepdim"],
                                                 "keep each reduced axis with size 1, so the result broadcasts against x")
private let unbiased = BuiltinParameter.labelled("unbiased", .bool, default: false, "divide by n − 1 instead of n")

private func reduction(_ name: String, _ doc: String, _ f: @escaping @Sendable (Tensor, [Int]?, Bool) throws -> Tensor) -> TensorMember {
    method(name, [axes, keepDims], returns: "Tensor", doc, example: "tensor([[1, 2], [3, 4]]).\(name)(axes: [1])") { t, args in
        .tensor(try f(t, args.axes("axes"), args.bool("keepDims")))
    }
}

/// Properties and methods of tensors, in one table like the builtins.
public let tensorMembers: [TensorMember] = [
    property("shape", returns: "[Int]", "The size of each axis.", example: "zeros(2, 3).shape") { shapeValue($0.shape) },
    property("rank", returns: "Int", "The number of axes.", example: "zeros(2, 3).rank") { .number(Double($0.rank)) },
    property("count", returns: "Int", "The number of elements.", example: "zeros(2, 3).count") { .number(Double($0.count)) },
    property("T", returns: "Tensor", "The transpose (all axes reversed, as NumPy's .T).", example: "tensor([[1, 2], [3, 4]]).T") { .tensor(try $0.T) },
    property("grad", returns: "Tensor?", "The gradient backward() accumulated into this leaf, or nil.",
             example: "let w = tensor([1, 2]).requiringGrad(); (w * w).sum().backward(); w.grad") { t in t.grad.map { .tensor($0) } ?? .none },
    property("requiresGrad", returns: "Bool", "Whether gradients flow to this value.", example: "randn(2).requiresGrad") { .bool($0.requiresGrad) },
    reduction("sum", "Σ over the axes (all when omitted).") { try $0.sum(axes: $1, keepDims: $2) },
    reduction("mean", "The mean over the axes.") { try $0.mean(axes: $1, keepDims: $2) },
    reduction("max", "The largest element over the axes.") { try $0.max(axes: $1, keepDims: $2) },
    reduction("min", "The smallest element over the axes.") { try $0.min(axes: $1, keepDims: $2) },
    reduction("norm", "The Euclidean norm √Σx² over the axes.") { try $0.norm(axes: $1, keepDims: $2) },
    method("variance", [axes, unbiased, keepDims], returns: "Tensor",
           "Σ(x − mean)² / n (or n − 1 when unbiased).", example: "tensor([1, 2, 3, 4]).variance(unbiased: true)") { t, args in
        .tensor(try t.variance(axes: args.axes("axes"), unbiased: args.bool("unbiased"), keepDims: args.bool("keepDims")))
    },
    method("std", [axes, unbiased, keepDims], returns: "Tensor", "The standard deviation.", example: "tensor([1, 2, 3, 4]).std()") { t, args in
        .tensor(try t.std(axes: args.axes("axes"), unbiased: args.bool("unbiased"), keepDims: args.bool("keepDims")))
    },
    method("reshaped", [.variadic("shape", .int, "the new size of each axis; one may be -1 (inferred)")], returns: "Tensor",
           "The same elements in another shape.", example: "arange(6).reshaped([2, -1])") { t, args in
        .tensor(try t.reshaped(Shape(args.ints("shape"))))
    },
    method("transposed", returns: "Tensor", "Swaps the last two axes.", example: "zeros(2, 3).transposed().shape") { t, _ in
        .tensor(try t.transposed())
    },
    method("permuted", [.variadic("axes", .int, "the new order of the axes: permuted(2, 0, 1) or permuted([2, 0, 1])")], returns: "Tensor",
           "Reorders the axes.", example: "zeros(2, 3, 4).permuted([2, 0, 1]).shape") { t, args in
        .tensor(try t.permuted(args.ints("axes")))
    },
    method("flattened", returns: "Tensor", "All elements as a vector.", example: "ones(2, 2).flattened()") { t, _ in .tensor(try t.flattened()) },
    method("item", returns: "Number", "The single element of a one-element tensor as a number.", example: "tensor([[3]]).item()") { t, _ in
        .number(Double(try t.item()))
    },
    method("scalars", returns: "[Number]", "The elements as an array.", example: "tensor([[1, 2], [3, 4]]).scalars()") { t, _ in
        .array(t.scalars.map { .number(Double($0)) })
    },
    method("sorted", returns: "Tensor", "The elements of a vector in increasing order (no gradient).",
           example: "tensor([3, 1, 2]).sorted()") { t, args in
        guard t.rank == 1 else { throw args.error("sorts a vector; flatten first (x.flattened().sorted())") }
        return .tensor(try Tensor(t.scalars.sorted()))
    },
    method("requiringGrad", returns: "Tensor", "The same values as a leaf of the autograd graph.",
           example: "tensor([1, 2]).requiringGrad().requiresGrad") { t, _ in .tensor(t.requiringGrad()) },
    method("detached", returns: "Tensor", "The same values, cut from the graph (a constant).", example: "randn(2).detached()") { t, _ in
        .tensor(t.detached())
    },
    method("backward", returns: nil, "Accumulates ∂y/∂leaf into the grad of every leaf y depends on (y a scalar).",
           example: "let w = tensor([3]).requiringGrad(); (w * w).sum().backward(); w.grad") { t, _ in
        try t.backward(); return .none
    },
]

/// What a PyTorch tensor method is written as here, for the hint when a student types the
/// PyTorch name (a function of the same name, like `abs`, is found from the builtin table).
let pytorchMemberNames: [String: String] = {
    let matmul = "is a @ b (or matmul(a, b)) here"
    return [
        "view": "is .reshaped(…) here", "reshape": "is .reshaped(…) here", "flatten": "is .flattened() here",
        "permute": "is .permuted(…) here", "transpose": "is .transposed() (the last two axes) or .permuted(…) here", "t": "is .T here",
        "size": "is .shape here", "numel": "is .count here", "dim": "is .rank here", "ndim": "is .rank here",
        "var": "is .variance(unbiased: true) here (PyTorch divides by n − 1 unless told, Normlab by n)",
        "detach": "is .detached() here", "requires_grad_": "is .requiringGrad() here", "requires_grad": "is .requiresGrad here",
        "tolist": "is .scalars() here", "sort": "is .sorted() here", "matmul": matmul, "mm": matmul, "bmm": matmul,
        "dot": "is (a * b).sum() here", "dtype": "has no counterpart: every tensor here is float32",
    ]
}()

/// PyTorch's functions and modules for the two formulas, and where they are here.
let pytorchFunctionNames: [String: String] = {
    let spectral = "formula (1) here is W / sigma_max(W) with the exact σ, or W / power_iteration(W, iters: 1).sigma as training estimates it (lesson 2)"
    let adain = "formula (2) here is adain(x, y); instance_stats(x) gives its μ and σ (lesson 3)"
    return ["spectral_norm": spectral, "SpectralNorm": spectral, "adaptive_instance_norm": adain, "AdaIN": adain,
            "instance_norm": adain, "InstanceNorm2d": adain]
}()

/// The hint for a tensor member that does not exist: the PyTorch spelling's counterpart, a
/// builtin function of that name, or the nearest member name.
func missingMemberHint(_ name: String) -> String? {
    if let counterpart = pytorchMemberNames[name] { return "PyTorch's .\(name) \(counterpart)" }
    if let function = Session.builtinsByName[name] {
        let more = function.signature.parameters.count > 1 ? ", …" : ""
        return "\(name) is a function here: \(name)(x\(more))"
    }
    return suggestion(for: name, among: tensorMembers.map(\.name)).map { "did you mean '\($0)'?" }
}
