import Engine
import Foundation
import GAN
import NN
import Script

/// Builtins that read and write tensor files (.npy, .safetensors) and bring a trained
/// generator (Normlab's or PyTorch's) into a session.
let tensorFileBuiltins: [Builtin] = [
    Builtin("save", [.positional("value", .any, "a tensor (for .npy) or a dictionary of tensors, [\"name\": tensor, …] (for .safetensors)"),
                     .positional("path", .string, "a file ending in .npy or .safetensors")],
            .data, """
            Writes a tensor as NumPy's .npy (np.load reads it), or a dictionary of tensors as .safetensors (safetensors.torch.load_file \
            reads it), float32, with a CRC-32 of each tensor that `load` checks. The file appears whole or not at all.
            """,
            example: "save([\"w\": ones(2, 3), \"b\": zeros(3)], \"example.safetensors\")") { args, _ in
        let path = args.string("path")
        switch (fileKind(path), args.value("value")) {
        case (.npy, .tensor(let t)?):
            try NPY.save(t, to: path)
        case (.safetensors, .object(let dictionary as ScriptDictionary)?):
            var tensors: [String: Tensor] = [:]
            for (name, value) in dictionary.entries {
                guard case .tensor(let t) = value else { throw args.error("\"\(name)\" is \(describeValue(value)); a .safetensors file holds tensors") }
                tensors[name] = t
            }
            try SafeTensors.save(tensors, to: path)
        case (.safetensors, .tensor?):
            throw args.error("a .safetensors file holds tensors by name", hint: "give it a dictionary: save([\"x\": x], \"\(path)\")")
        case (.npy, _?), (.safetensors, _?):
            throw args.error("a .npy file holds one tensor, a .safetensors file a dictionary of tensors; got \(describeValue(args.value("value") ?? .none))")
        default:
            throw args.error("\(printable(path)): the name must end in .npy (one tensor) or .safetensors (a dictionary of tensors)")
        }
        return .none
    },
    Builtin("load", [.positional("path", .string, "a .npy or .safetensors file")], returns: "Tensor or Dictionary", .data, """
            Reads a .npy file as a tensor, or a .safetensors file as a dictionary of tensors by name (`d.keys`, `d["name"]`). \
            float64, float16, bfloat16 and int64 are converted to float32; checksums written by Normlab are verified.
            """,
            example: "save(arange(0, 6), \"example.npy\"); load(\"example.npy\")") { args, _ in
        let path = args.string("path")
        switch fileKind(path) {
        case .npy: return .tensor(try NPY.load(from: path))
        case .safetensors:
            let tensors = try SafeTensors.load(from: path).tensors
            return .object(ScriptDictionary(tensors.keys.sorted().compactMap { name in tensors[name].map { (name, .tensor($0)) } }))
        case nil: throw args.error("\(printable(path)): the name must end in .npy or .safetensors")
        }
    },
    Builtin("load_generator", [.positional("path", .string, "a checkpoint of the study (Normlab's or the exported PyTorch script's), or a generator's state dict")],
            returns: "Function", .study, """
            The trained generator of a checkpoint as a function: `g(randn(16, 128))` gives 16 images [16, 3, R, R] in (−1, 1), \
            in evaluation mode, for `show` and the metrics. Checkpoints of a GPU run of `normlab export pytorch`'s script load as \
            Normlab's do; a file without checksums (another tool's) loads with a warning.
            """,
            example: "load_generator(train_gan(\"plain\", iterations: 1, size: 8, width: 16, faces: 8, every: 1).save(\"run.safetensors\"))(randn(2, 128)).shape") { args, session in
        let loaded = try LoadedGenerator(path: args.string("path"))
        session.emit(text: "loaded " + loaded.description)
        if !loaded.verified { session.emit(text: "warning: \(printable(args.string("path"))) has no checksums, so it cannot be verified") }
        return .builtin(BuiltinFunction(name: "generator") { call in
            .tensor(try loaded(generatorSignature.bind(call).tensor("z")))
        })
    },
]

/// The function load_generator returns.
private let generatorSignature = Signature(name: "generator", parameters: [.positional("z", .tensor, "latent codes [N, latent]")], returns: "Tensor")

enum TensorFileKind { case npy, safetensors }

func fileKind(_ path: String) -> TensorFileKind? {
    switch (path as NSString).pathExtension.lowercased() {
    case "npy": return .npy
    case "safetensors": return .safetensors
    default: return nil
    }
}

/// Images from a metric's argument: the images themselves, or the path of a checkpoint whose
/// generator makes `count` of them (from a fixed stream, so the measurement repeats).
func metricImages(_ value: Value?, count: Int, session: Session) throws -> Tensor {
    switch value {
    case .tensor(let t)?: return t
    case .string(let path)?:
        let loaded = try LoadedGenerator(path: path)
        session.emit(text: "measuring \(count) images of " + loaded.description)
        return try loaded.generator.samples(count: count, seed: 0)
    default: throw ScriptError(.runtime, "expected images or a checkpoint's path, got \(describeValue(value ?? .none))")
    }
}
