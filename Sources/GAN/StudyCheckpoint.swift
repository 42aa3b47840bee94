import Engine
import Foundation
import NN

/// The checkpoint of a training run, one format for Normlab's `Trainer` and for the PyTorch
/// script that `normlab export pytorch` writes (`normlab_gan.py` reads and writes it too).
///
/// Tensors, each with its CRC-32 (see `SafeTensors`):
/// - `generator.<name>`, `critic.<name>`: the models' state dicts under the names of the exported
///   PyTorch modules, so `load_state_dict(strict=True)` takes them;
/// - `generator_optimizer.state.<i>.{step, exp_avg, exp_avg_sq}` and `critic_optimizer.…`: Adam
///   as torch.optim's `state_dict()` holds it (parameter i in `parameters()` order);
/// - `log` `[rows, 6 + SN layers]`: iteration, critic loss, Wasserstein estimate, penalty, mean
///   gradient norm, generator loss, σ̂ per layer; log.csv is written from it, so the two agree;
/// - `sample_latents` `[64, latent]`: the fixed codes of the sample grids.
///
/// Metadata: `normlab_checkpoint` ("2"), `engine` ("normlab" or "pytorch"), `config` (JSON: the
/// run's settings and its number of training images), `iteration`, `epoch`, `batch_position`,
/// `generator_optimizer.param_groups` and `critic_optimizer.param_groups` (JSON), and, from
/// Normlab, its random streams `global_rng` and `epoch_rng` (a PyTorch run draws from streams
/// of its own, derived from the seed and the iteration).
public struct StudyCheckpoint {
    public var config: TrainingConfiguration
    /// How many training images the run reads (an epoch is images / batch critic steps).
    public var images: Int
    public var engine: String
    public var iteration: Int
    public var epoch: Int
    public var batchPosition: Int
    /// Normlab's global and shuffling streams; nil when another engine wrote the file.
    public var randomStreams: (global: RandomGenerator, epoch: RandomGenerator)?
    public var generator: [String: Tensor]
    public var critic: [String: Tensor]
    public var generatorOptimizer: OptimizerState
    public var criticOptimizer: OptimizerState
    public var log: [IterationLog]
    public var sampleLatents: Tensor
    /// Whether the file carried checksums (then all verified).
    public var verified = true
    /// Written by Normlab before checkpoints had this format (read through `legacy`).
    public var legacy = false

    static let format = "2"

    // MARK: Writing

    public func write(to path: String) throws {
        var tensors: [String: Tensor] = [:]
        var dtypes: [String: DType] = [:]
        for (prefix, state) in [("generator.", generator), ("critic.", critic)] {
            for (name, value) in state {
                tensors[prefix + name] = value
                if name.hasSuffix("num_batches_tracked") { dtypes[prefix + name] = .i64 }
            }
        }
        for (prefix, state) in [("generator_optimizer.", generatorOptimizer), ("critic_optimizer.", criticOptimizer)] {
            for (name, value) in state.tensors { tensors[prefix + name] = value }
        }
        tensors["log"] = try logTensor()
        tensors["sample_latents"] = sampleLatents
        var metadata = [
            "format": "pt", "normlab_checkpoint": Self.format, "engine": engine, "config": try config.json(images: images),
            "iteration": String(iteration), "epoch": String(epoch), "batch_position": String(batchPosition),
            "generator_optimizer.param_groups": try generatorOptimizer.paramGroupsJSON(),
            "critic_optimizer.param_groups": try criticOptimizer.paramGroupsJSON(),
        ]
        if let streams = randomStreams {
            func text(_ g: RandomGenerator) -> String { "\(g.state.0),\(g.state.1),\(g.state.2),\(g.state.3)" }
            (metadata["global_rng"], metadata["epoch_rng"]) = (text(streams.global), text(streams.epoch))
        }
        try SafeTensors.save(tensors, dtypes: dtypes, metadata: metadata, to: path)
    }

    func logTensor() throws -> Tensor {
        let columns = 6 + (log.first?.sigmas.count ?? 0)
        return try Tensor(shape: [log.count, columns], elements: log.flatMap { e in
            [Float(e.iteration), e.criticLoss, e.wasserstein, e.penalty, e.gradientNorm, e.generatorLoss] + e.sigmas
        })
    }

