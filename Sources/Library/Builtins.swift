import Engine
import Foundation
import GAN
import NN
import Preview
import Script

/// A number in, a number out; a tensor in, a tensor out.
private func elementwise(_ name: String, _ doc: String, _ number: @escaping @Sendable (Double) -> Double,
                         _ tensor: @escaping @Sendable (Tensor) throws -> Tensor) -> Builtin {
    Builtin(name, "\(name)(_ x: Tensor or Number) -> same", .math, doc, example: "\(name)(tensor([0.5, 1, 2]))") { args, _ in
        try args.allow([])
        let x = try args.required(0)
        if case .number(let n) = x { return .number(number(n)) }
        return .tensor(try tensor(toTensor(x, what: "argument 1")))
    }
}

/// The builtins table, by topic.
public let builtins: [Builtin] = coreBuiltins + studyBuiltins

private let coreBuiltins: [Builtin] = [
    // MARK: Creating tensors
    Builtin("tensor", "tensor(_ values: [[Number]]) -> Tensor", .tensors,
            "A tensor from (nested) arrays of numbers; the shape follows the nesting.",
            example: "tensor([[1, 2], [3, 4]])") { args, _ in
        try args.allow([]); return .tensor(try args.tensor(0))
    },
    Builtin("zeros", "zeros(_ shape: Int...) -> Tensor", .tensors, "A tensor of zeros.", example: "zeros(2, 3)") { args, _ in
        try args.allow([]); return .tensor(try Tensor.zeros(args.shape()))
    },
    Builtin("ones", "ones(_ shape: Int...) -> Tensor", .tensors, "A tensor of ones.", example: "ones([2, 2])") { args, _ in
        try args.allow([]); return .tensor(try Tensor.ones(args.shape()))
    },
    Builtin("full", "full(_ shape: [Int], value: Number) -> Tensor", .tensors, "A tensor with every element equal to `value`.",
            example: "full([2, 3], value: 7)") { args, _ in
        try args.allow(["value"])
        guard case .array = try args.required(0) else { throw args.error("the shape must be an array, as in full([2, 3], value: 7)") }
        var shapeArgs = args
        shapeArgs.positional = [try args.required(0)]
        return .tensor(try Tensor.full(shapeArgs.shape(), value: Float(args.number(1, "value"))))
    },
    Builtin("arange", "arange(_ start: Number = 0, _ end: Number, step: Number = 1) -> Tensor", .tensors,
            "start, start + step, … up to but excluding end, as NumPy's arange.", example: "arange(0, 10, step: 2)") { args, _ in
        try args.allow(["step"])
        let (start, end) = args.positional.count >= 2 ? (try args.number(0), try args.number(1)) : (0, try args.number(0))
        return .tensor(try Tensor.arange(Float(start), Float(end), step: Float(try args.optionalNumber("step") ?? 1)))
    },
    Builtin("linspace", "linspace(_ start: Number, _ end: Number, count: Int) -> Tensor", .tensors,
            "`count` evenly spaced values from start to end, both included.", example: "linspace(0, 1, count: 5)") { args, _ in
        try args.allow(["count"])
        return .tensor(try Tensor.linspace(Float(args.number(0)), Float(args.number(1)), count: args.int(2, "count")))
    },
    Builtin("eye", "eye(_ n: Int, _ m: Int = n) -> Tensor", .tensors, "The identity matrix.", example: "eye(3)") { args, _ in
        try args.allow([]); return .tensor(try Tensor.eye(args.int(0), args.optional(1).map { try toInt($0, what: "m") }))
    },
    Builtin("randn", "randn(_ shape: Int...) -> Tensor", .tensors,
            "Standard normal samples from the session's seeded stream (see seed).", example: "randn(2, 3)") { args, _ in
        try args.allow([]); return .tensor(try Tensor.randn(args.shape()))
    },
    Builtin("rand", "rand(_ shape: Int...) -> Tensor", .tensors, "Uniform samples in [0, 1).", example: "rand(3)") { args, _ in
        try args.allow([]); return .tensor(try Tensor.rand(args.shape()))
    },
    Builtin("seed", "seed(_ n: Int)", .tensors, "Restarts the random stream, so the same seed gives the same numbers.",
            example: "seed(42)") { args, _ in
        try args.allow([]); Runtime.seed(UInt64(max(0, try args.int(0)))); return .none
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
    Builtin("round", "round(_ x: Number, digits: Int = 0) -> Number", .math,
            "x rounded to `digits` decimal places (half away from zero), for printing results readably.",
            example: "round(3.14159, digits: 2)") { args, _ in
        try args.allow(["digits"])
        let digits = try args.optionalInt("digits") ?? 0
        guard (0...15).contains(digits) else { throw args.error("'digits:' must be 0…15, got \(digits)") }
        let scale = Foundation.pow(10, Double(digits))
        return .number((try args.number(0) * scale).rounded(.toNearestOrAwayFromZero) / scale)
    },
    Builtin("leaky_relu", "leaky_relu(_ x: Tensor, slope: Number = 0.2) -> Tensor", .math,
            "x where x > 0, slope·x elsewhere (the critic's activation).", example: "leaky_relu(tensor([-1, 2]), slope: 0.2)") { args, _ in
        try args.allow(["slope"])
        return .tensor(try leakyRelu(args.tensor(0), slope: Float(try args.optionalNumber("slope") ?? 0.2)))
    },
    Builtin("clamp", "clamp(_ x: Tensor, min: Number?, max: Number?) -> Tensor", .math, "Limits every element to [min, max].",
            example: "clamp(tensor([-2, 0.5, 3]), min: 0, max: 1)") { args, _ in
        try args.allow(["min", "max"])
        return .tensor(try clamp(args.tensor(0), min: args.optionalNumber("min").map(Float.init), max: args.optionalNumber("max").map(Float.init)))
    },
    Builtin("maximum", "maximum(_ a: Tensor, _ b: Tensor) -> Tensor", .math, "The larger of a and b, elementwise.",
            example: "maximum(tensor([1, 5]), tensor([3, 2]))") { args, _ in
        try args.allow([]); return .tensor(try Engine.maximum(args.tensor(0), args.tensor(1)))
    },
    Builtin("minimum", "minimum(_ a: Tensor, _ b: Tensor) -> Tensor", .math, "The smaller of a and b, elementwise.",
            example: "minimum(tensor([1, 5]), tensor([3, 2]))") { args, _ in
        try args.allow([]); return .tensor(try Engine.minimum(args.tensor(0), args.tensor(1)))
    },
    Builtin("where", "where(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor", .math,
            "a where the condition is non-zero, b elsewhere.", example: "where(tensor([1, 0]), tensor([1, 2]), tensor([10, 20]))") { args, _ in
        try args.allow([]); return .tensor(try Tensor.where(args.tensor(0), args.tensor(1), args.tensor(2)))
    },
    Builtin("matmul", "matmul(_ a: Tensor, _ b: Tensor) -> Tensor", .math,
            "The matrix product (batched, NumPy's rules); the same as a @ b.", example: "matmul(eye(2), tensor([[1, 2], [3, 4]]))") { args, _ in
        try args.allow([]); return .tensor(try Engine.matmul(args.tensor(0), args.tensor(1)))
    },
    Builtin("conv2d", "conv2d(_ x: Tensor, _ w: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, dilation: Int = 1) -> Tensor", .math,
            "2-D convolution: x [N, C, H, W], w [outC, C, kH, kW], bias [outC].",
            example: "conv2d(ones(1, 1, 4, 4), ones(1, 1, 3, 3), bias: tensor([0.5]), padding: 1)") { args, _ in
        try args.allow(["bias", "stride", "padding", "dilation"])
        return .tensor(try Engine.conv2d(args.tensor(0), args.tensor(1), bias: args.value("bias").map { try toTensor($0, what: "'bias:'") },
                                         stride: args.optionalInt("stride") ?? 1, padding: args.optionalInt("padding") ?? 0,
                                         dilation: args.optionalInt("dilation") ?? 1))
    },
    Builtin("conv_transpose2d",
            "conv_transpose2d(_ x: Tensor, _ w: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, output_padding: Int = 0) -> Tensor",
            .math, "Transposed convolution (the generator's upsampling): w [C, outC, kH, kW], bias [outC].",
            example: "conv_transpose2d(ones(1, 2, 4, 4), ones(2, 3, 4, 4), stride: 2, padding: 1).shape") { args, _ in
        try args.allow(["bias", "stride", "padding", "output_padding"])
        return .tensor(try convTranspose2d(args.tensor(0), args.tensor(1), bias: args.value("bias").map { try toTensor($0, what: "'bias:'") },
                                           stride: args.optionalInt("stride") ?? 1, padding: args.optionalInt("padding") ?? 0,
                                           outputPadding: args.optionalInt("output_padding") ?? 0))
    },

    // MARK: Gradients
    Builtin("grad", "grad(of y: Tensor, wrt x: Tensor or [Tensor], createGraph: Bool = false) -> Tensor or [Tensor]", .autograd,
            "∂y/∂x (of the sum of y's elements). With createGraph: true the result can be differentiated again, as the WGAN-GP penalty needs.",
            example: "let x = tensor([1, 2]).requiringGrad(); grad(of: (x * x).sum(), wrt: x)") { args, _ in
        try args.allow(["of", "wrt", "createGraph", "seed"])
        let y = try args.tensor(0, "of")
        let wrt = try args.required(1, "wrt")
        let create = try args.optionalBool("createGraph") ?? false
        let seed = try args.value("seed").map { try toTensor($0, what: "'seed:'") }
        if case .array(let items) = wrt {
            let xs = try items.map { try toTensor($0, what: "an element of 'wrt:'") }
            return .array(try Engine.grad(of: y, wrt: xs, seed: seed, createGraph: create).map { .tensor($0) })
        }
        return .tensor(try Engine.grad(of: y, wrt: [toTensor(wrt, what: "'wrt:'")], seed: seed, createGraph: create)[0])
    },

    // MARK: Normalizations
    Builtin("power_iteration", "power_iteration(_ W: Tensor, iters: Int = 1, u: Tensor? = nil) -> (sigma, u, v)", .normalization,
            "σ̂ = uᵀWv after `iters` steps of v = normalize(Wᵀu), u = normalize(Wv) (PyTorch's order), from u or a random start.",
            example: "power_iteration(tensor([[3, 0], [0, 1]]), iters: 10).sigma") { args, _ in
        try args.allow(["iters", "u", "order"])
        let order: PowerIterationOrder = try args.value("order").map {
            guard case .string(let s) = $0, let o = PowerIterationOrder(rawValue: s) else { throw args.error("'order:' is \"classic\" or \"parametrization\"") }
            return o
        } ?? .classic
        let r = try powerIteration(args.tensor(0), iterations: args.optionalInt("iters") ?? 1,
                                   u: args.value("u").map { try toTensor($0, what: "'u:'") }, order: order)
        return .object(Record("PowerIteration", [("sigma", .number(Double(try r.sigma.item()))), ("u", .tensor(r.u)), ("v", .tensor(r.v))]))
    },
    Builtin("svd", "svd(_ W: Tensor) -> (u, s, v)", .normalization, "The exact singular value decomposition (one-sided Jacobi), to check power iteration.",
            example: "svd(tensor([[3, 0], [0, 1]])).s") { args, _ in
        try args.allow([])
        let (u, s, v) = try svd(args.tensor(0))
        return .object(Record("SVD", [("u", .tensor(u)), ("s", .array(s.map { .number($0) })), ("v", .tensor(v))]))
    },
    Builtin("sigma_max", "sigma_max(_ W: Tensor) -> Number", .normalization, "σ(W), the largest singular value, exactly.",
            example: "sigma_max(tensor([[3, 0], [0, 1]]))") { args, _ in
        try args.allow([]); return .number(try sigmaMax(args.tensor(0)))
    },
    Builtin("normalize", "normalize(_ x: Tensor) -> Tensor", .normalization, "x / max(‖x‖, 1e-12).",
            example: "normalize(tensor([3, 4]))") { args, _ in
        try args.allow([]); return .tensor(try NN.normalize(args.tensor(0)))
    },
    Builtin("instance_stats", "instance_stats(_ x: Tensor, unbiased: Bool = false) -> (mean, std)", .normalization,
            "μ and σ = √(var + 1e-5) per sample and channel over H×W of x [N, C, H, W].",
            example: "instance_stats(randn(1, 3, 4, 4)).mean.shape") { args, _ in
        try args.allow(["unbiased"])
        let (mean, std) = try instanceStatistics(args.tensor(0), variance: try args.optionalBool("unbiased") == true ? .unbiased : .biased)
        return .object(Record("InstanceStatistics", [("mean", .tensor(mean)), ("std", .tensor(std))]))
    },
    Builtin("adain", "adain(_ x: Tensor, style y: Tensor, unbiased: Bool = false) -> Tensor", .normalization,
            "Formula (2): σ(y)·(x − μ(x))/σ(x) + μ(y) per sample and channel.",
            example: "adain(randn(1, 3, 4, 4), style: randn(1, 3, 5, 5) * 2 + 1).shape") { args, _ in
        try args.allow(["style", "unbiased"])
        return .tensor(try adain(args.tensor(0), style: args.tensor(1, "style"),
                                 variance: try args.optionalBool("unbiased") == true ? .unbiased : .biased))
    },

    // MARK: Pictures
    Builtin("show", "show(_ image: Tensor, range: \"unit\" or \"symmetric\" = \"unit\")", .pictures,
            "Shows an image [C, H, W] or a batch [N, C, H, W] in the terminal.", example: "show(rand(3, 8, 8))") { args, session in
        try args.allow(["range", "columns"])
        let image = try args.tensor(0)
        let range = try pixelRange(args)
        session.emit(text: try Preview.show(image, columns: args.optionalInt("columns"), mode: session.colorMode, range: range))
        session.emit(image: try image.rank == 4 ? grid(image) : image, range: range)
        return .none
    },
    Builtin("save_png", "save_png(_ image: Tensor, _ path: String, range: \"unit\" or \"symmetric\" = \"unit\")", .pictures,
            "Writes [C, H, W] (C = 1, 3 or 4) or [H, W] as a PNG file.", example: "save_png(rand(3, 8, 8), \"/tmp/noise.png\")") { args, _ in
        try args.allow(["range"])
        try savePNG(args.tensor(0), to: args.string(1), range: try pixelRange(args))
        return .none
    },
    Builtin("load_image", "load_image(_ path: String, range: \"unit\" or \"symmetric\" = \"unit\") -> Tensor", .pictures,
            "Reads a PNG or JPEG file as [C, H, W].", example: "save_png(rand(3, 4, 4), \"/tmp/a.png\"); load_image(\"/tmp/a.png\").shape") { args, _ in
        try args.allow(["range"])
        return .tensor(try loadImage(args.string(0), range: try pixelRange(args)))
    },
    Builtin("grid", "grid(_ images: Tensor, rows: Int? = nil, padding: Int = 2) -> Tensor", .pictures,
            "Tiles a batch [N, C, H, W] into one image [C, H', W'].", example: "grid(rand(4, 3, 8, 8), rows: 2).shape") { args, _ in
        try args.allow(["rows", "padding"])
        return .tensor(try grid(args.tensor(0), rows: args.optionalInt("rows"), padding: args.optionalInt("padding") ?? 2))
    },
    Builtin("plot", "plot(_ series: [Number]..., labels: [String] = [], title: String = \"\", save: String? = nil)", .pictures,
            "Line chart of one or more series (or one array of series) in the terminal (Braille); `save:` also writes it as a PNG.",
            example: "plot([1, 4, 9, 16], [2, 3, 5, 8], labels: [\"squares\", \"fibonacci\"], title: \"growth\")") { args, session in
        try args.allow(["labels", "title", "save", "x"])
        let labels = try stringList(args, "labels")
        let xs: [Double]? = try args.value("x").map { try numbers($0, what: "'x:'") }
        // One array of arrays (`plot(run.sigmas)`) is a list of series.
        var values = args.positional
        if values.count == 1, case .array(let items) = values[0], let first = items.first, case .array = first { values = items }
        let series = try values.enumerated().map { i, v in
            Series(i < labels.count ? labels[i] : (values.count > 1 ? "series \(i + 1)" : ""), y: try numbers(v, what: "series \(i + 1)"), x: xs)
        }
        guard !series.isEmpty else { throw args.error("needs at least one series of numbers") }
        let chart = LinePlot(title: plainString(args, "title"), series: series)
        session.emit(text: chart.terminal(width: min(terminalColumns(), 100), colors: session.colorMode))
        let picture = try chart.render(width: 720, height: 420).tensor()
        session.emit(image: picture, range: .unit)
        if case .string(let path)? = args.value("save") { try savePNG(picture, to: path) }
        return .none
    },
    Builtin("scatter", "scatter(_ points: Tensor [N, 2]..., labels: [String] = [], title: String = \"\", save: String? = nil)", .pictures,
            "2-D points of one or more sets (real and generated samples) in the terminal; `save:` also writes a PNG.",
            example: "scatter(randn(100, 2), randn(50, 2) * 0.5 + 2, labels: [\"real\", \"fake\"])") { args, session in
        try args.allow(["labels", "title", "save"])
        let labels = try stringList(args, "labels")
        let sets = try args.positional.enumerated().map { i, v -> (name: String, points: [(Double, Double)], color: RGB?) in
            let t = try toTensor(v, what: "point set \(i + 1)")
            guard t.rank == 2, t.shape[1] == 2 else { throw args.error("point set \(i + 1) must have shape [N, 2], got \(t.shape)") }
            return (i < labels.count ? labels[i] : "set \(i + 1)", points(t), nil)
        }
        guard !sets.isEmpty else { throw args.error("needs at least one set of points [N, 2]") }
        let chart = ScatterPlot(title: plainString(args, "title"), series: sets)
        session.emit(text: chart.terminal(width: min(terminalColumns() - 2, 72), height: 20, colors: session.colorMode))
        let picture = try chart.render().tensor()
        session.emit(image: picture, range: .unit)
        if case .string(let path)? = args.value("save") { try savePNG(picture, to: path) }
        return .none
    },
    Builtin("sparkline", "sparkline(_ values: [Number]) -> String", .pictures, "Values as a one-line chart of block heights.",
            example: "sparkline([1, 3, 2, 5, 4, 8])") { args, _ in
        try args.allow([]); return .string(Preview.sparkline(try numbers(args.required(0), what: "argument 1")))
    },

    // MARK: Data
    Builtin("faces", "faces(_ count: Int, size: Int = 32, seed: Int = 0) -> Tensor", .data,
            "Synthetic CelebA-like faces [count, 3, size, size] in [−1, 1], the same for the same seed.",
            example: "show(faces(4, size: 32), range: \"symmetric\")") { args, _ in
        try args.allow(["size", "seed"])
        let (images, _) = try syntheticFaces(count: args.int(0), size: args.optionalInt("size") ?? 32, seed: UInt64(max(0, try args.optionalInt("seed") ?? 0)))
        return .tensor(try images * 2 - 1)
    },
    Builtin("dataset", "dataset(_ path: String, size: Int = 64, crop: \"celeba\" or \"center\" or \"none\" = \"center\", limit: Int? = nil, split: Int? = nil, attribute: String? = nil) -> (images, count, summary, attributes, names)",
            .data, "A CelebA directory or any folder of PNG/JPEG images, preprocessed (and cached) as training uses it, in [−1, 1].",
            example: "save_faces(\"/tmp/normlab-faces\", count: 4, size: 16); dataset(\"/tmp/normlab-faces\", size: 16).summary") { args, _ in
        try args.allow(["size", "crop", "limit", "split", "attribute"])
        let crop: Preprocessing.Crop
        switch args.value("crop") {
        case nil, .string("center")?: crop = .center(nil)
        case .string("celeba")?: crop = .celebA
        case .string("none")?: crop = .none
        default: throw args.error("'crop:' is \"celeba\", \"center\" or \"none\"")
        }
        let set = try ImageDataset.load(args.string(0), preprocessing: Preprocessing(crop: crop, size: args.optionalInt("size") ?? 64),
                                        split: args.optionalInt("split"), attribute: args.value("attribute").map(\.plain),
                                        limit: args.optionalInt("limit"))
        var fields: [(String, Value)] = [("images", .tensor(set.images)), ("count", .number(Double(set.count))), ("summary", .string(set.summary))]
        if let attributes = set.attributes {
            fields.append(("attributes", .tensor(try Tensor(shape: [set.count, set.attributeNames.count], elements: attributes.flatMap { $0.map(Float.init) }))))
            fields.append(("names", .array(set.attributeNames.map { .string($0) })))
        }
        return .object(Record("Dataset", fields))
    },
    Builtin("save_faces", "save_faces(_ path: String, count: Int, size: Int = 64, seed: Int = 0)", .data,
            "Writes synthetic faces in CelebA's layout (images, attributes, partition), as `normlab data synth` does.",
            example: "save_faces(\"/tmp/normlab-faces\", count: 4, size: 16)") { args, _ in
        try args.allow(["count", "size", "seed"])
        let (images, attributes) = try syntheticFaces(count: args.int(1, "count"), size: args.optionalInt("size") ?? 64,
                                                      seed: UInt64(max(0, try args.optionalInt("seed") ?? 0)))
        try writeCelebALayout(images: images, attributes: attributes, to: args.string(0))
        return .none
    },
    Builtin("toy", "toy(_ name: \"8gaussians\" or \"25gaussians\" or \"swissroll\", count: Int = 256) -> Tensor", .data,
            "Samples [count, 2] of the WGAN-GP paper's 2-D toy distributions.", example: "toy(\"8gaussians\", count: 4)") { args, _ in
        try args.allow(["count"])
        guard let distribution = ToyDistribution(rawValue: try args.string(0)) else {
            throw args.error("the toys are " + ToyDistribution.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
        }
        return .tensor(try Runtime.withGlobalGenerator { try distribution.sample(args.optionalInt("count") ?? 256, generator: &$0) })
    },

    Builtin("train_toy", "train_toy(_ name: String, iterations: Int = 1000, hidden: Int = 128, every: Int = 100) -> (wasserstein, penalty, covered, modes, good)",
            .data, "Trains the WGAN-GP toy (MLPs, λ = 0.1, 5 critic steps) and shows real and generated points every `every` iterations; Ctrl-C stops it.",
            example: "train_toy(\"8gaussians\", iterations: 2, hidden: 8, every: 2).covered") { args, session in
        try args.allow(["iterations", "hidden", "every"])
        guard let distribution = ToyDistribution(rawValue: try args.string(0)) else {
            throw args.error("the toys are " + ToyDistribution.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
        }
        let iterations = max(1, try args.optionalInt("iterations") ?? 1000), every = max(1, try args.optionalInt("every") ?? 100)
        let toy = try ToyGAN(distribution, hidden: max(2, try args.optionalInt("hidden") ?? 128))
        var rng = RandomGenerator(seed: 7)
        var last = (wasserstein: Float(0), penalty: Float(0))
        var coverage = (covered: 0, modes: distribution.centers.count, good: 0.0)
        for i in 1...iterations {
            try session.interpreter.checkInterrupt(at: args.location)
            last = try toy.step()
            if i % every == 0 || i == iterations {
                let report = try toy.report(iteration: i, last: last, samples: 256, real: &rng, colors: session.colorMode, width: 56, height: 16)
                coverage = report.coverage
                session.emit(text: report.chart)
                session.emit(text: report.line)
            }
        }
        return .object(Record("ToyRun", [("wasserstein", .number(Double(last.wasserstein))), ("penalty", .number(Double(last.penalty))),
                                         ("covered", .number(Double(coverage.covered))), ("modes", .number(Double(coverage.modes))),
                                         ("good", .number(coverage.good))]))
    },

    // MARK: Checks
    Builtin("check", "check(_ condition: Bool, _ message: String)", .checks,
            "Asserts what a lesson claims: a passing check prints ✓ and its message, a failing one stops the cell and says which and why.",
            example: "check(1 + 1 == 2, \"arithmetic works\")") { args, session in
        try args.allow([])
        let condition = try args.required(0)
        let message = (try? args.string(1)) ?? "check"
        // A passing check says so: the student sees each claim confirmed, with the evidence.
        func passed(_ why: String? = nil) -> Value {
            let mark = session.colorMode == .ascii ? "✓" : "\u{1B}[32m✓\u{1B}[0m"
            session.emit(text: "\(mark) \(message)" + (why.map { " (\($0))" } ?? ""))
            return .none
        }
        switch condition {
        case .bool(true): return passed()
        case .verdict(true, let why): return passed(why)
        case .bool(false): throw ScriptError(.check, message)
        case .verdict(false, let why): throw ScriptError(.check, "\(message): \(why)")
        case .tensor(let t) where t.count == 1:
            if try t.item() != 0 { return passed() }
            throw ScriptError(.check, message)
        default: throw args.error("the condition must be true or false, got a \(condition.typeName)")
        }
    },
    Builtin("close", "close(_ a: Tensor, _ b: Tensor, rtol: Number = 1e-5, atol: Number = 1e-8) -> Bool", .checks,
            "Whether |a − b| ≤ atol + rtol·|b| everywhere (NumPy's allclose), and by how much.",
            example: "close(tensor([1, 2]), tensor([1, 2.000001]))") { args, _ in
        try args.allow(["rtol", "atol"])
        let a = try args.tensor(0), b = try args.tensor(1)
        let rtol = try args.optionalNumber("rtol") ?? 1e-5, atol = try args.optionalNumber("atol") ?? 1e-8
        let difference = try Engine.abs(a - b)
        let allowed = try Tensor(Float(atol)) + Tensor(Float(rtol)) * Engine.abs(b).expanded(to: difference.shape)
        let excess = try (difference - allowed).max().item()
        let worst = try difference.max().item()
        return .verdict(excess <= 0, "max |a − b| = \(String(format: "%.3g", worst)), allowed \(String(format: "%.3g", atol)) + \(String(format: "%.3g", rtol))·|b|")
    },

    // MARK: Session
    Builtin("print", "print(_ values: Any...)", .session, "Prints values separated by spaces.", example: "print(\"σ =\", 2.5)") { args, session in
        session.emit(text: args.positional.map(\.plain).joined(separator: " "))
        return .none
    },
    Builtin("checking", "checking() -> Bool", .session,
            "True when the lesson runs under `normlab run --check`, so a training cell can use a small preset.",
            example: "let steps = checking() ? 10 : 1000") { args, session in
        try args.allow([]); return .bool(session.checking)
    },
    Builtin("help", "help(_ name: String)", .session, "The signature, description and example of a builtin or tensor method.",
            example: "help(\"adain\")") { args, session in
        try args.allow([])
        session.emit(text: session.help(try args.string(0)))
        return .none
    },
    Builtin("len", "len(_ x: Array or Tensor or String) -> Int", .session, "The number of elements (along the first axis for a tensor).",
            example: "len([1, 2, 3])") { args, _ in
        try args.allow([])
        switch try args.required(0) {
        case .array(let items): return .number(Double(items.count))
        case .string(let s): return .number(Double(s.count))
        case .tensor(let t): return .number(Double(t.rank == 0 ? 1 : t.shape[0]))
        case .range(let a, let b): return .number(Double(max(0, b - a)))
        case let other: throw args.error("a \(other.typeName) has no length")
        }
    },
]

/// A labelled argument holding an array of strings (`labels: ["real", "fake"]`), or none.
private func stringList(_ args: Arguments, _ label: String) throws -> [String] {
    guard let value = args.value(label) else { return [] }
    guard case .array(let items) = value else { throw args.error("'\(label):' must be an array of strings") }
    return items.map(\.plain)
}

/// A labelled argument's text (`title: "…"`), or "".
private func plainString(_ args: Arguments, _ label: String) -> String { args.value(label)?.plain ?? "" }

private func pixelRange(_ args: Arguments) throws -> PixelRange {
    guard let v = args.value("range") else { return .unit }
    guard case .string(let s) = v, let range = PixelRange(rawValue: s) else { throw args.error("'range:' is \"unit\" ([0, 1]) or \"symmetric\" ([-1, 1])") }
    return range
}

/// An array of numbers or a tensor as Doubles.
func numbers(_ value: Value, what: String) throws -> [Double] {
    if case .array(let items) = value { return try items.map { try toNumber($0, what: what) } }
    return try toTensor(value, what: what).scalars.map(Double.init)
}
