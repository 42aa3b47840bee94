import Engine
import Foundation
import NN
import Preview

/// The study's four variants.
public enum Variant: String, CaseIterable, Sendable {
    case plain, sn, adain, snAdain = "sn+adain"
    public var generatorNorm: GeneratorNorm { self == .adain || self == .snAdain ? .adain : .batch }
    public var spectralNorm: Bool { self == .sn || self == .snAdain }
}

/// Everything a training run depends on; the same value gives the same run.
public struct TrainingConfiguration: Sendable {
    public var variant: Variant = .plain
    public var resolution = 32
    public var batchSize = 64
    public var iterations = 1000
    public var nCritic = 5
    public var lambda: Float = 10
    public var learningRate: Float = 1e-4
    public var beta1 = 0.0, beta2 = 0.9
    public var seed: UInt64 = 0
    public var sampleEvery = 100
    public var checkpointEvery = 100
    public var latentSize = 128
    public var generatorWidth = 256
    public var criticWidth = 64
    public var output = "run"
    public init() {}

    /// A few iterations of small networks: the same code path, for tests.
    public static func tiny(variant: Variant, output: String) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        (c.variant, c.output, c.resolution, c.batchSize, c.iterations, c.nCritic) = (variant, output, 8, 4, 4, 2)
        (c.latentSize, c.generatorWidth, c.criticWidth, c.sampleEvery, c.checkpointEvery) = (8, 16, 8, 2, 2)
        return c
    }
}

public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case nonFinite(quantity: String, iteration: Int)
    case tooFewImages(have: Int, batch: Int)
    case badCheckpoint(String)

    public var description: String {
        switch self {
        case let .nonFinite(quantity, iteration):
            return "the \(quantity) became NaN or infinite at iteration \(iteration); stopped, the last good checkpoint is kept"
        case let .tooFewImages(have, batch): return "\(have) images cannot fill a batch of \(batch)"
        case .badCheckpoint(let why): return "cannot resume: \(why)"
        }
    }
}

/// One logged iteration.
public struct IterationLog: Sendable {
    public var iteration: Int
    public var criticLoss: Float, wasserstein: Float, penalty: Float, gradientNorm: Float, generatorLoss: Float
    public var sigmas: [Float]
}

/// The WGAN-GP training loop: one native function used by the CLI, the lessons and the
/// experiment runner. Per iteration it logs the critic loss, the Wasserstein estimate, the
/// penalty, the mean gradient norm, the generator loss and each spectral-norm layer's σ̂; every
/// few iterations it writes a sample grid from a fixed latent batch and an atomic checkpoint
/// (models, optimizers and every random stream, so a resumed run continues bit for bit).
public final class Trainer {
    public let config: TrainingConfiguration
    public let generator: Generator
    public let critic: Critic
    public let gan: WGANGP
    let data: Tensor
    var iterator: BatchIterator
    var epochStart: RandomGenerator
    var batches: [[Int]] = []
    var batchPosition = 0
    public private(set) var iteration = 0
    public private(set) var epoch = 0
    public private(set) var log: [IterationLog] = []
    let fixedLatent: Tensor

    /// `data`: images `[N, 3, R, R]` in [−1, 1].
    public init(_ config: TrainingConfiguration, data: Tensor) throws {
        guard data.rank == 4, data.shape[0] >= config.batchSize else {
            throw TrainingError.tooFewImages(have: data.rank == 4 ? data.shape[0] : 0, batch: config.batchSize)
        }
        self.config = config
        self.data = data
        Runtime.seed(config.seed)
        generator = try Generator(norm: config.variant.generatorNorm, resolution: config.resolution, latentSize: config.latentSize, width: config.generatorWidth)
        critic = try Critic(spectralNorm: config.variant.spectralNorm, resolution: config.resolution, width: config.criticWidth)
        gan = WGANGP(generator: generator, critic: critic, learningRate: config.learningRate, betas: (config.beta1, config.beta2))
        (gan.lambda, gan.nCritic) = (config.lambda, config.nCritic)
        var fixed = RandomGenerator(seed: config.seed &+ 1)
        fixedLatent = try Tensor.randn([min(64, 8 * 8), config.latentSize], generator: &fixed)
        iterator = BatchIterator(count: data.shape[0], batchSize: config.batchSize, dropLast: true, seed: config.seed &+ 2)
        epochStart = iterator.generator
    }