    /// log.csv's text: a header, then one row per logged iteration.
    public static func csv(_ log: [IterationLog], spectralNorm: Bool) -> String {
        let header = "iteration,critic_loss,wasserstein,penalty,gradient_norm,generator_loss" + (spectralNorm ? ",sigmas" : "")
        let rows = log.map { e in
            "\(e.iteration),\(e.criticLoss),\(e.wasserstein),\(e.penalty),\(e.gradientNorm),\(e.generatorLoss)"
                + (e.sigmas.isEmpty ? "" : "," + e.sigmas.map { String($0) }.joined(separator: " "))
        }
        return ([header] + rows).joined(separator: "\n") + "\n"
    }

    // MARK: Reading

    /// Reads and checks a checkpoint: its checksums, then every field (types, ranges, and that
    /// they agree with each other: the log, the optimizers' step counts, the epoch and the
    /// batch position all follow from the iteration). `legacyConfiguration` describes the run of
    /// a file written before this format, which did not record its settings.
    public static func read(_ path: String, legacyConfiguration: TrainingConfiguration? = nil, images legacyImages: Int? = nil) throws -> StudyCheckpoint {
        let file = try SafeTensors.load(from: path)
        func bad(_ why: String) -> CheckpointError { .corrupt(path: path, reason: why) }
        guard file.metadata["normlab_checkpoint"] != nil else {
            guard file.metadata["variant"] != nil, !file.verified else {
                throw bad("it is not a checkpoint of a training run (no normlab_checkpoint in its metadata)")
            }
            guard let config = legacyConfiguration, let images = legacyImages else {
                throw bad("it was written by an older Normlab, which did not record the run's settings; resume it with the flags it was trained with")
            }
            return try legacy(file, path: path, config: config, images: images)
        }
        guard file.metadata["normlab_checkpoint"] == format else {
            throw CheckpointError.unsupported(path: path, reason: "checkpoint format \(file.metadata["normlab_checkpoint"] ?? "?"); this Normlab reads format \(format)")
        }
        let m = file.metadata
        guard let configText = m["config"] else { throw bad("its metadata has no config") }
        let (config, images) = try TrainingConfiguration.parse(json: configText, path: path)
        guard let engine = m["engine"], ["normlab", "pytorch"].contains(engine) else { throw bad("engine is \(m["engine"] ?? "missing"), not normlab or pytorch") }
        func count(_ key: String, max: Int) throws -> Int {
            guard let text = m[key], let n = Int(text), n >= 0, n <= max else {
                throw bad("\(key) is \(m[key].map { "'\($0)'" } ?? "missing"); it must be a whole number from 0 to \(max)")
            }
            return n
        }
        // 2²⁴: the log's iteration column and Adam's float32 step count are exact up to here.
        let iteration = try count("iteration", max: 1 << 24)
        let epoch = try count("epoch", max: 1 << 48), position = try count("batch_position", max: images)
        var randomStreams: (RandomGenerator, RandomGenerator)?
        if m["global_rng"] != nil || engine == "normlab" {
            randomStreams = (try stream(m["global_rng"], "global_rng", path), try stream(m["epoch_rng"], "epoch_rng", path))
        }
        func part(_ prefix: String) -> [String: Tensor] {
            Dictionary(uniqueKeysWithValues: file.tensors.filter { $0.key.hasPrefix(prefix) }.map { (String($0.key.dropFirst(prefix.count)), $0.value) })
        }
        var checkpoint = StudyCheckpoint(
            config: config, images: images, engine: engine, iteration: iteration, epoch: epoch, batchPosition: position, randomStreams: randomStreams,
            generator: part("generator."), critic: part("critic."),
            generatorOptimizer: try OptimizerState(tensors: part("generator_optimizer."), paramGroupsJSON: m["generator_optimizer.param_groups"] ?? ""),
            criticOptimizer: try OptimizerState(tensors: part("critic_optimizer."), paramGroupsJSON: m["critic_optimizer.param_groups"] ?? ""),
            log: [], sampleLatents: try file.tensors["sample_latents"] ?? { throw bad("it has no sample_latents") }(), verified: file.verified)
        guard let log = file.tensors["log"] else { throw bad("it has no log") }
        checkpoint.log = try parseLog(log, path: path)
        let known = Set(["log", "sample_latents"])
        let stray = file.tensors.keys.filter { name in !known.contains(name) && !["generator.", "critic.", "generator_optimizer.", "critic_optimizer."].contains { name.hasPrefix($0) } }
        guard stray.isEmpty else { throw bad("tensors that belong to no part of the run: " + stray.sorted().joined(separator: ", ")) }
        try checkpoint.checkConsistency(path: path)
        return checkpoint
    }

