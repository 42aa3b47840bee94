import Foundation
import XCTest
import TestSupport
import Engine
import NN
@testable import GAN

/// The run's checkpoint: PyTorch's names, every field checked on resume, corruption refused,
/// log.csv kept in agreement through kills (issue 18 items 5, 7, 8; issue 20).
final class StudyCheckpointTests: ScratchDirectoryTestCase {
    func faces() throws -> Tensor { try syntheticFaces(count: 12, size: 8, seed: 1).images * 2 - 1 }

    func config(_ variant: Variant, _ name: String, iterations: Int = 2) -> TrainingConfiguration {
        var c = TrainingConfiguration.tiny(variant: variant, output: path(name))
        c.iterations = iterations
        return c
    }

    /// A trained run's directory and its checkpoint's bytes.
    func trained(_ variant: Variant = .snAdain, _ name: String = "run", iterations: Int = 2) throws -> (Trainer, Data) {
        let trainer = try Trainer(config(variant, name, iterations: iterations), data: faces())
        _ = try trainer.run()
        return (trainer, try Data(contentsOf: URL(fileURLWithPath: trainer.checkpointPath)))
    }

    /// Every tensor of a trainer's models and optimizers, by checkpoint name.
    func state(_ trainer: Trainer) throws -> [String: [Float]] {
        try trainer.checkpoint().write(to: path("probe.safetensors"))
        return try SafeTensors.load(from: path("probe.safetensors")).tensors.mapValues(\.scalars)
    }

