import Foundation
import XCTest
import TestSupport
import Engine
import Preview
@testable import GAN

/// The experiment runner at toy size: the same code as the 50-minute study.
final class ExperimentTests: ScratchDirectoryTestCase {
    func setUp(variants: [Variant]) throws -> (ExperimentConfiguration, Tensor, Evaluator) {
        var config = ExperimentConfiguration.tiny(output: directory.path)
        config.variants = variants
        let faces = try syntheticFaces(count: 64, size: 8, seed: 0).images * 2 - 1
        return (config, faces, try Evaluator(real: faces, samples: config.evaluationSamples, bins: config.bins))
    }

    func testWritesFigureOnePlotsAndTable() throws {
        let (config, faces, evaluator) = try setUp(variants: [.plain, .sn])
        let experiment = try Experiment(config, data: faces, evaluator: evaluator)
        XCTAssertEqual(experiment.iterationsPerEpoch, 8, "64 faces / batch 4 / n_critic 2")
        XCTAssertEqual(try experiment.run(), .finished)
        XCTAssertEqual(experiment.records.map { "\($0.variant.rawValue)@\($0.epoch)" }, ["plain@1", "plain@2", "sn@1", "sn@2"])
        for name in ["figure1.png", "wasserstein.png", "sigmas.png", "lipschitz.png", "swd.png", "metrics.md", "metrics.csv"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: directory.path + "/" + name), name)
        }
        // Figure 1: a row per variant, a column per epoch, each cell 4×4 samples of 8 px.
        let figure = try loadImage(directory.path + "/figure1.png")
        let cell = 4 * 8 + 5 * 2
        XCTAssertEqual(figure.shape, [3, 28 + 2 * (cell + 8), 112 + 2 * (cell + 8)])
        let table = try String(contentsOfFile: directory.path + "/metrics.md", encoding: .utf8)
        XCTAssertTrue(table.contains("| real vs real |"))
        XCTAssertTrue(table.contains("| sn | 2 | 16 |"), table)
        // Under spectral norm every layer's σ is about 1, so the bound is about 1.
        for r in experiment.records where r.variant == .sn { XCTAssertEqual(r.lipschitzBound, 1, accuracy: 0.1) }
        // Read back, the CSV gives the same records.
        let reread = try experiment.readRecords(directory.path + "/metrics.csv")
        XCTAssertEqual(reread.map(\.iteration), experiment.records.map(\.iteration))
        XCTAssertEqual(reread.map(\.evaluation.slicedWasserstein), experiment.records.map(\.evaluation.slicedWasserstein))

        // The report alone, from the runs on disk, with a seed that was never trained left out.
        try FileManager.default.removeItem(atPath: directory.path + "/metrics.md")
        var again = config
        again.seeds = [0, 5]
        let report = try Experiment(again, data: faces, evaluator: evaluator)
        XCTAssertEqual(try report.run(train: false), .finished)
        XCTAssertEqual(report.records.map(\.iteration), experiment.records.map(\.iteration))
        XCTAssertEqual(report.logs["sn-seed0"]?.map(\.criticLoss), experiment.logs["sn-seed0"]?.map(\.criticLoss))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path + "/sn-seed5"), "nothing is trained")
        func rows(_ text: String) -> [Substring] { text.split(separator: "\n").filter { $0.hasPrefix("|") } }
        XCTAssertEqual(rows(try String(contentsOfFile: directory.path + "/metrics.md", encoding: .utf8)), rows(table))
    }

    /// Measuring draws from private streams, so a measured run trains exactly as an unmeasured
    /// one; and an interrupted experiment resumed ends where an uninterrupted one does.
    func testMeasuringDoesNotChangeTrainingAndResumeIsExact() throws {
        let (config, faces, evaluator) = try setUp(variants: [.snAdain])
        let measured = try Experiment(config, data: faces, evaluator: evaluator)
        XCTAssertEqual(try measured.run(), .finished)

        var plain = config.training
        (plain.variant, plain.output, plain.iterations) = (.snAdain, directory.path + "/unmeasured", 16)
        let trainer = try Trainer(plain, data: faces)
        XCTAssertEqual(try trainer.run(), .finished)
        XCTAssertEqual(trainer.log.map(\.criticLoss), measured.logs["sn+adain-seed0"]?.map(\.criticLoss))

        var second = config
        second.output = directory.path + "/second"
        var steps = 0
        let interrupted = try Experiment(second, data: faces, evaluator: evaluator)
        XCTAssertEqual(try interrupted.run(interrupted: { steps += 1; return steps == 11 }), .interrupted)
        let resumed = try Experiment(second, data: faces, evaluator: evaluator)
        XCTAssertEqual(try resumed.run(resume: true), .finished)
        XCTAssertEqual(resumed.records.map(\.epoch), [1, 2], "epoch 1 read back, epoch 2 measured")
        XCTAssertEqual(resumed.logs["sn+adain-seed0"]?.map(\.criticLoss), measured.logs["sn+adain-seed0"]?.map(\.criticLoss))
        XCTAssertEqual(resumed.records.last?.evaluation.slicedWasserstein, measured.records.last?.evaluation.slicedWasserstein)
    }
}