    /// The settings and image count recorded in a checkpoint, to resume it without repeating
    /// them; nil for a file of an older Normlab, which did not record them.
    public static func settings(at path: String) throws -> (config: TrainingConfiguration, images: Int)? {
        let file = try SafeTensors.load(from: path)
        guard file.metadata["normlab_checkpoint"] != nil else { return nil }
        return try TrainingConfiguration.parse(json: file.metadata["config"] ?? "", path: path)
    }

    static func stream(_ text: String?, _ key: String, _ path: String) throws -> RandomGenerator {
        let parts = (text ?? "").split(separator: ",", omittingEmptySubsequences: false).map { UInt64($0) }
        guard parts.count == 4, let a = parts[0], let b = parts[1], let c = parts[2], let d = parts[3], a | b | c | d != 0 else {
            throw CheckpointError.corrupt(path: path, reason: "\(key) is \(text.map { "'\($0)'" } ?? "missing"); it must be four 64-bit numbers, not all 0")
        }
        return RandomGenerator(state: (a, b, c, d))
    }

    static func parseLog(_ log: Tensor, path: String) throws -> [IterationLog] {
        guard log.rank == 2, log.shape[1] >= 6 else {
            throw CheckpointError.corrupt(path: path, reason: "the log has shape \(log.shape); it needs [rows, 6 + layers]")
        }
        let (rows, columns) = (log.shape[0], log.shape[1])
        let values = log.scalars
        var entries: [IterationLog] = []
        for r in 0..<rows {
            let row = Array(values[(r * columns)..<((r + 1) * columns)])
            let previous = entries.last?.iteration ?? 0
            guard row.allSatisfy(\.isFinite), row[0] == row[0].rounded(), row[0] > Float(previous), row[0] <= 16_777_216 else {
                throw CheckpointError.corrupt(path: path, reason: "row \(r + 1) of the log is damaged: iterations must rise and every value be finite")
            }
            entries.append(IterationLog(iteration: Int(row[0]), criticLoss: row[1], wasserstein: row[2], penalty: row[3], gradientNorm: row[4],
                                        generatorLoss: row[5], sigmas: Array(row[6...])))
        }
        return entries
    }