    func testTheCheckpointIsNamedAsThePyTorchModules() throws {
        let (trainer, _) = try trained(.sn)
        let file = try SafeTensors.load(from: trainer.checkpointPath)
        let names = Set(file.tensors.keys)
        // Critic at 8×8: nn.Sequential(SN(Conv2d), LeakyReLU, Flatten, SN(Linear)).
        for name in ["critic.layers.0.weight_orig", "critic.layers.0.bias", "critic.layers.0.weight_u", "critic.layers.0.weight_v",
                     "critic.layers.3.weight_orig", "generator.project.weight", "generator.upsample.0.weight", "generator.output.bias",
                     "generator.batch_norms.0.running_mean", "generator.batch_norms.0.running_var", "generator.batch_norms.0.num_batches_tracked",
                     "generator_optimizer.state.0.step", "generator_optimizer.state.0.exp_avg", "critic_optimizer.state.3.exp_avg_sq", "log", "sample_latents"] {
            XCTAssertTrue(names.contains(name), name)
        }
        XCTAssertFalse(names.contains { $0.contains("runningMean") || $0.hasSuffix(".u") || $0.contains(".layer.") }, "no names of the old format")
        XCTAssertEqual(file.dtypes["generator.batch_norms.0.num_batches_tracked"], .i64)
        XCTAssertEqual(file.tensors["generator.batch_norms.0.num_batches_tracked"]?.scalars, [6], "2 iterations × (2 critic steps + 1)")
        XCTAssertEqual(file.tensors["critic_optimizer.state.0.step"]?.shape, [], "PyTorch keeps step as a float32 scalar")
        XCTAssertEqual(file.tensors["critic_optimizer.state.0.step"]?.scalars, [4], "2 iterations × 2 critic steps")
        XCTAssertEqual(file.tensors["log"]?.shape, [2, 8], "iteration, 5 quantities and σ̂ of 2 layers per row")
        // The critic's parameters in PyTorch's order: spectral_norm registers weight_orig after bias.
        XCTAssertEqual(trainer.critic.namedParameters().map(\.name), ["layers.0.bias", "layers.0.weight_orig", "layers.3.bias", "layers.3.weight_orig"])
        let groups = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(XCTUnwrap(file.metadata["critic_optimizer.param_groups"]).utf8)) as? [[String: Any]])
        XCTAssertEqual(groups.first?["param_names"] as? [String], trainer.critic.namedParameters().map(\.name))
        let config = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(XCTUnwrap(file.metadata["config"]).utf8)) as? [String: Any])
        XCTAssertEqual(config["latent_size"] as? Int, 8)
        XCTAssertEqual(config["images"] as? Int, 12)
    }

    /// σ̂ comes from the stored u and v: a critic read from a checkpoint has its σ̂ and its
    /// Lipschitz bound before it runs (the report measured NaN for a PyTorch-trained run).
    func testSigmasAreKnownRightAfterResume() throws {
        let (trainer, _) = try trained(.sn)
        let resumed = try Trainer(config(.sn, "other"), data: faces())
        try resumed.resume(from: trainer.checkpointPath)
        XCTAssertEqual(resumed.critic.sigmas, trainer.critic.sigmas)
        XCTAssertEqual(resumed.critic.sigmas, trainer.log.last?.sigmas, "the logged σ̂ of the last iteration")
        XCTAssertEqual(try resumed.critic.layerSigmas(), try trainer.critic.layerSigmas())
        XCTAssertTrue(try resumed.critic.layerSigmas().allSatisfy(\.isFinite))
    }

    // MARK: Item 5: every field checked

    func testForgedMetadataIsRefusedWithAMessage() throws {
        let (trainer, _) = try trained()
        let original = try SafeTensors.load(from: trainer.checkpointPath)
        // Each edit is written with fresh checksums, as a buggy writer would: the fields themselves are checked.
        let cases: [(String, String, String)] = [
            ("batch_position", "-1", "batch_position is '-1'; it must be a whole number from 0 to 12"),
            ("epoch", "9223372036854775807", "epoch is '9223372036854775807'; it must be a whole number from 0 to"),
            ("iteration", "100", "the log has 2 rows for 100 iterations"),
            ("iteration", "99999999999999999999", "iteration is '99999999999999999999'"),
            ("epoch", "7", "epoch 7, batch 1 do not follow from iteration 2"),
            ("global_rng", "0,0,0,0", "global_rng is '0,0,0,0'"),
            ("epoch_rng", "1,2,3", "epoch_rng is '1,2,3'"),
            ("config", #"{"variant":"sn"}"#, "config: resolution is missing"),
        ]
        for (key, value, message) in cases {
            var metadata = original.metadata
            metadata[key] = value
            try SafeTensors.save(original.tensors, dtypes: original.dtypes, metadata: metadata, to: path("forged.safetensors"))
            let resumed = try Trainer(config(.snAdain, "other"), data: faces())
            XCTAssertThrowsError(try resumed.resume(from: path("forged.safetensors")), "\(key) = \(value)") {
                XCTAssertTrue("\($0)".contains(message), "\(key) = \(value): \($0)")
            }
            XCTAssertEqual(resumed.iteration, 0, "nothing was loaded")
        }
    }

    func testAMissingOrRenamedOptimizerTensorIsRefused() throws {
        let (trainer, _) = try trained()
        let original = try SafeTensors.load(from: trainer.checkpointPath)
        var missing = original.tensors
        missing["critic_optimizer.state.1.exp_avg_sq"] = nil
        var renamed = original.tensors
        renamed["critic_optimizer.state.9.exp_avg"] = renamed.removeValue(forKey: "critic_optimizer.state.1.exp_avg")
        for (tensors, message) in [(missing, "critic_optimizer lacks state.1.exp_avg_sq"), (renamed, "critic_optimizer lacks state.1.exp_avg")] {
            try SafeTensors.save(tensors, dtypes: original.dtypes, metadata: original.metadata, to: path("edited.safetensors"))
            XCTAssertThrowsError(try Trainer(config(.snAdain, "other"), data: faces()).resume(from: path("edited.safetensors"))) {
                XCTAssertTrue("\($0)".contains(message), "\($0)")
            }
        }
    }

    func testAResumeIntoAnotherRunIsRefused() throws {
        let (trainer, _) = try trained()
        var other = config(.snAdain, "other")
        other.learningRate = 2e-4
        XCTAssertThrowsError(try Trainer(other, data: faces()).resume(from: trainer.checkpointPath)) {
            XCTAssertTrue("\($0)".contains("learning_rate: 0.0001 in the checkpoint, 0.0002 here"), "\($0)")
        }
        XCTAssertThrowsError(try Trainer(config(.snAdain, "other"), data: faces()[0..<8]).resume(from: trainer.checkpointPath)) {
            XCTAssertTrue("\($0)".contains("images: 12 in the checkpoint, 8 here"), "\($0)")
        }
    }

    // MARK: Item 7: corruption refused, or provably harmless

    /// Seeded bit flips, truncations and header edits of a real checkpoint. Each must be refused
    /// on resume, or, if accepted, continue exactly as the intact checkpoint does (the same
    /// tensors to the bit after one more iteration): that is what harmless means here.
    func testSeededCorruptionsAreRefusedOrHarmless() throws {
        let (trainer, bytes) = try trained()
        let reference = try Trainer(config(.snAdain, "reference", iterations: 3), data: faces())
        try reference.resume(from: trainer.checkpointPath)
        _ = try reference.step()
        let expected = try state(reference)
        let headerLength = Int(bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        let header = String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self)
        let body = bytes[(8 + headerLength)...]
        var rng = RandomGenerator(seed: 2026)
        func random(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        var corruptions: [(String, Data)] = []
        for _ in 0..<120 {
            var flipped = bytes
            let i = random(bytes.count)
            flipped[i] ^= UInt8(1 << random(8))
            corruptions.append(("bit flip at byte \(i)", flipped))
        }
        for _ in 0..<24 {
            let n = random(bytes.count)
            corruptions.append(("truncated to \(n) bytes", bytes.prefix(n)))
        }
        // Header edits: the JSON rewritten, its length updated, the data as it was.
        func edited(_ what: String, _ transform: (String) -> String) {
            let text = transform(header)
            var file = Data()
            withUnsafeBytes(of: UInt64(text.utf8.count).littleEndian) { file.append(contentsOf: $0) }
            corruptions.append((what, file + Data(text.utf8) + body))
        }
        let names = ["critic_optimizer.state.2.exp_avg", "generator.adains.0.scale.weight", "critic.layers.0.weight_u", "log"]
        for name in names {
            edited("\(name) renamed") { $0.replacingOccurrences(of: "\"\(name)\"", with: "\"\(name)x\"") }
        }
        for (key, value) in [("iteration", "1"), ("epoch", "3"), ("batch_position", "3"), ("engine", "pytorch")] {
            edited("\(key) edited") { $0.replacingOccurrences(of: "\"\(key)\":\"", with: "\"\(key)\":\"\(value)") }
        }
        edited("a digit of global_rng changed") { text in
            guard let r = text.range(of: "\"global_rng\":\"") else { return text }
            let digit = text[r.upperBound]
            return text.replacingCharacters(in: r.upperBound...r.upperBound, with: digit == "1" ? "2" : "1")
        }
        edited("shapes swapped") { $0.replacingOccurrences(of: "\"shape\":[8,3,4,4]", with: "\"shape\":[3,8,4,4]") }
        edited("data offsets shifted by 4") { text in
            var result = text
            for match in text.matches(of: /"data_offsets":\[(\d+),(\d+)\]/).reversed() {
                guard let a = Int(match.1), let b = Int(match.2), a > 0 else { continue }
                result.replaceSubrange(match.range, with: "\"data_offsets\":[\(a - 4),\(b - 4)]")
                break
            }
            return result
        }
        edited("two tensors overlapping") { text in
            guard let match = text.firstMatch(of: /"data_offsets":\[(\d+),(\d+)\]/), let b = Int(match.2), b > 4 else { return text }
            return text.replacingCharacters(in: match.range, with: "\"data_offsets\":[\(Int(match.1) ?? 0),\(b + 4)]")
        }
        edited("a checksum removed") { $0.replacingOccurrences(of: "\"crc32_header\"", with: "\"crc32_headers\"") }
        var refused = 0, harmless = 0
        for (what, data) in corruptions {
            try data.write(to: URL(fileURLWithPath: path("corrupt.safetensors")))
            let resumed = try Trainer(config(.snAdain, "corrupt", iterations: 3), data: faces())
            do { try resumed.resume(from: path("corrupt.safetensors")) } catch {
                refused += 1
                continue
            }
            _ = try resumed.step()
            XCTAssertEqual(try state(resumed), expected, "\(what) was accepted and changed the run")
            harmless += 1
        }
        print("\(corruptions.count) corrupted checkpoints: \(refused) refused, \(harmless) accepted and harmless (bit-identical continuation)")
        XCTAssertGreaterThan(refused, corruptions.count * 9 / 10, "almost every corruption is detected")
    }

    // MARK: Item 8: checkpoint and log.csv agree after a kill

    /// The state a kill -9 between the checkpoint's rename and log.csv's leaves: a new
    /// checkpoint, the previous log, and a killed writer's temporary files. Resuming rewrites
    /// log.csv from the checkpoint and removes the temporaries; the run ends as an unbroken one.
    func testAKillBetweenCheckpointAndLogLosesNoRows() throws {
        let (straight, _) = try trained(.sn, "straight", iterations: 4)
        let straightLog = try String(contentsOfFile: straight.logPath, encoding: .utf8)

        let (first, _) = try trained(.sn, "killed", iterations: 2)
        let oldLog = try Data(contentsOf: URL(fileURLWithPath: first.logPath))
        let second = try Trainer(config(.sn, "killed", iterations: 4), data: faces())
        try second.resume()
        _ = try second.step()
        _ = try second.step()
        try second.checkpoint().write(to: second.checkpointPath)      // killed here: log.csv not yet rewritten
        try oldLog.write(to: URL(fileURLWithPath: first.logPath))
        let dead = try deadProcessID()
        for name in [".checkpoint.safetensors.tmp-\(dead)", ".log.csv.tmp-\(dead)", ".checkpoint.safetensors.tmp-\(getpid())"] {
            try Data(repeating: 7, count: 64).write(to: URL(fileURLWithPath: path("killed/" + name)))
        }

        let resumed = try Trainer(config(.sn, "killed", iterations: 4), data: faces())
        let notes = try resumed.resume()
        XCTAssertEqual(try String(contentsOfFile: resumed.logPath, encoding: .utf8), straightLog, "log.csv rebuilt from the checkpoint")
        XCTAssertEqual(notes.filter { $0.hasPrefix("removed") }.count, 2, "\(notes)")
        let left = try FileManager.default.contentsOfDirectory(atPath: path("killed")).filter { $0.contains(".tmp-") }
        XCTAssertEqual(left, [".checkpoint.safetensors.tmp-\(getpid())"], "a live process's temporary is left alone")
        XCTAssertEqual(resumed.iteration, 4)
        XCTAssertEqual(try state(resumed), try state(straight))
    }

    /// The id of a process that has exited (a child that ran `true`).
    func deadProcessID() throws -> pid_t {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        return child.processIdentifier
    }

    // MARK: Older checkpoints

    /// A checkpoint in the format before this one (camelCase names, the critic numbered without
    /// activations, Adam by parameter name, no checksums, the log only in log.csv) resumes and
    /// continues exactly as the run that wrote it.
    func testAnOlderCheckpointStillResumes() throws {
        let (straight, _) = try trained(.snAdain, "straight", iterations: 3)
        let (first, _) = try trained(.snAdain, "old", iterations: 2)
        let current = try SafeTensors.load(from: first.checkpointPath)
        var old: [String: Tensor] = [:]
        let weighted = first.critic.weightedLayers.count
        func camel(_ name: String) -> String {
            name.split(separator: ".").map { part in
                let words = part.split(separator: "_")
                return (words.first.map(String.init) ?? "") + words.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
            }.joined(separator: ".")
        }
        func oldName(_ name: String) -> String? {
            if name.hasPrefix("generator.") { return name.hasSuffix("num_batches_tracked") ? nil : camel(name) }
            let parts = name.split(separator: ".").map(String.init)
            guard parts.count == 4, let j = Int(parts[2]) else { return name }
            let i = j / 2   // convolutions at 0, 2, …; the linear layer after Flatten at 2·(count − 1) + 1
            let rest = ["weight_orig": "layer.weight", "bias": "layer.bias", "weight_u": "u", "weight_v": "v"][parts[3]] ?? parts[3]
            return "critic.layers.\(i < weighted ? i : weighted - 1).\(rest)"
        }
        for (name, value) in current.tensors where name.hasPrefix("generator.") || name.hasPrefix("critic.") {
            if let renamed = oldName(name) { old[renamed] = value }
        }
        for (prefix, model) in [("generator_optimizer", first.generator as any Module), ("critic_optimizer", first.critic)] {
            for (i, (name, _)) in model.namedParameters().enumerated() {
                let owner = prefix.hasPrefix("generator") ? "generator." : "critic."
                guard let oldParameter = oldName(owner + name)?.dropFirst(owner.count) else { continue }
                old["\(prefix).exp_avg.\(oldParameter)"] = current.tensors["\(prefix).state.\(i).exp_avg"]
                old["\(prefix).exp_avg_sq.\(oldParameter)"] = current.tensors["\(prefix).state.\(i).exp_avg_sq"]
                old["\(prefix).step"] = current.tensors["\(prefix).state.\(i).step"]
            }
        }
        var metadata = ["variant": "sn+adain"]
        for key in ["iteration", "epoch", "batch_position", "global_rng", "epoch_rng"] { metadata[key] = current.metadata[key] }
        try writeSafeTensorsWithoutChecksums(old, metadata: metadata, to: first.checkpointPath)

        let resumed = try Trainer(config(.snAdain, "old", iterations: 3), data: faces())
        let notes = try resumed.resume()
        XCTAssertTrue(notes.contains { $0.contains("older Normlab, without checksums") }, "\(notes)")
        XCTAssertEqual(resumed.log.map(\.iteration), [1, 2], "the log read from log.csv")
        _ = try resumed.run()
        XCTAssertEqual(try state(resumed), try state(straight))
    }

    func testACheckpointWithoutChecksumsIsNotResumed() throws {
        let (trainer, _) = try trained()
        let file = try SafeTensors.load(from: trainer.checkpointPath)
        var metadata = file.metadata
        (metadata["crc32"], metadata["crc32_header"]) = (nil, nil)
        try writeSafeTensorsWithoutChecksums(file.tensors, metadata: metadata, to: path("stripped.safetensors"))
        XCTAssertThrowsError(try Trainer(config(.snAdain, "other"), data: faces()).resume(from: path("stripped.safetensors"))) {
            XCTAssertTrue("\($0)".contains("has no checksums, so it cannot be verified"), "\($0)")
        }
    }
}
