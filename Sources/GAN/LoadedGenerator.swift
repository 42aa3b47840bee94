import Engine
import Foundation
import NN

/// The generator of any checkpoint of the study, to look at and measure: a run's checkpoint
/// written by Normlab or by the exported PyTorch script (checked in full), an older Normlab's,
/// or a generator's bare state dict (`safetensors.torch.save_file(generator.state_dict(), …)`,
/// its architecture read from the shapes of its tensors).
public struct LoadedGenerator {
    public let generator: Generator
    /// What was loaded, in words: variant, size, latent size, iteration, which engine trained it.
    public let description: String
    /// Whether the file carried checksums (all verified); files of other tools do not.
    public let verified: Bool

    public init(path: String) throws {
        let file = try SafeTensors.load(from: path)
        if file.metadata["normlab_checkpoint"] != nil {
            let run = try StudyCheckpoint.read(path)
            let c = run.config
            generator = try Generator(norm: c.variant.generatorNorm, resolution: c.resolution, latentSize: c.latentSize, width: c.generatorWidth)
            try generator.load(stateDict: run.generator)
            description = "the \(c.variant.rawValue) generator of \(printable(path)) at iteration \(run.iteration) (trained by \(run.engine)), "
                + "\(c.resolution)×\(c.resolution) images from latent codes of \(c.latentSize)"
            verified = true
            return
        }
        // A generator's state dict, alone or under "generator." beside other tensors; an older
        // Normlab's camelCase names read as the current snake_case ones.
        let prefixed = file.tensors.keys.contains { $0.hasPrefix("generator.") }
        var state: [String: Tensor] = [:]
        for (name, tensor) in file.tensors where !prefixed || name.hasPrefix("generator.") {
            state[(prefixed ? name.dropFirst(10) : Substring(name)).split(separator: ".").map { snakeCase(String($0)) }.joined(separator: ".")] = tensor
        }
        generator = try Self.generator(fitting: &state, path: path)
        try generator.load(stateDict: state)
        let r = generator.upsample.count
        description = "the \(generator.norm == .adain ? "AdaIN" : "BatchNorm") generator of \(printable(path)) (no run settings recorded: its shape read "
            + "from its tensors), \(4 << r)×\(4 << r) images from latent codes of \(generator.latentSize)"
        verified = file.verified
    }

    /// A generator whose architecture fits the state dict: width and latent size from the
    /// projection's weight, resolution from the number of upsampling layers, AdaIN or BatchNorm
    /// from the norm layers' names. A missing `num_batches_tracked` (older files) counts 0.
    static func generator(fitting state: inout [String: Tensor], path: String) throws -> Generator {
        guard let project = state["project.weight"], project.rank == 2, project.shape[0] % 16 == 0, project.shape[0] > 0 else {
            throw CheckpointError.corrupt(path: path, reason: "it holds no generator of the study (no project.weight of shape [16·width, latent])")
        }
        let steps = (0..<6).prefix { state["upsample.\($0).weight"] != nil }.count
        guard (1...5).contains(steps) else {
            throw CheckpointError.corrupt(path: path, reason: "the generator has \(steps) upsampling layers; the study's have 1 to 5 (8×8 to 128×128)")
        }
        let norm: GeneratorNorm = state.keys.contains { $0.hasPrefix("adains.") } ? .adain : .batch
        let generator = try Generator(norm: norm, resolution: 4 << steps, latentSize: project.shape[1], width: project.shape[0] / 16)
        for (name, _) in generator.namedBuffers() where name.hasSuffix("num_batches_tracked") && state[name] == nil { state[name] = Tensor(0) }
        return generator
    }

    /// Images `[N, 3, R, R]` for latent codes `[N, latent]`, in evaluation mode.
    public func callAsFunction(_ z: Tensor) throws -> Tensor {
        guard z.rank == 2, z.shape[1] == generator.latentSize else {
            throw EngineError.shapeMismatch(op: "generator", shapes: [z.shape], reason: "expected latent codes [N, \(generator.latentSize)]")
        }
        generator.eval()
        return try noGrad { try generator(z) }
    }
}
