import Foundation
import XCTest
import Engine
import GAN
import NN
import TestSupport
@testable import Library
import Script

/// save, load and load_generator in the language (issue 20), and metrics of a checkpoint.
final class TensorFileTests: ScratchDirectoryTestCase {
    func session() -> (Session, () -> [String]) {
        final class Lines: @unchecked Sendable { var all: [String] = [] }
        let lines = Lines()
        return (Session(output: { lines.all.append($0) }), { lines.all })
    }

    func testTensorsAndDictionariesRoundTrip() throws {
        let (s, output) = session()
        try s.run("""
            let x = arange(0, 6).reshaped([2, 3]) / 7
            save(x, "\(path("x.npy"))")
            abs(load("\(path("x.npy"))") - x).max()
            save(["weight": x, "bias": tensor([1.5, -2])], "\(path("d.safetensors"))")
            let d = load("\(path("d.safetensors"))")
            d.keys
            abs(d["weight"] - x).max()
            d["bias"]
            """)
        XCTAssertEqual(output(), ["0.0", "[\"bias\", \"weight\"]", "0.0", "[ 1.5 -2. ]"])
        // What Python reads back is checked in CheckpointTests; here, what Normlab wrote.
        XCTAssertEqual(try NPY.load(from: path("x.npy")).shape, [2, 3])
        XCTAssertTrue(try SafeTensors.load(from: path("d.safetensors")).verified)
    }

    func testWrongValuesAndNamesAreErrors() {
        let (s, _) = session()
        let cases: [(String, String)] = [
            ("save(ones(2), \"\(path("a.safetensors"))\")", "save: a .safetensors file holds tensors by name"),
            ("save([\"a\": \"text\"], \"\(path("a.safetensors"))\")", "save: \"a\" is \"text\"; a .safetensors file holds tensors"),
            ("save([\"a\": ones(2)], \"\(path("a.npy"))\")", "save: a .npy file holds one tensor, a .safetensors file a dictionary of tensors; got a Dictionary"),
            ("save(ones(2), \"\(path("a.txt"))\")", "save: \(path("a.txt")): the name must end in .npy (one tensor) or .safetensors (a dictionary of tensors)"),
            ("load(\"\(path("missing.npy"))\")", "cannot read \(path("missing.npy")): no such file"),
            ("save([\"w\": ones(2)], \"\(path("w.safetensors"))\")\nload_generator(\"\(path("w.safetensors"))\")",
             "\(path("w.safetensors")) is not a valid file: it holds no generator of the study (no project.weight of shape [16·width, latent])"),
        ]
        for (source, message) in cases {
            XCTAssertThrowsError(try s.run(source), source) { XCTAssertEqual(($0 as? ScriptError)?.message, message, source) }
        }
    }

    /// A lesson's run saved, then its generator loaded back: the same images as the trainer's
    /// generator makes, in evaluation mode.
    func testLoadGeneratorGivesTheRunsGenerator() throws {
        let (s, output) = session()
        try s.run("""
            let run = train_gan("sn+adain", iterations: 2, size: 8, width: 16, faces: 8, every: 2)
            run.save("\(path("run.safetensors"))")
            let g = load_generator("\(path("run.safetensors"))")
            seed(3)
            let z = randn(5, 128)
            g(z).shape
            """)
        XCTAssertTrue(output().contains("loaded the sn+adain generator of \(path("run.safetensors")) at iteration 2 (trained by normlab), 8×8 images from latent codes of 128"), "\(output())")
        XCTAssertEqual(output().last, "[5, 3, 8, 8]")
        let checkpoint = try StudyCheckpoint.read(path("run.safetensors"))
        let generator = try Generator(norm: .adain, resolution: 8, latentSize: 128, width: 16)
        try generator.load(stateDict: checkpoint.generator)
        generator.eval()
        var rng = RandomGenerator(seed: 3)
        try NPY.save(try generator(Tensor.randn([5, 128], generator: &rng)), to: path("expected.npy"))
        try s.run("abs(g(z) - load(\"\(path("expected.npy"))\")).max()")
        XCTAssertEqual(output().last, "0.0")
        // The checkpoint also resumes: the lesson's run goes on in `normlab train`.
        XCTAssertEqual(checkpoint.iteration, 2)
    }

    /// A generator's bare state dict from another tool (no run settings, no checksums): its
    /// shape is read from its tensors, and a warning says it cannot be verified.
    func testABareStateDictLoadsWithAWarning() throws {
        Runtime.seed(4)
        let generator = try Generator(norm: .batch, resolution: 16, latentSize: 12, width: 32)
        try writeSafeTensorsWithoutChecksums(generator.stateDict(), to: path("g.safetensors"))
        let (s, output) = session()
        try s.run("load_generator(\"\(path("g.safetensors"))\")(zeros(2, 12)).shape")
        XCTAssertEqual(output(), [
            "loaded the BatchNorm generator of \(path("g.safetensors")) (no run settings recorded: its shape read from its tensors), 16×16 images from latent codes of 12",
            "warning: \(path("g.safetensors")) has no checksums, so it cannot be verified",
            "[2, 3, 16, 16]",
        ])
    }

    /// The metrics take a checkpoint's path in place of images: its generator's images from a
    /// fixed stream, as many as the real ones (1024 where there are none).
    func testMetricsMeasureACheckpoint() throws {
        let (s, output) = session()
        try s.run("""
            let run = train_gan("plain", iterations: 1, size: 8, width: 16, faces: 8, every: 1)
            run.save("\(path("run.safetensors"))")
            let real = faces(12, size: 8)
            let g = load_generator("\(path("run.safetensors"))")
            """)
        let checkpoint = try StudyCheckpoint.read(path("run.safetensors"))
        let generator = try Generator(norm: .batch, resolution: 8, latentSize: 128, width: 16)
        try generator.load(stateDict: checkpoint.generator)
        let twelve = try generator.samples(count: 12, seed: 0)
        try s.run("swd(real, \"\(path("run.safetensors"))\")")
        let expected = try Evaluator.slicedWasserstein(syntheticFaces(count: 12, size: 8, seed: 0).images * 2 - 1, twelve)
        XCTAssertEqual(output().last, formatNumber(expected))
        try s.run("pair_distance(\"\(path("run.safetensors"))\", pairs: 50)")
        XCTAssertEqual(output().last, formatNumber(try meanPairDistance(generator.samples(count: 1024, seed: 0), pairs: 50)))
        XCTAssertTrue(output().contains { $0.hasPrefix("measuring 1024 images of the plain generator") }, "\(output())")
        try s.run("ndb(real, \"\(path("run.safetensors"))\", bins: 3).bins")
        XCTAssertEqual(output().last, "3")
    }
}
