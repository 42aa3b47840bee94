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
    var fixedLatent: Tensor

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
        try generator.samples(count: count, seed: seed)
    }

    public func saveSamples() throws {
        try FileManager.default.createDirectory(atPath: config.output, withIntermediateDirectories: true)
        try savePNG(sampleGrid(), to: config.output + String(format: "/samples-%06d.png", iteration), range: .symmetric)
    }

    public var checkpointPath: String { config.output + "/checkpoint.safetensors" }
    public var logPath: String { config.output + "/log.csv" }

    /// Everything a resumed run needs, in the format the exported PyTorch script shares.
    /// `globalStream` is the run's global random stream when it is no longer the global one
    /// (a lesson's run gives the stream back when it ends).
    public func checkpoint(globalStream: RandomGenerator? = nil) throws -> StudyCheckpoint {
        StudyCheckpoint(config: config, images: data.shape[0], engine: "normlab", iteration: iteration, epoch: epoch, batchPosition: batchPosition,
                        randomStreams: (globalStream ?? Runtime.generatorState, epochStart), generator: generator.stateDict(), critic: critic.stateDict(),
                        generatorOptimizer: try gan.generatorOptimizer.stateDict(), criticOptimizer: try gan.criticOptimizer.stateDict(),
                        log: log, sampleLatents: fixedLatent)
    }

    /// Models, optimizers, random streams, the position in the epoch and the log, written
    /// atomically; then log.csv from the same log. A kill between the two leaves a log.csv
    /// behind the checkpoint, which `resume` rewrites.
    public func saveCheckpoint() throws {
        try FileManager.default.createDirectory(atPath: config.output, withIntermediateDirectories: true)
        try checkpoint().write(to: checkpointPath)
        try writeLog()
    }

    func writeLog() throws {
        try writeFileAtomically(Data(StudyCheckpoint.csv(log, spectralNorm: critic.spectralNorm).utf8), to: logPath)
    }

    /// Restores everything `saveCheckpoint` wrote (or the exported PyTorch script, or an older
    /// Normlab), checking it first: checksums, every field, and that its settings are this
    /// run's. The next iteration is the one that would have followed. log.csv is rewritten to
    /// agree with the checkpoint, and temporary files of killed writers are removed. Returns
    /// notes for the user (a file without checksums, streams that could not continue).
    @discardableResult
    public func resume(from path: String? = nil) throws -> [String] {
        let path = path ?? checkpointPath
        var notes = (removeStaleTemporaries(of: path) + removeStaleTemporaries(of: logPath)).map { "removed \($0), left by a killed process" }
        let saved = try StudyCheckpoint.read(path, legacyConfiguration: config, images: data.shape[0])
        if saved.legacy {
            notes.append("\(path) was written by an older Normlab, without checksums; it is read as it is")
        } else if !saved.verified {
            throw TrainingError.badCheckpoint("\(path) has no checksums, so it cannot be verified; Normlab and its exported PyTorch script always write them")
        }
        let differences = config.differences(from: saved.config) + (saved.images == data.shape[0] ? [] : ["images: \(saved.images) in the checkpoint, \(data.shape[0]) here"])
        guard differences.isEmpty else {
            throw TrainingError.badCheckpoint("\(path) belongs to another run:\n  " + differences.joined(separator: "\n  "))
        }
        try generator.load(stateDict: saved.generator)
        try critic.load(stateDict: saved.critic)
        try gan.generatorOptimizer.load(stateDict: saved.generatorOptimizer)
        try gan.criticOptimizer.load(stateDict: saved.criticOptimizer)
        let streams = saved.randomStreams ?? (derivedStream(1, saved.iteration), derivedStream(2, saved.iteration))
        if saved.randomStreams == nil {
            notes.append("\(path) was written by \(saved.engine): its random streams are its own, so Normlab continues with streams drawn from the seed and iteration \(saved.iteration)")
        }
        Runtime.generatorState = streams.global
        epochStart = streams.epoch
        iterator.generator = epochStart
        batches = saved.epoch > 0 ? iterator.epoch() : []
        (batchPosition, iteration, epoch, log, fixedLatent) = (saved.batchPosition, saved.iteration, saved.epoch, saved.log, saved.sampleLatents)
        if let first = log.first, log.count < iteration {
            notes.append("log.csv lacks \(iteration - log.count) of \(iteration) rows (from \(first.iteration)); an older Normlab lost them")
        }
        try FileManager.default.createDirectory(atPath: config.output, withIntermediateDirectories: true)
        try writeLog()
        return notes
    }

    /// A stream for a run whose own streams are unknown, fixed by the seed and the iteration.
    func derivedStream(_ salt: UInt64, _ iteration: Int) -> RandomGenerator {
        RandomGenerator(seed: (config.seed &+ salt) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(iteration))
    }
}
