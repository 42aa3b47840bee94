import Engine
import Foundation
import Preview

/// The study's comparison: every variant trained with the same data, seeds and settings, and
/// measured at chosen epochs.
public struct ExperimentConfiguration: Sendable {
    /// Shared settings; each run sets its own variant, seed, output and length.
    public var training = TrainingConfiguration()
    public var variants = Variant.allCases
    public var seeds: [UInt64] = [0]
    /// The epochs at which each run is measured and shown in Figure 1; runs stop at the last.
    /// An epoch is one pass of the critic over the data: N / (batch · n_critic) iterations.
    public var epochs = [1, 2, 4, 8]
    public var evaluationSamples = 1024
    public var bins = 50
    public var output = "experiment"
    public init() {}

    /// The same code at toy size, for tests.
    public static func tiny(output: String) -> ExperimentConfiguration {
        var c = ExperimentConfiguration()
        c.training = .tiny(variant: .plain, output: output)
        (c.epochs, c.evaluationSamples, c.bins, c.output) = ([1, 2], 32, 4, output)
        return c
    }
}

/// One measurement: a run at an epoch.
public struct ExperimentRecord: Sendable {
    public var variant: Variant
    public var seed: UInt64
    public var epoch: Int
    public var iteration: Int
    /// Training time of the run so far, in seconds (measurements excluded); NaN when the
    /// checkpoint was trained elsewhere (by the exported PyTorch script).
    public var seconds: Double
    public var evaluation: Evaluation
    /// σ of each critic layer as used (W or W/σ̂); the product bounds its Lipschitz constant.
    public var layerSigmas: [Double]
    public var lipschitzBound: Double { layerSigmas.reduce(1, *) }
}

/// Runs the comparison and writes its results: per run a directory `<variant>-seed<k>/` (sample
/// grids, checkpoint, log.csv, metrics.csv), and for the whole `figure1.png`, `wasserstein.png`,
/// `sigmas.png`, `lipschitz.png`, `swd.png`, `metrics.csv` and `metrics.md`.
public final class Experiment {
    public let config: ExperimentConfiguration
    public let data: Tensor
    public let evaluator: Evaluator
    public private(set) var records: [ExperimentRecord] = []
    /// The training log of each run, by directory name.
    public private(set) var logs: [String: [IterationLog]] = [:]
    /// Figure 1's cells: the fixed latent codes' images, by run and epoch.
    var cells: [String: [Int: Tensor]] = [:]

    public init(_ config: ExperimentConfiguration, data: Tensor, evaluator: Evaluator) throws {
        guard !config.epochs.isEmpty, config.epochs.allSatisfy({ $0 >= 1 }), !config.variants.isEmpty, !config.seeds.isEmpty else {
            throw EngineError.invalidArgument(op: "Experiment", message: "needs at least one variant, one seed and epochs ≥ 1")
        }
        (self.config, self.data, self.evaluator) = (config, data, evaluator)
    }

    public var iterationsPerEpoch: Int {
        max(1, data.shape[0] / config.training.batchSize / config.training.nCritic)
    }

    public func runName(_ variant: Variant, _ seed: UInt64) -> String { "\(variant.rawValue)-seed\(seed)" }