    /// What must hold between the fields of a checkpoint that training wrote. An edited or
    /// mismatched field is caught here even in a file without checksums.
    func checkConsistency(path: String) throws {
        var problems: [String] = []
        let perEpoch = images / config.batchSize
        let (consumed, overflow) = iteration.multipliedReportingOverflow(by: config.nCritic)
        if perEpoch < 1 { problems.append("\(images) images cannot fill a batch of \(config.batchSize)") }
        if overflow { problems.append("iteration \(iteration) × n_critic \(config.nCritic) overflows") }
        if perEpoch >= 1 && !overflow {
            // After c critic batches: epoch ⌈c / per epoch⌉, at position c − (epoch − 1) · per epoch.
            let expectedEpoch = (consumed + perEpoch - 1) / perEpoch
            let expectedPosition = consumed - max(0, expectedEpoch - 1) * perEpoch
            if epoch != expectedEpoch || batchPosition != expectedPosition {
                problems.append("epoch \(epoch), batch \(batchPosition) do not follow from iteration \(iteration) (\(consumed) critic batches of \(perEpoch) per epoch: epoch \(expectedEpoch), batch \(expectedPosition))")
            }
        }
        if let last = log.last?.iteration, last > iteration { problems.append("the log reaches iteration \(last), past the checkpoint's \(iteration)") }
        if !legacy, log.count != iteration { problems.append("the log has \(log.count) rows for \(iteration) iterations") }
        let layers = config.variant.spectralNorm ? (log.first?.sigmas.count ?? 0) : 0
        if log.contains(where: { $0.sigmas.count != layers }) || (!config.variant.spectralNorm && log.contains { !$0.sigmas.isEmpty }) {
            problems.append("the log's σ̂ columns do not fit a \(config.variant.rawValue) critic")
        }
        if sampleLatents.shape != [64, config.latentSize] { problems.append("sample_latents has shape \(sampleLatents.shape), expected [64, \(config.latentSize)]") }
        // Every parameter gets a gradient in every step of its network: after the first iteration
        // each has Adam's whole state, with as many steps as its network took.
        for (name, optimizer, steps) in [("generator_optimizer", generatorOptimizer, iteration), ("critic_optimizer", criticOptimizer, consumed)] {
            let parameters = (optimizer.paramGroups.first?["params"] as? [Any])?.count ?? 0
            let expected = iteration == 0 ? [] : (0..<parameters).flatMap { i in ["step", "exp_avg", "exp_avg_sq"].map { "state.\(i).\($0)" } }
            let missing = expected.filter { optimizer.tensors[$0] == nil }
            if !missing.isEmpty { problems.append("\(name) lacks " + missing.prefix(6).joined(separator: ", ") + (missing.count > 6 ? " and \(missing.count - 6) more" : "")) }
            if iteration == 0 && !optimizer.tensors.isEmpty { problems.append("\(name) has state before the first iteration") }
            for (key, value) in optimizer.tensors.sorted(by: { $0.key < $1.key }) where key.hasSuffix(".step") && value.scalars != [Float(steps)] {
                problems.append("\(name).\(key) is \(value.scalars.first ?? .nan), expected \(steps) steps at iteration \(iteration)")
                break
            }
        }
        let tracked = Float(iteration * (config.nCritic + 1))
        for (name, value) in generator where name.hasSuffix("num_batches_tracked") && value.scalars != [tracked] {
            problems.append("generator.\(name) is \(value.scalars.first ?? .nan), expected \(Int(tracked)) (n_critic + 1 training-mode calls per iteration)")
        }
        guard problems.isEmpty else { throw CheckpointError.corrupt(path: path, reason: problems.joined(separator: "; ")) }
    }

