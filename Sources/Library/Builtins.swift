import Engine
import Foundation
import GAN
import NN
import Preview
import Script

/// A number in, a number out; a tensor in, a tensor out.
private func elementwise(_ name: String, _ doc: String, _ number: @escaping @Sendable (Double) -> Double,
                         _ tensor: @escaping @Sendable (Tensor) throws -> Tensor) -> Builtin {
    Builtin(name, [.positional("x", .either(.tensor, .number), "a tensor (arrays of numbers convert), or a number")],
            returns: "same as x", .math, doc, example: "\(name)(tensor([0.5, 1, 2]))") { args, _ in
        if case .number(let n)? = args.value("x") { return .number(number(n)) }
        return .tensor(try tensor(args.tensor("x")))
    }
}

/// Pixel values of an image file or picture: [0, 1] or [−1, 1].
private let rangeParameter = BuiltinParameter.labelled("range", .choice(PixelRange.allCases.map(\.rawValue)), default: "unit",
                                                "\"unit\": pixels in [0, 1]; \"symmetric\": in [−1, 1], as the GAN's tanh output")
private let toyParameter = BuiltinParameter.positional("name", .choice(ToyDistribution.allCases.map(\.rawValue)), "which toy distribution")

/// The builtins table, by topic.
public let builtins: [Builtin] = coreBuiltins + studyBuiltins + tensorFileBuiltins