    /// Trains and measures every run in turn. With `resume`, a run continues from its
    /// checkpoint and keeps the measurements already written; with `train` false, the runs
    /// already on disk are only read back (those missing are left out) and the report written.
    /// Stops cleanly (checkpoint written) when `interrupted()` turns true.
    public func run(resume: Bool = false, train: Bool = true, interrupted: () -> Bool = { false }, starting: (String, Trainer) -> Void = { _, _ in },
                    progress: (String, Trainer, IterationLog) -> Void = { _, _, _ in },
                    measured: (ExperimentRecord) -> Void = { _ in }) throws -> Trainer.Outcome {
        let perEpoch = iterationsPerEpoch
        let epochs = Set(config.epochs)
        for seed in config.seeds {
            for variant in config.variants {
                let name = runName(variant, seed)
                var training = config.training
                (training.variant, training.seed, training.output) = (variant, seed, config.output + "/" + name)
                (training.iterations, training.sampleEvery, training.checkpointEvery) = (config.epochs.max()! * perEpoch, perEpoch, perEpoch)
                let trainer = try Trainer(training, data: data)
                var runRecords: [ExperimentRecord] = []
                var seconds = 0.0
                let onDisk = FileManager.default.fileExists(atPath: trainer.checkpointPath)
                if !train && !onDisk { continue }
                if (resume || !train) && onDisk {
                    try trainer.resume()
                    runRecords = try readRecords(training.output + "/metrics.csv").filter { $0.iteration <= trainer.iteration }
                    seconds = runRecords.last?.seconds ?? 0
                    for record in runRecords { cells[name, default: [:]][record.epoch] = try loadCell(name, record.epoch) }
                }
                if !train {
                    // A checkpoint trained on elsewhere (the exported PyTorch script continues runs
                    // in place) is measured here when it reached an epoch that has no record yet.
                    let epoch = trainer.iteration / perEpoch
                    if trainer.iteration % perEpoch == 0, epochs.contains(epoch), !runRecords.contains(where: { $0.iteration == trainer.iteration }) {
                        let record = try measure(trainer, name: name, seed: seed, epoch: epoch, seconds: .nan)
                        runRecords.append(record)
                        try writeRecords(runRecords, to: training.output + "/metrics.csv")
                        measured(record)
                    } else if runRecords.last?.iteration != trainer.iteration {
                        FileHandle.standardError.write(Data(("note: \(name)'s checkpoint is at iteration \(trainer.iteration), epoch "
                            + String(format: "%.2f", Double(trainer.iteration) / Double(perEpoch)) + "; only the epochs of --epochs are measured\n").utf8))
                    }
                    (records, logs[name]) = (records + runRecords, trainer.log)
                    continue
                }
                starting(name, trainer)
                var clock = Date()
                let outcome = try trainer.run(interrupted: interrupted) { t, entry in
                    progress(name, t, entry)
                    guard t.iteration % perEpoch == 0, epochs.contains(t.iteration / perEpoch) else { return }
                    seconds += Date().timeIntervalSince(clock)
                    do {
                        let record = try measure(t, name: name, seed: seed, epoch: t.iteration / perEpoch, seconds: seconds)
                        runRecords.append(record)
                        try writeRecords(runRecords, to: training.output + "/metrics.csv")
                        measured(record)
                    } catch {
                        // A failed measurement must not end a long run; it is reported and skipped.
                        FileHandle.standardError.write(Data("warning: measuring \(name) at iteration \(t.iteration) failed: \(error)\n".utf8))
                    }
                    clock = Date()
                }
                records += runRecords
                logs[name] = trainer.log
                if outcome == .interrupted { return .interrupted }
            }
        }
        try writeReport()
        return .finished
    }

    func measure(_ trainer: Trainer, name: String, seed: UInt64, epoch: Int, seconds: Double) throws -> ExperimentRecord {
        let cell = try trainer.sampleGrid(count: 16, rows: 4)
        cells[name, default: [:]][epoch] = cell
        try FileManager.default.createDirectory(atPath: config.output + "/\(name)", withIntermediateDirectories: true)
        try savePNG(cell, to: config.output + "/\(name)/figure-epoch\(epoch).png", range: .symmetric)
        let evaluation = try evaluator.evaluate(trainer.generate(count: config.evaluationSamples, seed: 1_000_003 &* (seed + 1)))
        return ExperimentRecord(variant: trainer.config.variant, seed: seed, epoch: epoch, iteration: trainer.iteration,
                                seconds: seconds, evaluation: evaluation, layerSigmas: try trainer.critic.layerSigmas())
    }

    func loadCell(_ name: String, _ epoch: Int) throws -> Tensor {
        try loadImage(config.output + "/\(name)/figure-epoch\(epoch).png", range: .symmetric)
    }

    // MARK: Records as CSV

    static let csvHeader = "variant,seed,epoch,iteration,seconds,swd,ndb,bins,diversity,attribute_gap,worst_attribute,worst_generated,worst_real,layer_sigmas"

