import XCTest
import Engine
import NN
@testable import GAN

final class ModelTests: XCTestCase {
    /// The 32×32 networks are exactly those of ../shared/bench/wgan_step.md.
    func testParameterCountsMatchTheBenchmarkNetwork() throws {
        XCTAssertEqual(try Generator(norm: .batch).parameterCount, 1_218_051)
        XCTAssertEqual(try Generator(norm: .adain).parameterCount, 1_275_395)
        XCTAssertEqual(try Critic(spectralNorm: false).parameterCount, 662_977)
        XCTAssertEqual(try Critic(spectralNorm: true).parameterCount, 662_977, "spectral norm adds buffers, not parameters")
        XCTAssertEqual(try Critic(spectralNorm: true).namedBuffers().count, 8, "u and v for each of the four layers")
    }

    func testShapesAndRanges() throws {
        Runtime.seed(1)
        let g = try Generator(norm: .adain, resolution: 16, latentSize: 8, width: 16)
        let images = try g(Tensor.randn([2, 8]))
        XCTAssertEqual(images.shape, [2, 3, 16, 16])
        XCTAssertLessThan(try abs(images).max().item(), 1)
        let d = try Critic(spectralNorm: true, resolution: 16, width: 8)
        XCTAssertEqual(try d(images).shape, [2])
        XCTAssertEqual(d.sigmas.count, 3)
        XCTAssertThrowsError(try Generator(norm: .batch, resolution: 20))
    }

    /// A tiny configuration of the same iteration the benchmark times: it runs, every loss is
    /// finite, and both networks' parameters move.
    func testOneWGANGPIterationOnEachVariant() throws {
        for norm in GeneratorNorm.allCases {
            for sn in [false, true] {
                Runtime.seed(2)
                let g = try Generator(norm: norm, resolution: 8, latentSize: 8, width: 8)
                let d = try Critic(spectralNorm: sn, resolution: 8, width: 4)
                let gan = WGANGP(generator: g, critic: d)
                gan.nCritic = 2
                let before = (g.parameters[0].value.scalars, d.parameters[0].value.scalars)
                let (parts, generatorLoss) = try gan.iteration(batchSize: 4) { try Tensor.rand([4, 3, 8, 8]) * 2 - 1 }
                XCTAssertTrue(try parts.loss.item().isFinite && generatorLoss.isFinite, "\(norm) sn=\(sn)")
                XCTAssertNotEqual(g.parameters[0].value.scalars, before.0, "the generator learned")
                XCTAssertNotEqual(d.parameters[0].value.scalars, before.1, "the critic learned")
            }
        }
    }
}

final class ToyTests: XCTestCase {
    func testModeCoverageCountsModesAndGoodSamples() throws {
        var rng = RandomGenerator(seed: 3)
        let real = try ToyDistribution.eightGaussians.sample(2000, generator: &rng)
        let coverage = modeCoverage(real, .eightGaussians)
        XCTAssertEqual(coverage.covered, 8)
        XCTAssertGreaterThan(coverage.good, 0.98)
        let collapsed = try Tensor.zeros([100, 2]) + Tensor([Float(2 / 1.414), 0])
        let one = modeCoverage(collapsed, .eightGaussians)
        XCTAssertEqual(one.covered, 1, "all samples on one mode: collapse")
        XCTAssertEqual(one.good, 1)
        XCTAssertEqual(modeCoverage(try Tensor.zeros([10, 2]), .eightGaussians).covered, 0)
    }

    /// A tiny configuration of the toy the `normlab toy` command trains.
    func testToyTrainingRuns() throws {
        let toy = try ToyGAN(.eightGaussians, hidden: 16, batchSize: 32, seed: 1)
        for _ in 0..<3 {
            let (w, p) = try toy.step()
            XCTAssertTrue(w.isFinite && p.isFinite)
        }
        XCTAssertEqual(try toy.samples(5).shape, [5, 2])
        // Looking at samples does not change training: two runs (one after the other, as they
        // share the global stream), one looked at, end equal.
        let a = try ToyGAN(.eightGaussians, hidden: 8, batchSize: 16, seed: 4)
        _ = try a.step(); _ = try a.samples(64); let lastA = try a.step()
        let b = try ToyGAN(.eightGaussians, hidden: 8, batchSize: 16, seed: 4)
        _ = try b.step(); let lastB = try b.step()
        XCTAssertEqual(lastA.wasserstein, lastB.wasserstein)
        let surface = try toy.criticSurface(resolution: 4)
        XCTAssertEqual(surface.count, 4)
        XCTAssertTrue(surface.allSatisfy { $0.count == 4 && $0.allSatisfy(\.isFinite) })
    }
}