private let coreBuiltins: [Builtin] = [
    // MARK: Creating tensors
    Builtin("tensor", [.positional("values", .tensor, "a number or (nested) arrays of numbers")], returns: "Tensor", .tensors,
            "A tensor from (nested) arrays of numbers; the shape follows the nesting.",
            example: "tensor([[1, 2], [3, 4]])") { args, _ in
        .tensor(args.tensor("values"))
    },
    Builtin("zeros", [.variadic("shape", .int, "the size of each axis: zeros(2, 3) or zeros([2, 3])")], returns: "Tensor", .tensors,
            "A tensor of zeros.", example: "zeros(2, 3)") { args, _ in
        .tensor(try Tensor.zeros(Shape(args.ints("shape"))))
    },
    Builtin("ones", [.variadic("shape", .int, "the size of each axis: ones(2, 3) or ones([2, 3])")], returns: "Tensor", .tensors,
            "A tensor of ones.", example: "ones([2, 2])") { args, _ in
        .tensor(try Tensor.ones(Shape(args.ints("shape"))))
    },
    Builtin("full", [.positional("shape", .list(.int), "the size of each axis"), .labelled("value", .number, "every element's value")],
            returns: "Tensor", .tensors, "A tensor with every element equal to `value`.",
            example: "full([2, 3], value: 7)") { args, _ in
        .tensor(try Tensor.full(Shape(args.ints("shape")), value: Float(args.number("value"))))
    },
    Builtin("arange", [.positional("start", .number, "the first value; alone, it is the end and the start is 0"),
                       .positional("end", .number, default: nil, "where to stop (excluded)"),
                       .labelled("step", .number, default: 1, "the distance between values")],
            returns: "Tensor", .tensors,
            "start, start + step, … up to but excluding end, as NumPy's arange; arange(5) is 0…4.", example: "arange(0, 10, step: 2)") { args, _ in
        let (start, end) = args.optionalNumber("end").map { (args.number("start"), $0) } ?? (0, args.number("start"))
        return .tensor(try Tensor.arange(Float(start), Float(end), step: Float(args.number("step"))))
    },
    Builtin("linspace", [.positional("start", .number, "the first value"), .positional("end", .number, "the last value (included)"),
                         .labelled("count", .int, "how many values")],
            returns: "Tensor", .tensors, "`count` evenly spaced values from start to end, both included.", example: "linspace(0, 1, count: 5)") { args, _ in
        .tensor(try Tensor.linspace(Float(args.number("start")), Float(args.number("end")), count: args.int("count")))
    },
    Builtin("eye", [.positional("n", .int, "rows"), .positional("m", .int, default: nil, "columns (when omitted, n: a square matrix)")],
            returns: "Tensor", .tensors, "The identity matrix.", example: "eye(3)") { args, _ in
        .tensor(try Tensor.eye(args.int("n"), args.optionalInt("m")))
    },
    Builtin("randn", [.variadic("shape", .int, "the size of each axis")], returns: "Tensor", .tensors,
            "Standard normal samples from the session's seeded stream (see seed).", example: "randn(2, 3)") { args, _ in
        .tensor(try Tensor.randn(Shape(args.ints("shape"))))
    },
    Builtin("rand", [.variadic("shape", .int, "the size of each axis")], returns: "Tensor", .tensors,
            "Uniform samples in [0, 1) from the session's seeded stream.", example: "rand(3)") { args, _ in
        .tensor(try Tensor.rand(Shape(args.ints("shape"))))
    },
    Builtin("seed", [.positional("n", .int, "the seed (≥ 0)")], .tensors,
            "Restarts the random stream, so the same seed gives the same numbers (`:seed` shows the current one).",
            example: "seed(42)") { args, _ in
        let n = args.int("n")
        guard n >= 0 else { throw args.error("the seed must be ≥ 0, got \(n)") }
        Runtime.seed(UInt64(n))
        return .none
    },

    // MARK: Math
    elementwise("exp", "eˣ elementwise.", { Foundation.exp($0) }, { try Engine.exp($0) }),
    elementwise("log", "The natural logarithm elementwise.", { Foundation.log($0) }, { try Engine.log($0) }),
    elementwise("sqrt", "√x elementwise.", { $0.squareRoot() }, { try Engine.sqrt($0) }),
    elementwise("tanh", "The hyperbolic tangent elementwise.", { Foundation.tanh($0) }, { try Engine.tanh($0) }),
    elementwise("sigmoid", "1 / (1 + e⁻ˣ) elementwise.", { 1 / (1 + Foundation.exp(-$0)) }, { try Engine.sigmoid($0) }),
    elementwise("relu", "max(x, 0) elementwise.", { max($0, 0) }, { try Engine.relu($0) }),
    elementwise("abs", "|x| elementwise.", { Swift.abs($0) }, { try Engine.abs($0) }),
    elementwise("sin", "The sine elementwise.", { Foundation.sin($0) }, { try Engine.sin($0) }),
    elementwise("cos", "The cosine elementwise.", { Foundation.cos($0) }, { try Engine.cos($0) }),
    Builtin("round", [.positional("x", .number, "the number"), .labelled("digits", .int, default: 0, "decimal places, 0…15")],
            returns: "Number", .math, "x rounded to `digits` decimal places (half away from zero), for printing results readably.",
            example: "round(3.14159, digits: 2)") { args, _ in
        let digits = args.int("digits")
        guard (0...15).contains(digits) else { throw args.error("'digits:' must be 0…15, got \(digits)") }
        let scale = Foundation.pow(10, Double(digits))
        return .number((args.number("x") * scale).rounded(.toNearestOrAwayFromZero) / scale)
    },
    Builtin("leaky_relu", [.positional("x", .tensor, "the input"),
                           .labelled("slope", .number, default: .number(Double(criticLeakySlope)),
                                     "the factor for x ≤ 0: the study's critic uses 0.2 (PyTorch's F.leaky_relu defaults to 0.01)")],
            returns: "Tensor", .math, "x where x > 0, slope·x elsewhere (the critic's activation).",
            example: "leaky_relu(tensor([-1, 2]), slope: 0.2)") { args, _ in
        .tensor(try leakyRelu(args.tensor("x"), slope: Float(args.number("slope"))))
    },
    Builtin("clamp", [.positional("x", .tensor, "the input"), .labelled("min", .number, default: nil, "the lower limit (none when omitted)"),
                      .labelled("max", .number, default: nil, "the upper limit (none when omitted)")],
            returns: "Tensor", .math, "Limits every element to [min, max].",
            example: "clamp(tensor([-2, 0.5, 3]), min: 0, max: 1)") { args, _ in
        .tensor(try clamp(args.tensor("x"), min: args.optionalNumber("min").map(Float.init), max: args.optionalNumber("max").map(Float.init)))
    },
    Builtin("maximum", [.positional("a", .tensor, "one operand"), .positional("b", .tensor, "the other (broadcast as NumPy does)")],
            returns: "Tensor", .math, "The larger of a and b, elementwise.", example: "maximum(tensor([1, 5]), tensor([3, 2]))") { args, _ in
        .tensor(try Engine.maximum(args.tensor("a"), args.tensor("b")))
    },
    Builtin("minimum", [.positional("a", .tensor, "one operand"), .positional("b", .tensor, "the other (broadcast as NumPy does)")],
            returns: "Tensor", .math, "The smaller of a and b, elementwise.", example: "minimum(tensor([1, 5]), tensor([3, 2]))") { args, _ in
        .tensor(try Engine.minimum(args.tensor("a"), args.tensor("b")))
    },
    Builtin("where", [.positional("condition", .tensor, "where non-zero, take a"), .positional("a", .tensor, "values where the condition holds"),
                      .positional("b", .tensor, "values elsewhere")],
            returns: "Tensor", .math, "a where the condition is non-zero, b elsewhere.",
            example: "where(tensor([1, 0]), tensor([1, 2]), tensor([10, 20]))") { args, _ in
        .tensor(try Tensor.where(args.tensor("condition"), args.tensor("a"), args.tensor("b")))
    },
    Builtin("matmul", [.positional("a", .tensor, "[…, n, k]"), .positional("b", .tensor, "[…, k, m]")], returns: "Tensor", .math,
            "The matrix product (batched, NumPy's rules); the same as a @ b.", example: "matmul(eye(2), tensor([[1, 2], [3, 4]]))") { args, _ in
        .tensor(try Engine.matmul(args.tensor("a"), args.tensor("b")))
    },
    Builtin("conv2d", [.positional("x", .tensor, "images [N, C, H, W]"), .positional("w", .tensor, "kernels [outC, C, kH, kW]"),
                       .labelled("bias", .tensor, default: nil, "one value per output channel, [outC]"),
                       .labelled("stride", .int, default: 1, "the step between kernel positions"),
                       .labelled("padding", .int, default: 0, "zeros added on every side"),
                       .labelled("dilation", .int, default: 1, "the spacing of the kernel's taps")],
            returns: "Tensor", .math, "2-D convolution: x [N, C, H, W], w [outC, C, kH, kW], bias [outC].",
            example: "conv2d(ones(1, 1, 4, 4), ones(1, 1, 3, 3), bias: tensor([0.5]), padding: 1)") { args, _ in
        .tensor(try Engine.conv2d(args.tensor("x"), args.tensor("w"), bias: args.optionalTensor("bias"), stride: args.int("stride"),
                                  padding: args.int("padding"), dilation: args.int("dilation")))
    },
    Builtin("conv_transpose2d", [.positional("x", .tensor, "images [N, C, H, W]"), .positional("w", .tensor, "kernels [C, outC, kH, kW]"),
                                 .labelled("bias", .tensor, default: nil, "one value per output channel, [outC]"),
                                 .labelled("stride", .int, default: 1, "the upsampling factor"),
                                 .labelled("padding", .int, default: 0, "rows and columns removed from every side of the result"),
                                 .labelled("outputPadding", .int, default: 0, aliases: ["output_padding"],
                                           "extra rows and columns on the bottom and right")],
            returns: "Tensor", .math, "Transposed convolution (the generator's upsampling): w [C, outC, kH, kW], bias [outC].",
            example: "conv_transpose2d(ones(1, 2, 4, 4), ones(2, 3, 4, 4), stride: 2, padding: 1).shape") { args, _ in
        .tensor(try convTranspose2d(args.tensor("x"), args.tensor("w"), bias: args.optionalTensor("bias"), stride: args.int("stride"),
                                    padding: args.int("padding"), outputPadding: args.int("outputPadding")))
    },

    // MARK: Gradients
    Builtin("grad", [.labelled("of", name: "y", .tensor, "the value to differentiate: a scalar, or any shape with seed:"),
                     .labelled("wrt", name: "x", .either(.tensor, .list(.tensor)), "a tensor, or an array of tensors, that y depends on"),
                     .labelled("createGraph", .bool, default: false, "record the gradient's own graph, so it can be differentiated again"),
                     .labelled("seed", .tensor, default: nil, "∂L/∂y to start from, shaped like y (needed when y is not a scalar, as PyTorch's grad_outputs)"),
                     .labelled("allowUnused", .bool, default: false, "zeros for an x that y does not depend on (otherwise an error, as in PyTorch)")],
            returns: "Tensor or [Tensor]", .autograd,
            """
            ∂y/∂x of a scalar y (or the vector-Jacobian product with seed:). With createGraph: true the result can be differentiated again, as the WGAN-GP penalty needs; \
            without it the gradient is a constant, and the gradient of anything built from it is an error.
            """,
            example: "let x = tensor([1, 2]).requiringGrad(); grad(of: (x * x).sum(), wrt: x)") { args, _ in
        let (y, create, seed, allowUnused) = (args.tensor("of"), args.bool("createGraph"), args.optionalTensor("seed"), args.bool("allowUnused"))
        if let x = args.optionalTensor("wrt") {
            return .tensor(try Engine.grad(of: y, wrt: [x], seed: seed, createGraph: create, allowUnused: allowUnused)[0])
        }
        return .array(try Engine.grad(of: y, wrt: args.tensors("wrt"), seed: seed, createGraph: create, allowUnused: allowUnused).map { .tensor($0) })
    },

    // MARK: Normalizations
    Builtin("power_iteration", [.positional("W", .tensor, "a matrix"),
                                .labelled("iters", .int, default: 1, "how many steps"),
                                .labelled("u", .tensor, default: nil, "the left vector to start from (random when omitted)"),
                                .labelled("order", .choice(["classic", "parametrization"]), default: "classic",
                                          "\"classic\": v then u, as Miyato et al. and torch.nn.utils.spectral_norm; \"parametrization\": u then v, as torch.nn.utils.parametrizations.spectral_norm")],
            returns: "(sigma, u, v)", .normalization,
            "σ̂ = uᵀWv after `iters` steps of v = normalize(Wᵀu), u = normalize(Wv) (PyTorch's order), from u or a random start.",
            example: "power_iteration(tensor([[3, 0], [0, 1]]), iters: 10).sigma") { args, _ in
        let order = args.choice("order", as: PowerIterationOrder.self)
        let r = try powerIteration(args.tensor("W"), iterations: args.int("iters"), u: args.optionalTensor("u"), order: order)
        return .object(Record("PowerIteration", [("sigma", .number(Double(try r.sigma.item()))), ("u", .tensor(r.u)), ("v", .tensor(r.v))]))
    },
    Builtin("svd", [.positional("W", .tensor, "a matrix")], returns: "(u, s, v)", .normalization,
            "The exact singular value decomposition (one-sided Jacobi), to check power iteration.",
            example: "svd(tensor([[3, 0], [0, 1]])).s") { args, _ in
        let (u, s, v) = try svd(args.tensor("W"))
        return .object(Record("SVD", [("u", .tensor(u)), ("s", .array(s.map { .number($0) })), ("v", .tensor(v))]))
    },
    Builtin("sigma_max", [.positional("W", .tensor, "a matrix")], returns: "Number", .normalization,
            "σ(W), the largest singular value, exactly.", example: "sigma_max(tensor([[3, 0], [0, 1]]))") { args, _ in
        .number(try sigmaMax(args.tensor("W")))
    },
    Builtin("normalize", [.positional("x", .tensor, "a vector (or any tensor, taken whole)")], returns: "Tensor", .normalization,
            "x / max(‖x‖, 1e-12).", example: "normalize(tensor([3, 4]))") { args, _ in
        .tensor(try NN.normalize(args.tensor("x")))
    },
    Builtin("instance_stats", [.positional("x", .tensor, "images [N, C, H, W]"),
                               .labelled("unbiased", .bool, default: false, "divide the variance by H·W − 1 instead of H·W")],
            returns: "(mean, std)", .normalization,
            "μ and σ = √(var + 1e-5) per sample and channel over H×W of x [N, C, H, W].",
            example: "instance_stats(randn(1, 3, 4, 4)).mean.shape") { args, _ in
        let (mean, std) = try instanceStatistics(args.tensor("x"), variance: args.bool("unbiased") ? .unbiased : .biased)
        return .object(Record("InstanceStatistics", [("mean", .tensor(mean)), ("std", .tensor(std))]))
    },
    Builtin("adain", [.positional("x", .tensor, "content images [N, C, H, W]"), .labelled("style", name: "y", .tensor, "style images [N, C, H′, W′]"),
                      .labelled("unbiased", .bool, default: false, "divide the variances by H·W − 1 instead of H·W")],
            returns: "Tensor", .normalization,
            "Formula (2): σ(y)·(x − μ(x))/σ(x) + μ(y) per sample and channel.",
            example: "adain(randn(1, 3, 4, 4), style: randn(1, 3, 5, 5) * 2 + 1).shape") { args, _ in
        .tensor(try adain(args.tensor("x"), style: args.tensor("style"), variance: args.bool("unbiased") ? .unbiased : .biased))
    },

    // MARK: Pictures
    Builtin("show", [.positional("image", .tensor, "[C, H, W] (C = 1, 3 or 4), [H, W], or a batch [N, C, H, W]"), rangeParameter,
                     .labelled("columns", .int, default: nil, "the width in terminal columns (default: the terminal's)")],
            .pictures, "Shows an image [C, H, W] or a batch [N, C, H, W] in the terminal.", example: "show(rand(3, 8, 8))") { args, session in
        let (image, columns) = (args.tensor("image"), args.optionalInt("columns"))
        let range = args.choice("range", as: PixelRange.self)
        session.show(image.rank == 4 ? try .batch(image, range: range, columns: columns) : try .image(image, range: range, columns: columns))
        return .none
    },
    Builtin("save_png", [.positional("image", .tensor, "[C, H, W] (C = 1, 3 or 4) or [H, W]"), .positional("path", .string, "the file to write"),
                         rangeParameter],
            .pictures, "Writes [C, H, W] (C = 1, 3 or 4) or [H, W] as a PNG file.", example: "save_png(rand(3, 8, 8), \"noise.png\")") { args, _ in
        try savePNG(args.tensor("image"), to: args.string("path"), range: args.choice("range", as: PixelRange.self))
        return .none
    },
    Builtin("load_image", [.positional("path", .string, "a PNG or JPEG file"), rangeParameter], returns: "Tensor", .pictures,
            "Reads a PNG or JPEG file as [C, H, W].", example: "save_png(rand(3, 4, 4), \"a.png\"); load_image(\"a.png\").shape") { args, _ in
        .tensor(try loadImage(args.string("path"), range: args.choice("range", as: PixelRange.self)))
    },
    Builtin("grid", [.positional("images", .tensor, "a batch [N, C, H, W]"), .labelled("rows", .int, default: nil, "rows of the grid (default: about square)"),
                     .labelled("padding", .int, default: 2, "pixels between images")],
            returns: "Tensor", .pictures, "Tiles a batch [N, C, H, W] into one image [C, H', W'].", example: "grid(rand(4, 3, 8, 8), rows: 2).shape") { args, _ in
        .tensor(try grid(args.tensor("images"), rows: args.optionalInt("rows"), padding: args.int("padding")))
    },
    Builtin("plot", [.variadic("series", .list(.number), "arrays of numbers (or tensors), one per line; one array of them works too"),
                     .labelled("labels", .list(.string), default: .emptyList, "a name per series, for the legend"),
                     .labelled("title", .string, default: "", "the chart's title"),
                     .labelled("save", .string, default: nil, "also write the chart to this PNG file"),
                     .labelled("x", .list(.number), default: nil, "the x value of each point (default: 0, 1, 2, …)"),
                     .labelled("logScale", .bool, default: false, "y on a log₁₀ axis, for errors that fall by orders of magnitude (values ≤ 0 left out)")],
            .pictures,
            "Line chart of one or more series (or one array of series) in the terminal (Braille); `save:` also writes it as a PNG.",
            example: "plot([1, 4, 9, 16], [2, 3, 5, 8], labels: [\"squares\", \"fibonacci\"], title: \"growth\")") { args, session in
        let labels = args.strings("labels")
        let xs = args.optionalNumbers("x")
        let values = args.list("series")
        guard !values.isEmpty else { throw args.error("needs at least one series of numbers") }
        let series = values.indices.map { i in
            Series(i < labels.count ? labels[i] : (values.count > 1 ? "series \(i + 1)" : ""), y: seriesNumbers(values[i]), x: xs)
        }
        if args.bool("logScale") && !series.contains(where: { $0.y.contains { $0 > 0 } }) {
            throw args.error("a log scale needs positive values; these have none")
        }
        let picture = try Picture.chart(LinePlot(title: args.string("title"), series: series, logScale: args.bool("logScale")))
        session.show(picture)
        if let path = args.optionalString("save") { try savePNG(picture.pixels, to: path) }
        return .none
    },
    Builtin("scatter", [.variadic("points", .tensor, "sets of points [N, 2], one colour each"),
                        .labelled("labels", .list(.string), default: .emptyList, "a name per set, for the legend"),
                        .labelled("title", .string, default: "", "the chart's title"),
                        .labelled("save", .string, default: nil, "also write the chart to this PNG file")],
            .pictures, "2-D points of one or more sets (real and generated samples) in the terminal; `save:` also writes a PNG.",
            example: "scatter(randn(100, 2), randn(50, 2) * 0.5 + 2, labels: [\"real\", \"fake\"])") { args, session in
        let labels = args.strings("labels")
        let sets = try args.tensors("points").enumerated().map { i, t -> (name: String, points: [(Double, Double)], color: RGB?) in
            guard t.rank == 2, t.shape[1] == 2 else { throw args.error("point set \(i + 1) must have shape [N, 2], got \(t.shape)") }
            return (i < labels.count ? labels[i] : "set \(i + 1)", points(t), nil)
        }
        guard !sets.isEmpty else { throw args.error("needs at least one set of points [N, 2]") }
        let picture = try Picture.chart(ScatterPlot(title: args.string("title"), series: sets))
        session.show(picture)
        if let path = args.optionalString("save") { try savePNG(picture.pixels, to: path) }
        return .none
    },
    Builtin("sparkline", [.positional("values", .list(.number), "an array of numbers or a tensor")], returns: "String", .pictures,
            "Values as a one-line chart of block heights.", example: "sparkline([1, 3, 2, 5, 4, 8])") { args, _ in
        .string(Preview.sparkline(args.numbers("values")))
    },

    // MARK: Data
    Builtin("faces", [.positional("count", .int, "how many faces"), .labelled("size", .int, default: 32, "the side in pixels"),
                      .labelled("seed", .int, default: 0, "the same seed gives the same faces")],
            returns: "Tensor", .data, "Synthetic CelebA-like faces [count, 3, size, size] in [−1, 1], the same for the same seed.",
            example: "show(faces(4, size: 32), range: \"symmetric\")") { args, _ in
        let (images, _) = try syntheticFaces(count: args.int("count"), size: args.int("size"), seed: UInt64(max(0, args.int("seed"))))
        return .tensor(try images * 2 - 1)
    },
    Builtin("dataset", [.positional("path", .string, "a CelebA directory or a folder of PNG/JPEG images"),
                        .labelled("size", .int, default: 64, "the side in pixels after preprocessing"),
                        .labelled("crop", .choice(["celeba", "center", "none"]), default: "center",
                                  "\"celeba\": ProGAN's crop of aligned CelebA; \"center\": the largest centred square; \"none\": resize as is"),
                        .labelled("limit", .int, default: nil, "read at most this many images"),
                        .labelled("split", .int, default: nil, "CelebA's partition: 0 train, 1 validation, 2 test"),
                        .labelled("attribute", .string, default: nil, "keep only faces with this CelebA attribute")],
            returns: "(images, count, summary, attributes, names)",
            .data, "A CelebA directory or any folder of PNG/JPEG images, preprocessed (and cached) as training uses it, in [−1, 1].",
            example: "save_faces(\"faces\", count: 4, size: 16); dataset(\"faces\", size: 16).summary") { args, session in
        let crop: Preprocessing.Crop
        switch args.string("crop") {
        case "celeba": crop = .celebA
        case "none": crop = .none
        default: crop = .center(nil)
        }
        let (path, preprocessing) = (args.string("path"), Preprocessing(crop: crop, size: args.int("size")))
        let (split, attribute, limit) = (args.optionalInt("split"), args.optionalString("attribute"), args.optionalInt("limit"))
        let set = try session.decoding {
            try ImageDataset.load(path, preprocessing: preprocessing, split: split, attribute: attribute, limit: limit, progress: $0)
        }
        for warning in set.warnings { session.emit(text: "warning: " + warning) }
        var fields: [(String, Value)] = [("images", .tensor(set.images)), ("count", .number(Double(set.count))), ("summary", .string(set.summary))]
        if let attributes = set.attributes {
            fields.append(("attributes", .tensor(try Tensor(shape: [set.count, set.attributeNames.count], elements: attributes.flatMap { $0.map(Float.init) }))))
            fields.append(("names", .array(set.attributeNames.map { .string($0) })))
        }
        return .object(Record("Dataset", fields))
    },
    Builtin("save_faces", [.positional("path", .string, "the folder to write"), .labelled("count", .int, "how many faces"),
                           .labelled("size", .int, default: 64, "the side in pixels"), .labelled("seed", .int, default: 0, "the same seed gives the same faces")],
            .data, "Writes synthetic faces in CelebA's layout (images, attributes, partition), as `normlab data synth` does, into a new or empty folder or over an earlier set (replaced whole); a folder with other files is refused.",
            example: "save_faces(\"faces\", count: 4, size: 16)") { args, _ in
        let (images, attributes) = try syntheticFaces(count: args.int("count"), size: args.int("size"), seed: UInt64(max(0, args.int("seed"))))
        try writeCelebALayout(images: images, attributes: attributes, to: args.string("path"))
        return .none
    },
    Builtin("toy", [toyParameter, .labelled("count", .int, default: 256, "how many points")], returns: "Tensor", .data,
            "Samples [count, 2] of the WGAN-GP paper's 2-D toy distributions.", example: "toy(\"8gaussians\", count: 4)") { args, _ in
        let distribution = args.choice("name", as: ToyDistribution.self)
        return .tensor(try Runtime.withGlobalGenerator { try distribution.sample(args.int("count"), generator: &$0) })
    },

    Builtin("train_toy", [toyParameter, .labelled("iterations", .int, default: 1000, "generator steps"),
                          .labelled("hidden", .int, default: 128, "the width of the MLPs' hidden layers"),
                          .labelled("every", .int, default: 100, "redraw the points every this many iterations")],
            returns: "ToyRun (wasserstein, penalty, covered, modes, good)",
            .data, "Trains the WGAN-GP toy (MLPs, λ = 0.1, 5 critic steps) and shows real and generated points every `every` iterations; Ctrl-C stops it.",
            example: "train_toy(\"8gaussians\", iterations: 2, hidden: 8, every: 2).covered") { args, session in
        let distribution = args.choice("name", as: ToyDistribution.self)
        let iterations = max(1, args.int("iterations")), every = max(1, args.int("every"))
        let toy = try ToyGAN(distribution, hidden: max(2, args.int("hidden")))
        var rng = RandomGenerator(seed: 7)
        var last = (wasserstein: Float(0), penalty: Float(0))
        var coverage = (covered: 0, modes: distribution.centers.count, good: 0.0)
        var measured = false
        let progress = session.progress("train \(distribution.rawValue)", total: iterations)
        defer { progress.finish() }
        let points = DisplayID()
        for i in 1...iterations {
            try session.interpreter.checkInterrupt(at: args.location)
            last = try toy.step()
            var values: [ProgressBar.Value] = [.init("W", Double(last.wasserstein)), .init("gp", Double(last.penalty))]
            if i % every == 0 || i == iterations {
                let report = try toy.report(iteration: i, last: last, samples: 256, real: &rng)
                (coverage, measured) = (report.coverage, true)
                session.show(try .chart(report.chart, columns: 56, rows: 16), display: points)
            }
            if measured && coverage.modes > 0 { values += [.init("modes", Double(coverage.covered)), .init("good", coverage.good)] }
            progress.update(i, values)
        }
        return .object(Record("ToyRun", [("wasserstein", .number(Double(last.wasserstein))), ("penalty", .number(Double(last.penalty))),
                                         ("covered", .number(Double(coverage.covered))), ("modes", .number(Double(coverage.modes))),
                                         ("good", .number(coverage.good))]))
    },

    // MARK: Checks
    Builtin("check", [.positional("condition", .bool, "the claim: true or false, or close(…)'s verdict"),
                      .positional("message", .string, default: "check", "what the claim says, shown with ✓ or in the error")],
            .checks,
            "Asserts what a lesson claims: a passing check prints ✓ and its message, a failing one stops the cell and says which and why.",
            example: "check(1 + 1 == 2, \"arithmetic works\")") { args, session in
        let message = args.string("message")
        var why: String? = nil
        if case .verdict(_, let reason)? = args.value("condition") { why = reason }
        guard args.bool("condition") else { throw ScriptError(.check, message + (why.map { ": \($0)" } ?? "")) }
        // A passing check says so: the student sees each claim confirmed, with the evidence.
        let mark = session.colorMode == .ascii ? "✓" : "\u{1B}[32m✓\u{1B}[0m"
        session.emit(text: "\(mark) \(message)" + (why.map { " (\($0))" } ?? ""))
        return .none
    },
    Builtin("close", [.positional("a", .tensor, "the values computed"), .positional("b", .tensor, "the values expected"),
                      .labelled("rtol", .number, default: 1e-5, "the tolerance relative to |b|"),
                      .labelled("atol", .number, default: 1e-8, "the absolute tolerance")],
            returns: "Bool", .checks, "Whether |a − b| ≤ atol + rtol·|b| everywhere (NumPy's allclose), and by how much.",
            example: "close(tensor([1, 2]), tensor([1, 2.000001]))") { args, _ in
        let (a, b, rtol, atol) = (args.tensor("a"), args.tensor("b"), args.number("rtol"), args.number("atol"))
        let difference = try Engine.abs(a - b)
        let allowed = try Tensor(Float(atol)) + Tensor(Float(rtol)) * Engine.abs(b).expanded(to: difference.shape)
        let excess = try (difference - allowed).max().item()
        let worst = try difference.max().item()
        return .verdict(excess <= 0, "max |a − b| = \(String(format: "%.3g", worst)), allowed \(String(format: "%.3g", atol)) + \(String(format: "%.3g", rtol))·|b|")
    },

    // MARK: Session
    Builtin("print", [.variadic("values", .any, "anything; strings print without quotes")], .session,
            "Prints values separated by spaces.", example: "print(\"σ =\", 2.5)") { args, session in
        session.emit(text: args.list("values").map(\.plain).joined(separator: " "))
        return .none
    },
    Builtin("checking", [], returns: "Bool", .session,
            "True when the lesson runs under `normlab run --check`, so a training cell can use a small preset.",
            example: "let steps = checking() ? 10 : 1000") { _, session in
        .bool(session.checking)
    },
    Builtin("help", [.positional("name", .either(.string, .function), "a builtin or method, by name (\"adain\") or itself (adain)")], .session,
            "The signature, description, parameters and example of a builtin or tensor method.",
            example: "help(adain)") { args, session in
        let name: String
        switch args.value("name") {
        case .builtin(let b)?: name = b.name
        case .function(let f)?: name = f.name
        default: name = args.string("name")
        }
        session.emit(text: session.help(name))
        return .none
    },
    Builtin("len", [.positional("x", .any, "an array, a tensor, a string or a range")], returns: "Int", .session,
            "The number of elements (along the first axis for a tensor).", example: "len([1, 2, 3])") { args, _ in
        switch args.value("x") {
        case .array(let items)?: return .number(Double(items.count))
        case .string(let s)?: return .number(Double(s.count))
        case .tensor(let t)?: return .number(Double(t.rank == 0 ? 1 : t.shape[0]))
        case .range(let a, let b)?: return .number(Double(max(0, b - a)))
        case let other?: throw args.error("\(other.typeNameWithArticle) has no length")
        case nil: return .none
        }
    },
]

/// A series of a plot (already checked to be numbers) as Doubles.
private func seriesNumbers(_ value: Value) -> [Double] {
    guard case .array(let items) = value else { return [] }
    return items.compactMap { if case .number(let n) = $0 { n } else { nil } }
}