    func writeRecords(_ records: [ExperimentRecord], to path: String) throws {
        let rows = records.map { r -> String in
            let e = r.evaluation
            let worst = e.worstAttribute.map { "\($0.name),\($0.generated),\($0.real)" } ?? ",,"
            return "\(r.variant.rawValue),\(r.seed),\(r.epoch),\(r.iteration),\(r.seconds),\(e.slicedWasserstein),\(e.ndb),\(e.bins),\(e.diversity),"
                + "\(e.attributeGap.map { String($0) } ?? ""),\(worst),\(r.layerSigmas.map { String($0) }.joined(separator: " "))"
        }
        try ([Self.csvHeader] + rows).joined(separator: "\n").appending("\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    func readRecords(_ path: String) throws -> [ExperimentRecord] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 14, let variant = Variant(rawValue: f[0]), let seed = UInt64(f[1]), let epoch = Int(f[2]), let iteration = Int(f[3]),
                  let seconds = Double(f[4]), let swd = Double(f[5]), let ndb = Int(f[6]), let bins = Int(f[7]), let diversity = Double(f[8]) else { return nil }
            var evaluation = Evaluation(slicedWasserstein: swd, ndb: ndb, bins: bins, diversity: diversity, attributeGap: Double(f[9]))
            if let generated = Double(f[11]), let real = Double(f[12]) { evaluation.worstAttribute = (f[10], generated, real) }
            return ExperimentRecord(variant: variant, seed: seed, epoch: epoch, iteration: iteration, seconds: seconds, evaluation: evaluation,
                                    layerSigmas: f[13].split(separator: " ").compactMap { Double($0) })
        }
    }

    // MARK: The report

    public func writeReport() throws {
        try FileManager.default.createDirectory(atPath: config.output, withIntermediateDirectories: true)
        try writeRecords(records, to: config.output + "/metrics.csv")
        try figure1().save(to: config.output + "/figure1.png")
        try plots()
        try markdownTable().write(toFile: config.output + "/metrics.md", atomically: true, encoding: .utf8)
    }

    /// The study's Figure 1: rows are variants, columns epochs; each cell the same 16 latent
    /// codes of the first seed.
    public func figure1() throws -> Canvas {
        let seed = config.seeds[0]
        let epochs = config.epochs.sorted()
        guard let sample = cells.values.lazy.compactMap({ $0.values.first }).first else {
            throw EngineError.invalidArgument(op: "figure1", message: "no epoch was measured yet")
        }
        let (cellHeight, cellWidth) = (sample.shape[1], sample.shape[2])
        let (label, header, gap) = (8 * 12 + 16, 28, 8)
        var canvas = Canvas(width: label + epochs.count * (cellWidth + gap), height: header + config.variants.count * (cellHeight + gap))
        for (column, epoch) in epochs.enumerated() {
            canvas.text("epoch \(epoch)", x: label + column * (cellWidth + gap), y: 8, .black, scale: 2)
        }
        for (row, variant) in config.variants.enumerated() {
            let y = header + row * (cellHeight + gap)
            canvas.text(variant.rawValue, x: 4, y: y + cellHeight / 2 - 7, .black, scale: 2)
            for (column, epoch) in epochs.enumerated() {
                if let cell = cells[runName(variant, seed)]?[epoch] {
                    try canvas.image(cell, x: label + column * (cellWidth + gap), y: y, range: .symmetric)
                }
            }
        }
        return canvas
    }

