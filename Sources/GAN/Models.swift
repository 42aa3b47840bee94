import Engine
import NN

/// The generator's normalization: BatchNorm ("plain") or AdaIN from the latent code.
public enum GeneratorNorm: String, Sendable, CaseIterable { case batch, adain }

/// A DCGAN-style generator, latent 128 → 4×4 → transposed-conv upsampling → tanh; at 32×32 it
/// is exactly the network of ../shared/bench/wgan_step.md (1,218,051 parameters with
/// BatchNorm, 1,275,395 with AdaIN).
public final class Generator: Layer {
    public let latentSize: Int
    public let project: Linear
    public let upsample: [ConvTranspose2d]
    public let batchNorms: [BatchNorm2d]
    public let adains: [AdaptiveInstanceNorm]
    public let output: Conv2d
    public let norm: GeneratorNorm
    let baseChannels: Int

    /// `resolution` is 16, 32, 64 or 128 (one upsampling per doubling from 4×4).
    public init(norm: GeneratorNorm, resolution: Int = 32, latentSize: Int = 128, width: Int = 256) throws {
        guard [8, 16, 32, 64, 128].contains(resolution) else {
            throw EngineError.invalidArgument(op: "Generator", message: "resolution must be 8, 16, 32, 64 or 128, got \(resolution)")
        }
        let steps = Int(log2(Double(resolution / 4)))
        var channels = [width]
        for _ in 0..<steps { channels.append(max(channels.last! / 2, 8)) }
        (self.latentSize, self.norm, baseChannels) = (latentSize, norm, width)
        project = try Linear(latentSize, 4 * 4 * width)
        upsample = try (0..<steps).map { try ConvTranspose2d(channels[$0], channels[$0 + 1], kernelSize: 4, stride: 2, padding: 1) }
        batchNorms = norm == .batch ? try channels.dropFirst().map { try BatchNorm2d($0) } : []
        adains = norm == .adain ? try channels.dropFirst().map { try AdaptiveInstanceNorm(channels: $0, latentSize: latentSize) } : []
        output = try Conv2d(channels.last!, 3, kernelSize: 3, padding: 1)
    }

    /// z `[N, latent]` → images `[N, 3, R, R]` in (−1, 1).
    public func callAsFunction(_ z: Tensor) throws -> Tensor {
        var x = try project(z).reshaped([z.shape[0], baseChannels, 4, 4])
        for (i, up) in upsample.enumerated() {
            x = try up(x)
            x = norm == .batch ? try batchNorms[i](x) : try adains[i](x, latent: z)
            x = try relu(x)
        }
        return try tanh(output(x))
    }
}

extension Generator {
    /// `count` images `[N, 3, R, R]` from latent codes of a private stream (`seed`), in
    /// evaluation mode (BatchNorm's running statistics), in batches of 256.
    public func samples(count: Int, seed: UInt64) throws -> Tensor {
        var rng = RandomGenerator(seed: seed)
        eval()
        defer { train() }
        return try noGrad {
            try Tensor.concat(stride(from: 0, to: count, by: 256).map { start in
                try self(Tensor.randn([min(256, count - start), latentSize], generator: &rng))
            }, axis: 0)
        }
    }
}

/// The critic: strided 4×4 convolutions with leaky ReLU 0.2 and no norm layer (the penalty is
/// per sample), then a linear score; spectral normalization on every layer when asked. At 32×32
/// it is wgan_step.md's critic (662,977 parameters). With `outputs` > 1 the same network is a
/// multi-label classifier (the attribute classifier of the metrics). The layers are one list,
/// activations included, as PyTorch's `nn.Sequential` numbers them (`layers.2.weight_orig`).
public final class Critic: Layer {
    public let layers: [any Layer]
    public let spectralNorm: Bool

    public init(spectralNorm: Bool, resolution: Int = 32, width: Int = 64, outputs: Int = 1) throws {
        guard [8, 16, 32, 64, 128].contains(resolution) else {
            throw EngineError.invalidArgument(op: "Critic", message: "resolution must be 8, 16, 32, 64 or 128, got \(resolution)")
        }
        func normalized(_ layer: some WeightedLayer) throws -> any Layer { spectralNorm ? try SpectralNorm(layer) : layer }
        var built: [any Layer] = []
        var (channels, size) = (3, resolution)
        var next = width
        while size > 4 {
            built += [try normalized(Conv2d(channels, next, kernelSize: 4, stride: 2, padding: 1)), LeakyReLU(slope: criticLeakySlope)]
            (channels, size, next) = (next, size / 2, next * 2)
        }
        built += [Flatten(), try normalized(Linear(channels * 16, outputs))]
        (layers, self.spectralNorm) = (built, spectralNorm)
    }