    /// A checkpoint of the format before this one: camelCase names (`batchNorms.0.runningMean`),
    /// the critic numbered without its activations and spectral norm as `layer.weight`, `u`,
    /// `v`; Adam by parameter name with one float step; the log only in log.csv.
    static func legacy(_ file: SafeTensors.File, path: String, config: TrainingConfiguration, images: Int) throws -> StudyCheckpoint {
        let m = file.metadata
        func bad(_ why: String) -> CheckpointError { .corrupt(path: path, reason: why) }
        guard m["variant"] == config.variant.rawValue else {
            throw TrainingError.badCheckpoint("the checkpoint is of variant \(m["variant"] ?? "?"), this run is \(config.variant.rawValue)")
        }
        guard let iteration = m["iteration"].flatMap(Int.init), (0...(1 << 24)).contains(iteration),
              let epoch = m["epoch"].flatMap(Int.init), epoch >= 0, let position = m["batch_position"].flatMap(Int.init), (0...images).contains(position) else {
            throw bad("iteration, epoch or batch_position is missing or out of range")
        }
        let generator = try Generator(norm: config.variant.generatorNorm, resolution: config.resolution, latentSize: config.latentSize, width: config.generatorWidth)
        let critic = try Critic(spectralNorm: config.variant.spectralNorm, resolution: config.resolution, width: config.criticWidth)
        let weighted = critic.weightedLayers.count
        func renamed(_ old: String) -> String? {
            let parts = old.split(separator: ".").map(String.init)
            if parts.first == "generator" { return parts.map(snakeCase).joined(separator: ".") }
            guard parts.count >= 4, parts[0] == "critic", parts[1] == "layers", let i = Int(parts[2]), (0..<weighted).contains(i) else { return nil }
            let index = i < weighted - 1 ? 2 * i : 2 * i + 1   // activations between, Flatten before the last
            let rest: String
            switch parts[3...].joined(separator: ".") {
            case "layer.weight": rest = "weight_orig"
            case "layer.bias": rest = "bias"
            case "u": rest = "weight_u"
            case "v": rest = "weight_v"
            case let other: rest = other
            }
            return "critic.layers.\(index).\(rest)"
        }
        var tensors: [String: Tensor] = [:]
        for (name, value) in file.tensors where name.hasPrefix("generator.") || name.hasPrefix("critic.") {
            guard let new = renamed(name) else { throw bad("'\(name)' is not a tensor of the study's models") }
            tensors[new] = value
        }
        for (name, _) in generator.namedBuffers() where name.hasSuffix("num_batches_tracked") {
            tensors["generator." + name] = Tensor(Float(iteration * (config.nCritic + 1)))
        }
        func optimizer(_ prefix: String, _ model: String, _ names: [String]) throws -> OptimizerState {
            guard let step = file.tensors["\(prefix).step"] else { throw bad("it has no \(prefix).step") }
            var state: [String: Tensor] = [:]
            for (key, value) in file.tensors {
                for (old, new) in [("exp_avg", "exp_avg"), ("exp_avg_sq", "exp_avg_sq")] where key.hasPrefix("\(prefix).\(old).") {
                    let parameter = renamed("\(model)." + key.dropFirst(prefix.count + old.count + 2)).map { String($0.dropFirst(model.count + 1)) }
                    guard let i = parameter.flatMap(names.firstIndex) else { throw bad("'\(key)' names no parameter of the \(model)") }
                    (state["state.\(i).step"], state["state.\(i).\(new)"]) = (step, value)
                }
            }
            let group: [String: Any] = ["lr": shortestDecimal(config.learningRate), "betas": [config.beta1, config.beta2], "eps": 1e-8,
                                        "params": Array(names.indices), "param_names": names]
            return OptimizerState(tensors: state, paramGroups: [group])
        }
        var fixed = RandomGenerator(seed: config.seed &+ 1)
        let checkpoint = StudyCheckpoint(
            config: config, images: images, engine: "normlab", iteration: iteration, epoch: epoch, batchPosition: position,
            randomStreams: (try stream(m["global_rng"], "global_rng", path), try stream(m["epoch_rng"], "epoch_rng", path)),
            generator: Dictionary(uniqueKeysWithValues: tensors.filter { $0.key.hasPrefix("generator.") }.map { (String($0.key.dropFirst(10)), $0.value) }),
            critic: Dictionary(uniqueKeysWithValues: tensors.filter { $0.key.hasPrefix("critic.") }.map { (String($0.key.dropFirst(7)), $0.value) }),
            generatorOptimizer: try optimizer("generator_optimizer", "generator", generator.namedParameters().map(\.name)),
            criticOptimizer: try optimizer("critic_optimizer", "critic", critic.namedParameters().map(\.name)),
            log: readLegacyLog((path as NSString).deletingLastPathComponent + "/log.csv", through: iteration),
            sampleLatents: try Tensor.randn([64, config.latentSize], generator: &fixed), verified: false, legacy: true)
        try checkpoint.checkConsistency(path: path)
        return checkpoint
    }

    /// The rows of an older run's log.csv up to `iteration` (older checkpoints did not hold the log).
    static func readLegacyLog(_ path: String, through iteration: Int) -> [IterationLog] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        var log: [IterationLog] = []
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",").map(String.init)
            guard f.count >= 6, let i = Int(f[0]), i > (log.last?.iteration ?? 0), i <= iteration else { continue }
            let values = f[1...5].compactMap(Float.init)
            guard values.count == 5 else { continue }
            log.append(IterationLog(iteration: i, criticLoss: values[0], wasserstein: values[1], penalty: values[2], gradientNorm: values[3],
                                    generatorLoss: values[4], sigmas: f.count > 6 ? f[6].split(separator: " ").compactMap { Float($0) } : []))
        }
        return log
    }
}

// MARK: - The configuration as JSON