    func plots() throws {
        let seed = config.seeds[0]
        let perEpoch = Double(iterationsPerEpoch)
        // Running means over an epoch, so the trend shows through the step-to-step noise.
        func smoothed(_ values: [Double]) -> [Double] {
            let window = max(1, Int(perEpoch))
            var sums = [0.0]
            for v in values { sums.append(sums.last! + v) }
            return values.indices.map { i in (sums[i + 1] - sums[max(0, i + 1 - window)]) / Double(min(window, i + 1)) }
        }
        let runs = config.variants.map { ($0, logs[runName($0, seed)] ?? []) }
        let wasserstein = runs.map { variant, log in
            Series(variant.rawValue, y: smoothed(log.map { Double($0.wasserstein) }), x: log.map { Double($0.iteration) / perEpoch })
        }
        try LinePlot(title: "Wasserstein estimate (running mean over an epoch)", xLabel: "epoch", yLabel: "W estimate",
                     series: wasserstein).save(to: config.output + "/wasserstein.png", width: 900, height: 480)
        var sigmaSeries: [Series] = []
        for (variant, log) in runs where variant.spectralNorm {
            let layers = log.first?.sigmas.count ?? 0
            for layer in 0..<layers {
                sigmaSeries.append(Series("\(variant.rawValue) layer \(layer + 1)", y: log.map { Double($0.sigmas[layer]) }, x: log.map { Double($0.iteration) / perEpoch }))
            }
        }
        if !sigmaSeries.isEmpty {
            try LinePlot(title: "σ̂ of each spectrally normalized critic layer", xLabel: "epoch", yLabel: "σ̂(W)",
                         series: sigmaSeries).save(to: config.output + "/sigmas.png", width: 900, height: 480)
        }
        func byEpoch(_ value: (ExperimentRecord) -> Double) -> [Series] {
            config.variants.map { variant in
                let mine = records.filter { $0.variant == variant && $0.seed == seed }.sorted { $0.epoch < $1.epoch }
                return Series(variant.rawValue, y: mine.map(value), x: mine.map { Double($0.epoch) })
            }
        }
        try LinePlot(title: "critic's Lipschitz bound, log10 Π σ(W)", xLabel: "epoch", yLabel: "log10 Π σ(W)",
                     series: byEpoch { log10($0.lipschitzBound) }).save(to: config.output + "/lipschitz.png", width: 900, height: 480)
        let baseline = evaluator.baseline.slicedWasserstein
        try LinePlot(title: "sliced Wasserstein distance to real images (×1000)", xLabel: "epoch", yLabel: "SWD",
                     series: byEpoch { $0.evaluation.slicedWasserstein } + [Series("real vs real", y: config.epochs.sorted().map { _ in baseline },
                                                                                    x: config.epochs.sorted().map(Double.init), color: .gray)])
            .save(to: config.output + "/swd.png", width: 900, height: 480)
    }

    /// Mean (± sample standard deviation over seeds, when there are several) of each metric per
    /// variant and epoch, with the real-vs-real baseline first.
    public func markdownTable() -> String {
        func cell(_ values: [Double], _ digits: Int) -> String {
            let values = values.filter(\.isFinite)
            guard !values.isEmpty else { return "–" }
            let mean = values.reduce(0, +) / Double(values.count)
            guard values.count > 1 else { return String(format: "%.\(digits)f", mean) }
            let sd = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
            return String(format: "%.\(digits)f ± %.\(digits)f", mean, sd)
        }
        let b = evaluator.baseline!
        var lines = [
            "| variant | epoch | iteration | runs | SWD ×10³ ↓ | NDB (of \(config.bins)) ↓ | diversity (real = 1) | attribute gap (pp) ↓ | critic Lipschitz bound | training min |",
            "|---|---|---|---|---|---|---|---|---|---|",
            "| real vs real | | | | \(cell([b.slicedWasserstein], 1)) | \(b.ndb) | \(cell([b.diversity], 2)) | \(b.attributeGap.map { cell([$0], 1) } ?? "–") | | |",
        ]
        for variant in config.variants {
            for epoch in config.epochs.sorted() {
                let rows = records.filter { $0.variant == variant && $0.epoch == epoch }
                guard let first = rows.first else { continue }
                lines.append("| \(variant.rawValue) | \(epoch) | \(first.iteration) | \(rows.count) | \(cell(rows.map(\.evaluation.slicedWasserstein), 1)) | "
                             + "\(cell(rows.map { Double($0.evaluation.ndb) }, rows.count > 1 ? 1 : 0)) | \(cell(rows.map(\.evaluation.diversity), 2)) | "
                             + "\(cell(rows.compactMap(\.evaluation.attributeGap), 1)) | \(cell(rows.map(\.lipschitzBound), 2)) | "
                             + "\(cell(rows.map { $0.seconds / 60 }, 1)) |")
            }
        }
        let seeds = config.seeds.map(String.init).joined(separator: ", ")
        lines.append("")
        lines.append("Seeds: \(seeds); `runs` is how many seeds reached that epoch\(config.seeds.count > 1 ? ", and where there are several a cell is their mean ± standard deviation" : ""). "
                     + "\(config.evaluationSamples) generated images per measurement against \(config.evaluationSamples) real ones.")
        return lines.joined(separator: "\n") + "\n"
    }
}
