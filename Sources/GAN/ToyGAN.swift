import Engine
import NN
import Preview

/// The toy experiment of the WGAN-GP paper (gan_toy.py): MLPs 2 → 512 → 512 → 512 → {2, 1}
/// with ReLU, batch 256, λ = 0.1, Adam(1e-4, β = (0.5, 0.9)), 5 critic steps per generator step.
public final class ToyGAN {
    public let distribution: ToyDistribution
    public let gan: WGANGP
    public let batchSize: Int
    var data: RandomGenerator
    /// Samples for reports come from their own stream: how often one looks cannot change training.
    var viewing: RandomGenerator

    public init(_ distribution: ToyDistribution, hidden: Int = 512, batchSize: Int = 256, seed: UInt64 = 0) throws {
        Runtime.seed(seed)
        func mlp(_ output: Int) throws -> Sequential {
            try Sequential([Linear(2, hidden), ReLU(), Linear(hidden, hidden), ReLU(), Linear(hidden, hidden), ReLU(), Linear(hidden, output)])
        }
        gan = WGANGP(generator: try mlp(2), critic: try mlp(1), latentSize: 2, learningRate: 1e-4, betas: (0.5, 0.9))
        gan.lambda = 0.1
        (self.distribution, self.batchSize) = (distribution, batchSize)
        data = RandomGenerator(seed: seed &+ 1)
        viewing = RandomGenerator(seed: seed &+ 2)
    }

    /// One generator iteration; the critic's Wasserstein estimate and penalty.
    public func step() throws -> (wasserstein: Float, penalty: Float) {
        let (parts, _) = try gan.iteration(batchSize: batchSize) { try distribution.sample(batchSize, generator: &data) }
        return (try parts.wassersteinEstimate.item(), try parts.penalty.item())
    }

    /// What `normlab toy` and `train_toy` show every few iterations: real and generated points,
    /// and a line with the critic's estimate, the penalty and the modes covered.
    public func report(iteration: Int, last: (wasserstein: Float, penalty: Float), samples count: Int, real rng: inout RandomGenerator) throws
        -> (chart: ScatterPlot, line: String, coverage: (covered: Int, modes: Int, good: Double)) {
        let fake = try samples(count), real = try distribution.sample(count, generator: &rng)
        let coverage = modeCoverage(fake, distribution)
        let chart = ScatterPlot(title: "\(distribution.rawValue), iteration \(iteration)", series: [
            (name: "real", points: points(real), color: RGB.palette[0]),
            (name: "generated", points: points(fake), color: RGB.palette[1])], xRange: (-3, 3), yRange: (-3, 3))
        let line = String(format: "iteration %d: W estimate %.3f, penalty %.4f", iteration, last.wasserstein, last.penalty)
            + (coverage.modes > 0 ? String(format: ", modes %d/%d, good %.0f%%", coverage.covered, coverage.modes, coverage.good * 100) : "")
        return (chart, line, coverage)
    }

    public func samples(_ count: Int) throws -> Tensor {
        let z = try Tensor.randn([count, 2], generator: &viewing)
        return try noGrad { try gan.generator(z) }
    }

    /// The critic's values on a `resolution`² grid over [−3, 3]², row 0 at the bottom.
    public func criticSurface(resolution: Int = 48) throws -> [[Double]] {
        let axis = try Tensor.linspace(-3, 3, count: resolution)
        let xs = try axis.reshaped([1, resolution]).expanded(to: [resolution, resolution]).reshaped([-1, 1])
        let ys = try axis.reshaped([resolution, 1]).expanded(to: [resolution, resolution]).reshaped([-1, 1])
        let values = try noGrad { try gan.critic(Tensor.concat([xs, ys], axis: 1)) }.scalars
        return (0..<resolution).map { row in (0..<resolution).map { Double(values[row * resolution + $0]) } }
    }
}

/// Mode coverage on a toy (PacGAN's measure): the modes that receive a sample within 3
/// standard deviations, and the fraction of samples that are that close to some mode.
public func modeCoverage(_ samples: Tensor, _ distribution: ToyDistribution) -> (covered: Int, modes: Int, good: Double) {
    let centers = distribution.centers
    guard !centers.isEmpty, samples.rank == 2, samples.shape[1] == 2, samples.shape[0] > 0 else { return (0, centers.count, 0) }
    let values = samples.scalars
    var covered = Set<Int>(), good = 0
    for i in 0..<samples.shape[0] {
        let (x, y) = (Double(values[2 * i]), Double(values[2 * i + 1]))
        var best = (index: 0, distance: Double.infinity)
        for (k, c) in centers.enumerated() {
            let d = ((c.0 - x) * (c.0 - x) + (c.1 - y) * (c.1 - y)).squareRoot()
            if d < best.distance { best = (k, d) }
        }
        if best.distance < 3 * distribution.modeStd { good += 1; covered.insert(best.index) }
    }
    return (covered.count, centers.count, Double(good) / Double(samples.shape[0]))
}