    /// images `[N, 3, R, R]` → scores `[N]`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try outputs(x).reshaped([-1]) }

    /// images `[N, 3, R, R]` → `[N, outputs]`.
    public func outputs(_ x: Tensor) throws -> Tensor { try layers.reduce(x) { try $1($0) } }

    /// The convolutions and the final linear map, in order.
    public var weightedLayers: [any WeightedLayer] { layers.compactMap { $0 as? any WeightedLayer } }

    /// σ of each layer's weight as the network uses it (W, or W/σ̂ under spectral norm), by 100
    /// power iterations from a fixed start; their product bounds the critic's Lipschitz constant.
    public func layerSigmas() throws -> [Double] {
        var rng = RandomGenerator(seed: 0)
        return try noGrad {
            try weightedLayers.map { layer in
                let matrix = try layer.weightMatrix(layer.weight.value)
                // Both starts from a private stream: the global one belongs to training.
                let u = try normalize(Tensor.randn([matrix.shape[0]], generator: &rng)), v = try normalize(Tensor.randn([matrix.shape[1]], generator: &rng))
                let sigma = try Double(powerIteration(matrix, iterations: 100, u: u, v: v, order: .parametrization).sigma.item())
                return (layer as? any SpectrallyNormalized).map { sigma / Double($0.sigma) } ?? sigma
            }
        }
    }

    /// σ̂ of each spectrally normalized layer after its last call.
    public var sigmas: [Float] { layers.compactMap { ($0 as? any SpectrallyNormalized)?.sigma } }
}

/// One WGAN-GP generator iteration as in Gulrajani et al.'s Algorithm 1 (and wgan_step.md):
/// `nCritic` critic steps on the penalised loss, then one generator step, each with Adam.
public final class WGANGP {
    public let generator: any Layer
    public let critic: any Layer
    public let latentSize: Int
    public let generatorOptimizer: Adam
    public let criticOptimizer: Adam
    public var lambda: Float = 10
    public var nCritic = 5

    public convenience init(generator: Generator, critic: Critic, learningRate: Float = 1e-4, betas: (Double, Double) = (0, 0.9)) {
        self.init(generator: generator, critic: critic, latentSize: generator.latentSize, learningRate: learningRate, betas: betas)
    }

    /// Any generator (latent → samples) and critic (samples → scores `[N]` or `[N, 1]`).
    public init(generator: any Layer, critic: any Layer, latentSize: Int, learningRate: Float = 1e-4, betas: (Double, Double) = (0, 0.9)) {
        (self.generator, self.critic, self.latentSize) = (generator, critic, latentSize)
        generatorOptimizer = Adam(generator, learningRate: learningRate, betas: betas)
        criticOptimizer = Adam(critic, learningRate: learningRate, betas: betas)
    }

    /// Runs one iteration; `real()` gives a batch of real images each critic step. The parts
    /// of the last critic loss and the generator loss are returned for logging.
    @discardableResult
    public func iteration(batchSize: Int, real: () throws -> Tensor) throws -> (critic: CriticLoss, generatorLoss: Float) {
        guard nCritic >= 1 else { throw EngineError.invalidArgument(op: "WGANGP", message: "nCritic must be ≥ 1, got \(nCritic)") }
        var last: CriticLoss?
        for _ in 0..<nCritic {
            let batch = try real()
            let z = try Tensor.randn([batchSize, latentSize])
            let fake = try noGrad { try generator(z) }
            let parts = try criticLoss(critic: { try critic($0).reshaped([-1]) }, real: batch, fake: fake, lambda: lambda)
            criticOptimizer.zeroGrad()
            try parts.loss.backward()
            try criticOptimizer.step()
            last = parts
        }
        let z = try Tensor.randn([batchSize, latentSize])
        let loss = try generatorLoss(criticFake: critic(generator(z)).reshaped([-1]))
        generatorOptimizer.zeroGrad()
        try loss.backward()
        try generatorOptimizer.step()
        critic.zeroGrad()   // the generator step left gradients in the critic; they are not used
        guard let last else { throw EngineError.invalidArgument(op: "WGANGP", message: "no critic step ran") }
        return (last, try loss.item())
    }
}

import Foundation