extension TrainingConfiguration {
    /// The settings that define the run (and so must agree on resume), with `images`, as the
    /// JSON object of the checkpoint's `config` (`config["latent_size"]` in Python).
    func json(images: Int) throws -> String {
        let object: [String: Any] = [
            "variant": variant.rawValue, "resolution": resolution, "batch_size": batchSize, "iterations": iterations, "n_critic": nCritic,
            "lambda": shortestDecimal(lambda), "learning_rate": shortestDecimal(learningRate), "beta1": beta1, "beta2": beta2, "seed": seed,
            "sample_every": sampleEvery, "checkpoint_every": checkpointEvery, "latent_size": latentSize, "generator_width": generatorWidth,
            "critic_width": criticWidth, "images": images,
        ]
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// Parses `json(images:)`, checking every field's type and range.
    static func parse(json text: String, path: String) throws -> (TrainingConfiguration, images: Int) {
        func bad(_ why: String) -> CheckpointError { .corrupt(path: path, reason: "config: \(why)") }
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { throw bad("not a JSON object") }
        func whole(_ key: String, _ range: ClosedRange<Int>) throws -> Int {
            guard let n = wholeNumber(object[key]), range.contains(n) else {
                throw bad("\(key) is \(object[key].map { "\($0)" } ?? "missing"); it must be a whole number in \(range.lowerBound)…\(range.upperBound)")
            }
            return n
        }
        func real(_ key: String, _ valid: (Double) -> Bool, _ rule: String) throws -> Double {
            guard let x = jsonNumber(object[key])?.doubleValue, x.isFinite, valid(x) else {
                throw bad("\(key) is \(object[key].map { "\($0)" } ?? "missing"); it must be \(rule)")
            }
            return x
        }
        var c = TrainingConfiguration()
        guard let name = object["variant"] as? String, let variant = Variant(rawValue: name) else {
            throw bad("variant is \(object["variant"].map { "\($0)" } ?? "missing"); it must be plain, sn, adain or sn+adain")
        }
        c.variant = variant
        c.resolution = try whole("resolution", 8...128)
        guard [8, 16, 32, 64, 128].contains(c.resolution) else { throw bad("resolution is \(c.resolution); it must be 8, 16, 32, 64 or 128") }
        c.batchSize = try whole("batch_size", 1...65536)
        c.iterations = try whole("iterations", 0...(1 << 24))
        c.nCritic = try whole("n_critic", 1...1000)
        c.lambda = Float(try real("lambda", { $0 >= 0 }, "a number ≥ 0"))
        c.learningRate = Float(try real("learning_rate", { $0 > 0 }, "a number > 0"))
        c.beta1 = try real("beta1", { (0..<1).contains($0) }, "in [0, 1)")
        c.beta2 = try real("beta2", { (0..<1).contains($0) }, "in [0, 1)")
        guard let seed = jsonNumber(object["seed"]).flatMap({ $0 as? UInt64 }) else {
            throw bad("seed is \(object["seed"].map { "\($0)" } ?? "missing"); it must be a whole number in 0…2⁶⁴−1")
        }
        c.seed = seed
        c.sampleEvery = try whole("sample_every", 1...Int(Int32.max))
        c.checkpointEvery = try whole("checkpoint_every", 1...Int(Int32.max))
        c.latentSize = try whole("latent_size", 1...65536)
        c.generatorWidth = try whole("generator_width", 1...65536)
        c.criticWidth = try whole("critic_width", 1...65536)
        return (c, try whole("images", 1...Int(Int32.max)))
    }

    /// The settings a resumed run must share with its checkpoint (all but the length of the
    /// run, how often it writes, and where).
    public func differences(from other: TrainingConfiguration) -> [String] {
        var found: [String] = []
        func compare<T: Equatable>(_ name: String, _ a: T, _ b: T) { if a != b { found.append("\(name): \(b) in the checkpoint, \(a) here") } }
        compare("variant", variant.rawValue, other.variant.rawValue)
        compare("resolution", resolution, other.resolution)
        compare("batch_size", batchSize, other.batchSize)
        compare("n_critic", nCritic, other.nCritic)
        compare("lambda", lambda, other.lambda)
        compare("learning_rate", learningRate, other.learningRate)
        compare("betas", [beta1, beta2], [other.beta1, other.beta2])
        compare("seed", seed, other.seed)
        compare("latent_size", latentSize, other.latentSize)
        compare("generator_width", generatorWidth, other.generatorWidth)
        compare("critic_width", criticWidth, other.criticWidth)
        return found
    }
}