    func nextBatch() throws -> Tensor {
        if batchPosition >= batches.count {
            epochStart = iterator.generator
            batches = iterator.epoch()
            batchPosition = 0
            epoch += 1
        }
        defer { batchPosition += 1 }
        return try data.gather(batches[batchPosition])
    }

    /// One generator iteration (n_critic critic steps, one generator step).
    @discardableResult
    public func step() throws -> IterationLog {
        let (parts, generatorLoss) = try gan.iteration(batchSize: config.batchSize) { try nextBatch() }
        iteration += 1
        let entry = IterationLog(iteration: iteration, criticLoss: try parts.loss.item(), wasserstein: try parts.wassersteinEstimate.item(),
                                 penalty: try parts.penalty.item(), gradientNorm: try parts.gradientNorms.mean().item(),
                                 generatorLoss: generatorLoss, sigmas: critic.sigmas)
        for (name, value) in [("critic loss", entry.criticLoss), ("Wasserstein estimate", entry.wasserstein), ("gradient penalty", entry.penalty),
                              ("generator loss", entry.generatorLoss)] where !value.isFinite {
            throw TrainingError.nonFinite(quantity: name, iteration: iteration)
        }
        log.append(entry)
        return entry
    }

    public enum Outcome: Equatable { case finished, interrupted }

    /// Trains until `config.iterations`; stops cleanly (checkpoint written) when `interrupted()`
    /// turns true between iterations. A NaN stops the run without overwriting the checkpoint.
    public func run(interrupted: () -> Bool = { false }, progress: (Trainer, IterationLog) -> Void = { _, _ in }) throws -> Outcome {
        while iteration < config.iterations {
            let entry = try step()
            progress(self, entry)
            if iteration % max(1, config.sampleEvery) == 0 { try saveSamples() }
            if iteration % max(1, config.checkpointEvery) == 0 || iteration == config.iterations { try saveCheckpoint() }
            if interrupted() && iteration < config.iterations {
                try saveCheckpoint()
                return .interrupted
            }
        }
        return .finished
    }

    /// The generator's images for the first `count` codes of the fixed latent batch (all 64 by
    /// default), as a grid `[3, H, W]` in [−1, 1].
    public func sampleGrid(count: Int? = nil, rows: Int? = nil) throws -> Tensor {
        try grid(fixedSamples(count: count), rows: rows, padding: 2, padValue: -1)
    }

    /// The generator's images `[N, 3, R, R]` for the first `count` codes of the fixed latent batch.
    public func fixedSamples(count: Int? = nil) throws -> Tensor {
        let latent = try count.map { try fixedLatent.gather(Array(0..<min(max($0, 1), fixedLatent.shape[0]))) } ?? fixedLatent
        generator.eval()
        defer { generator.train() }
        return try noGrad { try generator(latent) }
    }

    /// `count` new images `[N, 3, R, R]` from latent codes of a private stream (`seed`), in
    /// evaluation mode: looking at the generator does not change the run.
    public func generate(count: Int, seed: UInt64) throws -> Tensor {
        var rng = RandomGenerator(seed: seed)
        generator.eval()
        defer { generator.train() }
        return try noGrad {
            try Tensor.concat(stride(from: 0, to: count, by: 256).map { start in
                try generator(Tensor.randn([min(256, count - start), config.latentSize], generator: &rng))
            }, axis: 0)
        }
    }

    public func saveSamples() throws {
        try FileManager.default.createDirectory(atPath: config.output, withIntermediateDirectories: true)
        try savePNG(sampleGrid(), to: config.output + String(format: "/samples-%06d.png", iteration), range: .symmetric)
    }

    public var checkpointPath: String { config.output + "/checkpoint.safetensors" }

