import ArgumentParser
import Engine
import Foundation
import GAN
import Library
import REPL

/// The small-scale study: the four variants with the same data and seeds, measured per epoch.
struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Train all four variants with the same data and seeds; write Figure 1, plots and a metrics table.",
        discussion: """
            Example (about 50 minutes on 2 cores): swift run -c release normlab experiment --out Assets/experiment
            Writes figure1.png (rows: variants, columns: epochs), wasserstein.png, sigmas.png, lipschitz.png,
            swd.png, metrics.md and metrics.csv, and one directory per run (samples, checkpoint, logs).
            """)
    @Option(help: "synth (synthetic faces, no download) or a CelebA directory or image folder.") var data = "synth"
    @Option(help: "Synthetic faces to make, or the most images to use from a folder.") var count = 10000
    @Option(help: "Image size: 16, 32, 64 or 128.") var size = 32
    @Option(help: "Epochs to measure and show, comma-separated; training stops at the last (default: 1,2,4,8; with --tiny 1,2).") var epochs: String?
    @Option(help: "Seeds, comma-separated: each variant is trained once per seed.") var seeds = "0"
    @Option(help: "Variants, comma-separated.") var variants = "plain,sn,adain,sn+adain"
    @Option(help: "Batch size.") var batch = 64
    @Option(help: "Generator width (channels at 4×4).") var generatorWidth = 256
    @Option(help: "Critic width (channels of its first layer).") var criticWidth = 64
    @Option(help: "Generated (and real) images per measurement.") var samples = 1024
    @Option(help: "Output directory.") var out = "experiment"
    @Flag(help: "Continue each run from its checkpoint, keeping the measurements written.") var resume = false
    @Flag(help: "Write the report (Figure 1, plots, table) from the runs already in --out, training nothing.") var report = false
    @Flag(help: "A tiny configuration of the same code (small networks, two epochs of 256 faces).") var tiny = false

    func run() throws {
        let started = Date()
        var config = tiny ? ExperimentConfiguration.tiny(output: out) : ExperimentConfiguration()
        config.output = out
        try prepareOutputFolder(out)
        config.variants = try variants.split(separator: ",").map { name in
            guard let v = Variant(rawValue: String(name)) else { throw ValidationError("unknown variant '\(name)': plain, sn, adain or sn+adain") }
            return v
        }
        config.seeds = try seeds.split(separator: ",").map { text in
            guard let s = UInt64(text) else { throw ValidationError("--seeds takes whole numbers separated by commas, got '\(text)'") }
            return s
        }
        if let epochs {
            config.epochs = try epochs.split(separator: ",").map { text in
                guard let e = Int(text), e >= 1 else { throw ValidationError("--epochs takes numbers ≥ 1 separated by commas, got '\(text)'") }
                return e
            }
        }
        if !tiny {
            (config.training.resolution, config.training.batchSize) = (size, batch)
            (config.training.generatorWidth, config.training.criticWidth, config.evaluationSamples) = (generatorWidth, criticWidth, samples)
        }
        let resolution = config.training.resolution
        let training = try loadTrainingData(data, count: tiny ? 256 : count, size: resolution)
        let samples = config.evaluationSamples
        guard training.images.shape[0] >= 2 * samples else {
            throw ValidationError("the measurements compare \(samples) generated images with 2 × \(samples) real ones; \(training.images.shape[0]) images are too few (lower --samples)")
        }

        // The attribute classifier: on labelled synthetic faces of another seed, or on the folder's own labels.
        var classifier: AttributeClassifier?
        if data == "synth" {
            print("training the attribute classifier on \(tiny ? 256 : 4000) labelled synthetic faces of another seed…")
            let trained = try AttributeClassifier.forSyntheticFaces(resolution: resolution, count: tiny ? 256 : 4000, steps: tiny ? 20 : 400)
            classifier = trained.classifier
            print(accuracyLine(trained.accuracy, names: trained.classifier.names))
            fflush(nil)
        } else if let labels = training.labels {
            print("training the attribute classifier on the folder's labels…")
            let heldOut = max(1, training.images.shape[0] / 10)
            let trained = try AttributeClassifier.trained(images: training.images, labels: labels, names: training.names, heldOut: heldOut, steps: tiny ? 20 : 400)
            classifier = trained.classifier
            print(accuracyLine(trained.accuracy, names: trained.classifier.names))
        } else {
            print("no attribute labels in \(data): the attribute gap is left out")
        }
        let evaluator = try Evaluator(real: training.images, samples: samples, bins: config.bins, classifier: classifier)
        let b = evaluator.baseline!
        print(String(format: "real vs real: SWD %.1f, NDB %d of %d, diversity %.2f", b.slicedWasserstein, b.ndb, b.bins, b.diversity)
              + (b.attributeGap.map { String(format: ", attribute gap %.1f pp", $0) } ?? ""))

        let experiment = try Experiment(config, data: training.images, evaluator: evaluator)
        let total = config.epochs.max()! * experiment.iterationsPerEpoch
        print("\(config.variants.count) variant(s) × \(config.seeds.count) seed(s), \(total) iterations each (\(experiment.iterationsPerEpoch) per epoch) "
              + "on \(training.images.shape[0]) images of \(resolution)×\(resolution); output in \(out)/")
        installInterruptHandler()
        var bar: ProgressReporter?
        var first = 0
        let outcome = try experiment.run(resume: resume, train: !report, interrupted: { sharedInterrupt.isRequested }, starting: { name, trainer in
            fflush(nil)
            bar = ProgressReporter(name, total: total - trainer.iteration)
            first = trainer.iteration
        }, progress: { name, trainer, entry in
            bar?.update(trainer.iteration - first, [.init("epoch", Double(trainer.epoch)), .init("W", Double(entry.wasserstein)), .init("gp", Double(entry.penalty))])
        }, measured: { r in
            bar?.finish()
            let e = r.evaluation
            print(String(format: "%@ epoch %d: SWD %.1f, NDB %d/%d, diversity %.2f", "\(r.variant.rawValue)-seed\(r.seed)", r.epoch, e.slicedWasserstein, e.ndb, e.bins, e.diversity)
                  + (e.attributeGap.map { String(format: ", attribute gap %.1f pp", $0) } ?? "") + String(format: ", Lipschitz bound %.3g", r.lipschitzBound))
            fflush(nil)
        })
        bar?.finish()
        if outcome == .interrupted {
            print("stopped; checkpoints written; continue with the same command and --resume")
            return
        }
        let minutes = Date().timeIntervalSince(started) / 60
        // Each run's training time is that of its last measurement.
        let runSeconds = Dictionary(experiment.records.filter(\.seconds.isFinite).map { (experiment.runName($0.variant, $0.seed), $0.seconds) }, uniquingKeysWith: max)
        let trainingMinutes = runSeconds.values.reduce(0, +) / 60
        let command = "normlab experiment " + CommandLine.arguments.dropFirst(2).joined(separator: " ")
        let table = try String(contentsOfFile: out + "/metrics.md", encoding: .utf8)
        try (table + "Command: `\(command)`; training took \(String(format: "%.1f", trainingMinutes)) minutes summed over the runs (measurements excluded); "
             + "this invocation took \(String(format: "%.1f", minutes)) minutes on \(ProcessInfo.processInfo.activeProcessorCount) cores"
             + (report ? ", writing the report of runs trained before" : resume ? ", resuming runs already trained" : "") + ".\n")
            .write(toFile: out + "/metrics.md", atomically: true, encoding: .utf8)
        print(table)
        print(String(format: "done in %.1f minutes: %@/figure1.png, wasserstein.png, sigmas.png, lipschitz.png, swd.png, metrics.md", minutes, out))
    }

    func accuracyLine(_ accuracy: [Double], names: [String]) -> String {
        "held-out accuracy: " + zip(names, accuracy).map { String(format: "%@ %.0f%%", $0, 100 * $1) }.joined(separator: ", ")
    }
}
