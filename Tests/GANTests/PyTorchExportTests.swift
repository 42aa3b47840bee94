import Foundation
import XCTest
import TestSupport
import Engine
import NN
import Preview
@testable import GAN

/// The exported PyTorch script against Normlab (issue 20): the same modules under the same
/// names, the same outputs, the same critic update, and checkpoints that go both ways.
/// Skipped with a message where python3 with torch (and, for training, Pillow) is absent.
final class PyTorchExportTests: ScratchDirectoryTestCase {
    var python = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        guard let found = findPython(importing: "torch") else {
            throw XCTSkip("python3 with torch is not available (pip install torch numpy); the PyTorch export is not cross-checked")
        }
        python = found
        try PyTorchExport.write(to: directory.path)
    }

    /// Runs Python with the exported module importable; its standard output.
    func runPython(_ code: String, _ arguments: [String] = []) throws -> String {
        try runProgram(python, ["-c", "import sys; sys.path.insert(0, '\(directory.path)')\n" + code] + arguments)
    }

    func faces() throws -> Tensor { try syntheticFaces(count: 16, size: 16, seed: 3).images * 2 - 1 }

    /// A run of `variant` at 16×16 trained `iterations` iterations, its checkpoint written.
    func trained(_ variant: Variant, iterations: Int = 1, data: Tensor? = nil) throws -> Trainer {
        var config = TrainingConfiguration.tiny(variant: variant, output: path(variant.rawValue))
        (config.resolution, config.iterations, config.checkpointEvery) = (16, iterations, iterations)
        let trainer = try Trainer(config, data: data ?? faces())
        _ = try trainer.run()
        try trainer.saveCheckpoint()
        return trainer
    }

    func testTheExportIsThePackagedScript() throws {
        let written = try String(contentsOfFile: path(PyTorchExport.fileName), encoding: .utf8)
        let source = try String(contentsOf: packageRoot.appendingPathComponent("Sources/GAN/Resources/normlab_gan.py"), encoding: .utf8)
        XCTAssertEqual(written, source, "the binary carries the file in the package")
        let names = try runPython("import normlab_gan as m; print(sorted(n for n in ('Generator', 'Critic', 'load_checkpoint', 'train', 'critic_loss') if hasattr(m, n)))")
        XCTAssertEqual(names, "['Critic', 'Generator', 'critic_loss', 'load_checkpoint', 'train']\n")
    }

    /// load_checkpoint builds the modules from the checkpoint's config and loads them with
    /// strict=True, at every resolution and variant; the optimizers' states load into
    /// torch.optim.Adam; and the generator and critic compute what Normlab's do, in training
    /// mode (batch statistics, one power iteration) and in evaluation mode.
    func testPyTorchLoadsStrictlyAndComputesTheSameOutputs() throws {
        var runs: [String] = []
        for variant in Variant.allCases {
            for resolution in [8, 16, 32, 64, 128] {
                let name = "\(variant.rawValue)-\(resolution)"
                var config = TrainingConfiguration.tiny(variant: variant, output: path(name))
                (config.resolution, config.iterations, config.batchSize) = (resolution, 1, 4)
                let images = try syntheticFaces(count: 8, size: resolution, seed: 3).images * 2 - 1
                let trainer = try Trainer(config, data: images)
                _ = try trainer.run()
                var rng = RandomGenerator(seed: 9)
                let z = try Tensor.randn([6, config.latentSize], generator: &rng)
                let x = try Tensor.randn([6, 3, resolution, resolution], generator: &rng)
                // Each training-mode call runs one power iteration; PyTorch makes the same calls in this order.
                let trainingG = try noGrad { try trainer.generator(z) }
                let trainingD = try noGrad { try trainer.critic(x) }
                trainer.generator.eval()
                trainer.critic.eval()
                let evalG = try noGrad { try trainer.generator(z) }, evalD = try noGrad { try trainer.critic(x) }
                try SafeTensors.save(["z": z, "x": x, "train_g": trainingG, "train_d": trainingD, "eval_g": evalG, "eval_d": evalD],
                                     to: path(name + "/io.safetensors"))
                runs.append(name)
            }
        }
        let report = try runPython("""
            import json, torch, normlab_gan as m
            result = {}
            for root in sys.argv[1:]:
                generator, critic, config = m.load_checkpoint(root + '/checkpoint.safetensors')
                tensors, meta = m.read_safetensors(root + '/checkpoint.safetensors')
                for name, model in [('generator_optimizer', generator), ('critic_optimizer', critic)]:
                    torch.optim.Adam(model.named_parameters()).load_state_dict(m.optimizer_state(tensors, meta, name))
                io, _ = m.read_safetensors(root + '/io.safetensors')
                with torch.no_grad():
                    out = {'train_g': generator(io['z']), 'train_d': critic(io['x'])}
                    generator.eval(); critic.eval()
                    out.update(eval_g=generator(io['z']), eval_d=critic(io['x']))
                result[root.split('/')[-1]] = {'latent_size': config['latent_size'], 'iteration': config['iteration'],
                                               **{k: (v - io[k]).abs().max().item() for k, v in out.items()}}
            print(json.dumps(result))
            """, runs.map(path))
        let results = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: [String: Any]])
        XCTAssertEqual(Set(results.keys), Set(runs))
        var worst = (0.0, "")
        for (run, result) in results.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(result["latent_size"] as? Int, 8, run)
            XCTAssertEqual(result["iteration"] as? Int, 1, run)
            for key in ["train_g", "train_d", "eval_g", "eval_d"] {
                let difference = try XCTUnwrap(result[key] as? Double, "\(run) \(key)")
                XCTAssertLessThanOrEqual(difference, 1e-4, "\(run) \(key)")
                if difference > worst.0 { worst = (difference, "\(run) \(key)") }
            }
        }
        print("\(runs.count) variant × resolution pairs loaded strictly; largest |Normlab − PyTorch| of an output \(String(format: "%.1e", worst.0)) (\(worst.1))")
    }

    /// One critic step (loss, penalty through double backprop, spectral norm's three power
    /// iterations, Adam) from the same checkpoint and the same batch, ε and fakes: every critic
    /// tensor and Adam moment agrees with PyTorch's.
    func testOneCriticStepAgreesWithPyTorch() throws {
        for variant in [Variant.plain, .sn] {
            let trainer = try trained(variant)
            var rng = RandomGenerator(seed: 12)
            let real = try trainer.data.gather(Array(0..<4))
            let fake = try Tensor.rand([4, 3, 16, 16], generator: &rng) * 2 - 1
            let eps = try Tensor.rand([4], generator: &rng)
            let parts = try criticLoss(critic: { try trainer.critic($0) }, real: real, fake: fake, lambda: trainer.config.lambda, epsilon: eps)
            trainer.gan.criticOptimizer.zeroGrad()
            try parts.loss.backward()
            try trainer.gan.criticOptimizer.step()
            var after: [String: Tensor] = ["real": real, "fake": fake, "eps": eps, "loss": parts.loss, "wasserstein": parts.wassersteinEstimate, "penalty": parts.penalty]
            for (name, value) in trainer.critic.stateDict() { after["critic." + name] = value }
            for (name, value) in try trainer.gan.criticOptimizer.stateDict().tensors { after["critic_optimizer." + name] = value }
            try SafeTensors.save(after, to: path("step.safetensors"))
            let report = try runPython("""
                import json, torch, normlab_gan as m
                tensors, meta = m.read_safetensors(sys.argv[1] + '/checkpoint.safetensors')
                _, critic, config = m.load_checkpoint(sys.argv[1] + '/checkpoint.safetensors')
                optimizer = torch.optim.Adam(critic.named_parameters())
                optimizer.load_state_dict(m.optimizer_state(tensors, meta, 'critic_optimizer'))
                want, _ = m.read_safetensors(sys.argv[2])
                loss, wasserstein, penalty, _ = m.critic_loss(critic, want['real'], want['fake'], want['eps'], config['lambda'])
                optimizer.zero_grad(); loss.backward(); optimizer.step()
                got = {'loss': loss, 'wasserstein': wasserstein, 'penalty': penalty}
                got.update({'critic.' + k: v for k, v in critic.state_dict().items()})
                for i, entries in optimizer.state_dict()['state'].items():
                    got.update({f'critic_optimizer.state.{i}.{k}': v for k, v in entries.items()})
                assert set(got) == set(want) - {'real', 'fake', 'eps'}, set(got) ^ set(want)
                print(json.dumps({k: ((v.detach().double() - want[k].double()).abs().max() / (1 + want[k].double().abs().max())).item()
                                  for k, v in got.items()}))
                """, [path(variant.rawValue), path("step.safetensors")])
            let differences = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: Double])
            XCTAssertEqual(differences.count, after.count - 3)
            for (name, difference) in differences.sorted(by: { $0.key < $1.key }) {
                XCTAssertLessThanOrEqual(difference, 1e-5, "\(variant.rawValue): \(name)")
            }
            let (name, largest) = try XCTUnwrap(differences.max { $0.value < $1.value })
            print("one critic step, \(variant.rawValue): largest difference to PyTorch \(String(format: "%.1e", largest)) (\(name)), relative to 1 + max |value|")
        }
    }

    /// Normlab trains 2 iterations, the exported script 2 more from that checkpoint on the same
    /// folder of images, and Normlab resumes the script's checkpoint (checksums verified) for 2
    /// more: one log of 6 rows, both engines' checkpoints in one format.
    func testTrainingCrossesFromNormlabToPyTorchAndBack() throws {
        guard (try? runPython("import PIL")) != nil else { throw XCTSkip("Pillow is not installed (pip install pillow); the script cannot decode images") }
        let (images, attributes) = try syntheticFaces(count: 20, size: 16, seed: 4)
        try writeCelebALayout(images: images, attributes: attributes, to: path("faces"))
        let data = try TrainingData.load(path("faces"), count: 16, size: 16).images
        XCTAssertEqual(data.shape[0], 16, "the training split")
        let normlab = try trained(.snAdain, iterations: 2, data: data)
        _ = try runProgram(python, [path(PyTorchExport.fileName), "--resume", normlab.checkpointPath, "--data", path("faces"),
                                    "--iterations", "4", "--out", path("pytorch")])
        var config = normlab.config
        (config.output, config.iterations) = (path("pytorch"), 6)
        let back = try Trainer(config, data: data)
        let notes = try back.resume()
        XCTAssertTrue(notes.contains { $0.contains("written by pytorch") }, "\(notes)")
        XCTAssertEqual(back.iteration, 4)
        XCTAssertEqual(back.log.map(\.iteration), [1, 2, 3, 4])
        XCTAssertEqual(back.log.prefix(2).map(\.wasserstein), normlab.log.map(\.wasserstein), "Normlab's rows kept as they were")
        _ = try back.run()
        XCTAssertEqual(back.log.map(\.iteration), [1, 2, 3, 4, 5, 6])
        let csv = try String(contentsOfFile: path("pytorch/log.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.count, 7)
        XCTAssertEqual(csv[0], "iteration,critic_loss,wasserstein,penalty,gradient_norm,generator_loss,sigmas")
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("pytorch/samples-000004.png")), "the script's sample grid")
        let grid = try loadImage(path("pytorch/samples-000004.png"))
        XCTAssertEqual(grid.shape, [3, 8 * 18 + 2, 8 * 18 + 2], "64 samples, 8 columns, 2 pixels apart")
    }

    /// torchrun with 2 processes (gloo on the CPU, DistributedDataParallel) computes what one
    /// process computes from the same checkpoint: each takes half of every batch, and
    /// BatchNorm's statistics span both halves.
    func testDistributedDataParallelMatchesOneProcess() throws {
        guard (try? runPython("import PIL")) != nil else { throw XCTSkip("Pillow is not installed (pip install pillow); the script cannot decode images") }
        let (images, attributes) = try syntheticFaces(count: 20, size: 16, seed: 5)
        try writeCelebALayout(images: images, attributes: attributes, to: path("faces"))
        let data = try TrainingData.load(path("faces"), count: 16, size: 16).images
        let start = try trained(.plain, iterations: 1, data: data)
        let arguments = ["--resume", start.checkpointPath, "--data", path("faces"), "--iterations", "3"]
        _ = try runProgram(python, [path(PyTorchExport.fileName)] + arguments + ["--out", path("one")])
        try runTorchrun(processes: 2, [path(PyTorchExport.fileName)] + arguments + ["--out", path("two")])
        let one = try SafeTensors.load(from: path("one/checkpoint.safetensors")), two = try SafeTensors.load(from: path("two/checkpoint.safetensors"))
        XCTAssertEqual(Set(one.tensors.keys), Set(two.tensors.keys))
        var largest = (0.0, "")
        for (name, a) in one.tensors {
            // A convolution's bias before a norm layer has a gradient of exactly 0 in exact arithmetic:
            // what it gets is rounding, which Adam scales up to steps of lr either way.
            if name.hasPrefix("generator.upsample.") && name.hasSuffix(".bias") || name.hasSuffix("running_mean") { continue }
            let b = try XCTUnwrap(two.tensors[name])
            let difference = zip(a.scalars, b.scalars).map { Double(Swift.abs($0 - $1)) }.max() ?? 0
            if difference > largest.0 { largest = (difference, name) }
        }
        XCTAssertLessThanOrEqual(largest.0, 1e-5, largest.1)
        print("torchrun --nproc_per_node 2 against one process, 2 iterations: largest difference \(String(format: "%.1e", largest.0)) (\(largest.1))")
    }

    /// `torchrun --standalone` (a rendezvous on a free local port) with gloo on the loopback
    /// interface, not on whatever the host name resolves to. torchrun's own report of a failed
    /// rank names only its exit code or signal, so each rank writes to files of its own and a
    /// failure's message ends with what the ranks wrote (with Python's fault handler on, where a
    /// rank was when a native signal came). A rank killed by a signal inside PyTorch's native code
    /// (a gloo abort seen on a CI machine, never here) is reported and retried once.
    func runTorchrun(processes: Int, _ arguments: [String]) throws {
        let torchrun = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("torchrun").path
        let launcher = FileManager.default.isExecutableFile(atPath: torchrun) ? [torchrun] : [python, "-m", "torch.distributed.run"]
        for attempt in 1...2 {
            let logs = path("torchrun-logs-\(attempt)")
            do {
                _ = try runProgram(launcher[0], Array(launcher.dropFirst()) + ["--standalone", "--nproc_per_node", String(processes),
                                                                                "--log-dir", logs, "--redirects", "3"] + arguments,
                                   environment: ["GLOO_SOCKET_IFNAME": "lo", "PYTHONFAULTHANDLER": "1"])
                return
            } catch {
                let report = "torchrun failed (attempt \(attempt) of 2): \(error)\nWhat the ranks wrote:\n\(rankErrors(under: logs))"
                guard attempt == 1, "\(error)".contains("Signal") else { throw TestDataError(report) }
                print(report)
            }
        }
    }

    /// The last lines each rank wrote to standard error, found under torchrun's --log-dir.
    func rankErrors(under logs: String) -> String {
        let files = (FileManager.default.enumerator(atPath: logs)?.compactMap { $0 as? String } ?? []).filter { $0.hasSuffix("stderr.log") }.sorted()
        guard !files.isEmpty else { return "(no rank wrote a log under \(logs))" }
        return files.map { file in
            let lines = ((try? String(contentsOfFile: logs + "/" + file, encoding: .utf8)) ?? "").split(separator: "\n", omittingEmptySubsequences: false)
            return "\(file), its last lines:\n" + lines.suffix(30).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// A run of the experiment continued by the script in its own folder: `--report` measures
    /// the new checkpoint at its epoch (training time unknown) and adds it to the table.
    func testTheReportMeasuresARunTheScriptContinued() throws {
        guard (try? runPython("import PIL")) != nil else { throw XCTSkip("Pillow is not installed (pip install pillow); the script cannot decode images") }
        let (images, attributes) = try syntheticFaces(count: 80, size: 8, seed: 6)
        try writeCelebALayout(images: images, attributes: attributes, to: path("faces"))
        let data = try TrainingData.load(path("faces"), count: 64, size: 8).images
        var config = ExperimentConfiguration.tiny(output: path("study"))
        (config.variants, config.epochs) = ([.sn], [1])
        let evaluator = try Evaluator(real: data, samples: config.evaluationSamples, bins: config.bins)
        let first = try Experiment(config, data: data, evaluator: evaluator)
        XCTAssertEqual(try first.run(), .finished)
        let perEpoch = first.iterationsPerEpoch
        _ = try runProgram(python, [path(PyTorchExport.fileName), "--resume", path("study/sn-seed0/checkpoint.safetensors"), "--data", path("faces"),
                                    "--iterations", String(2 * perEpoch), "--out", path("study/sn-seed0")])
        config.epochs = [1, 2]
        let report = try Experiment(config, data: data, evaluator: evaluator)
        XCTAssertEqual(try report.run(train: false), .finished)
        XCTAssertEqual(report.records.map(\.epoch), [1, 2])
        XCTAssertEqual(report.records.map(\.iteration), [perEpoch, 2 * perEpoch])
        XCTAssertTrue(report.records[1].seconds.isNaN, "trained elsewhere: its time is not known")
        XCTAssertEqual(report.logs["sn-seed0"]?.count, 2 * perEpoch, "the log runs on through the script's iterations")
        let table = try String(contentsOfFile: path("study/metrics.md"), encoding: .utf8)
        XCTAssertTrue(table.contains("| sn | 2 | \(2 * perEpoch) | 1 |"), table)
        let row = try XCTUnwrap(table.split(separator: "\n").first { $0.hasPrefix("| sn | 2 |") })
        XCTAssertTrue(row.hasSuffix("| – |"), "no training minutes for the script's part: \(row)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("study/sn-seed0/figure-epoch2.png")))
        // Read again, the record is kept, not measured twice.
        let again = try Experiment(config, data: data, evaluator: evaluator)
        _ = try again.run(train: false)
        XCTAssertEqual(again.records.map(\.iteration), [perEpoch, 2 * perEpoch])
    }
}