    /// Models, optimizers, the global and shuffling random streams and the position in the
    /// epoch, written atomically; the log beside it as CSV.
    public func saveCheckpoint() throws {
        try FileManager.default.createDirectory(atPath: config.output, withIntermediateDirectories: true)
        var tensors: [String: Tensor] = [:]
        for (k, v) in generator.stateDict() { tensors["generator." + k] = v }
        for (k, v) in critic.stateDict() { tensors["critic." + k] = v }
        for (k, v) in try gan.generatorOptimizer.stateDict() { tensors["generator_optimizer." + k] = v }
        for (k, v) in try gan.criticOptimizer.stateDict() { tensors["critic_optimizer." + k] = v }
        func state(_ g: RandomGenerator) -> String { "\(g.state.0),\(g.state.1),\(g.state.2),\(g.state.3)" }
        try SafeTensors.save(tensors, metadata: [
            "iteration": String(iteration), "epoch": String(epoch), "batch_position": String(batchPosition),
            "global_rng": state(Runtime.generatorState), "epoch_rng": state(epochStart), "variant": config.variant.rawValue,
        ], to: checkpointPath)
        let header = "iteration,critic_loss,wasserstein,penalty,gradient_norm,generator_loss" + (critic.spectralNorm ? ",sigmas" : "")
        let rows = log.map { e in
            "\(e.iteration),\(e.criticLoss),\(e.wasserstein),\(e.penalty),\(e.gradientNorm),\(e.generatorLoss)"
                + (e.sigmas.isEmpty ? "" : "," + e.sigmas.map { String($0) }.joined(separator: " "))
        }
        try ([header] + rows).joined(separator: "\n").appending("\n").write(toFile: config.output + "/log.csv", atomically: true, encoding: .utf8)
    }

    /// Restores everything `saveCheckpoint` wrote; the next iteration is the one that would
    /// have followed.
    public func resume(from path: String? = nil) throws {
        let (tensors, metadata) = try SafeTensors.load(from: path ?? checkpointPath)
        guard metadata["variant"] == config.variant.rawValue else {
            throw TrainingError.badCheckpoint("the checkpoint is of variant \(metadata["variant"] ?? "?"), this run is \(config.variant.rawValue)")
        }
        func part(_ prefix: String) -> [String: Tensor] {
            Dictionary(uniqueKeysWithValues: tensors.filter { $0.key.hasPrefix(prefix) }.map { (String($0.key.dropFirst(prefix.count)), $0.value) })
        }
        try generator.load(stateDict: part("generator."))
        try critic.load(stateDict: part("critic."))
        try gan.generatorOptimizer.load(stateDict: part("generator_optimizer."))
        try gan.criticOptimizer.load(stateDict: part("critic_optimizer."))
        func generatorState(_ key: String) throws -> RandomGenerator {
            let parts = (metadata[key] ?? "").split(separator: ",").compactMap { UInt64($0) }
            guard parts.count == 4 else { throw TrainingError.badCheckpoint("\(key) is missing or damaged") }
            return RandomGenerator(state: (parts[0], parts[1], parts[2], parts[3]))
        }
        guard let saved = metadata["iteration"].flatMap(Int.init), let position = metadata["batch_position"].flatMap(Int.init),
              let epochs = metadata["epoch"].flatMap(Int.init) else { throw TrainingError.badCheckpoint("the iteration counters are missing") }
        Runtime.generatorState = try generatorState("global_rng")
        epochStart = try generatorState("epoch_rng")
        iterator.generator = epochStart
        batches = epochs > 0 ? iterator.epoch() : []
        (batchPosition, iteration, epoch) = (position, saved, epochs)
        if let text = try? String(contentsOfFile: config.output + "/log.csv", encoding: .utf8) {
            log = text.split(separator: "\n").dropFirst().compactMap { line in
                let f = line.split(separator: ",").map(String.init)
                guard f.count >= 6, let i = Int(f[0]), i <= saved, let values = Optional(f[1...5].compactMap(Float.init)), values.count == 5 else { return nil }
                let sigmas = f.count > 6 ? f[6].split(separator: " ").compactMap { Float($0) } : []
                return IterationLog(iteration: i, criticLoss: values[0], wasserstein: values[1], penalty: values[2], gradientNorm: values[3],
                                    generatorLoss: values[4], sigmas: sigmas)
            }
        }
    }
}
