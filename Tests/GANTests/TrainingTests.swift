import Foundation
import XCTest
import TestSupport
import Engine
import NN
@testable import GAN

final class TrainingTests: ScratchDirectoryTestCase {
    func faces() throws -> Tensor { try syntheticFaces(count: 12, size: 8, seed: 1).images * 2 - 1 }

    func testATinyRunWritesSamplesCheckpointsAndLog() throws {
        for variant in Variant.allCases {
            let config = TrainingConfiguration.tiny(variant: variant, output: directory.appendingPathComponent(variant.rawValue).path)
            let trainer = try Trainer(config, data: faces())
            XCTAssertEqual(try trainer.run(), .finished)
            let files = try FileManager.default.contentsOfDirectory(atPath: config.output).sorted()
            XCTAssertEqual(files, ["checkpoint.safetensors", "log.csv", "samples-000002.png", "samples-000004.png"], "\(variant)")
            let log = try String(contentsOfFile: config.output + "/log.csv", encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(log.count, 5, "a header and 4 iterations")
            XCTAssertEqual(trainer.log.last?.sigmas.count ?? -1, variant.spectralNorm ? 2 : 0, "σ̂ of each SN layer is logged")
        }
    }

    /// 4 iterations straight, and 2 + resume + 2, give the same weights to the last bit.
    func testResumeContinuesBitForBit() throws {
        let data = try faces()
        let straight = try Trainer(.tiny(variant: .snAdain, output: directory.appendingPathComponent("a").path), data: data)
        _ = try straight.run()

        var half = TrainingConfiguration.tiny(variant: .snAdain, output: directory.appendingPathComponent("b").path)
        half.iterations = 2
        _ = try Trainer(half, data: data).run()
        Runtime.seed(12345)   // disturb the global stream: resume must restore it
        var rest = half
        rest.iterations = 4
        let resumed = try Trainer(rest, data: data)
        try resumed.resume()
        XCTAssertEqual(resumed.iteration, 2)
        _ = try resumed.run()
        for (name, value) in straight.generator.stateDict() {
            XCTAssertEqual(value.scalars, resumed.generator.stateDict()[name]?.scalars, "generator.\(name)")
        }
        for (name, value) in straight.critic.stateDict() {
            XCTAssertEqual(value.scalars, resumed.critic.stateDict()[name]?.scalars, "critic.\(name)")
        }
        XCTAssertEqual(resumed.log.map(\.iteration), [1, 2, 3, 4])
    }

    func testANaNStopsTheRunAndKeepsTheLastGoodCheckpoint() throws {
        var data = try faces()
        let config = TrainingConfiguration.tiny(variant: .plain, output: directory.appendingPathComponent("nan").path)
        let trainer = try Trainer(config, data: data)
        _ = try trainer.step()
        _ = try trainer.step()
        try trainer.saveCheckpoint()
        let good = try Data(contentsOf: URL(fileURLWithPath: trainer.checkpointPath))
        try data.withUnsafeMutableBufferPointer { $0.update(repeating: .nan) }
        let poisoned = try Trainer(config, data: data)
        try poisoned.resume()
        XCTAssertThrowsError(try poisoned.run()) {
            XCTAssertEqual($0 as? TrainingError, .nonFinite(quantity: "critic loss", iteration: 3))
            XCTAssertEqual("\($0)", "the critic loss became NaN or infinite at iteration 3; stopped, the last good checkpoint is kept")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: trainer.checkpointPath)), good)
    }

    func testAnInterruptFinishesTheStepAndWritesACheckpoint() throws {
        var config = TrainingConfiguration.tiny(variant: .sn, output: directory.appendingPathComponent("stop").path)
        config.iterations = 100
        let trainer = try Trainer(config, data: faces())
        XCTAssertEqual(try trainer.run(interrupted: { true }), .interrupted)
        XCTAssertEqual(trainer.iteration, 1)
        let metadata = try SafeTensors.load(from: trainer.checkpointPath).metadata
        XCTAssertEqual(metadata["iteration"], "1")
        XCTAssertThrowsError(try Trainer(config, data: Tensor.zeros([2, 3, 8, 8]))) {
            XCTAssertEqual($0 as? TrainingError, .tooFewImages(have: 2, batch: 4))
        }
    }
}
