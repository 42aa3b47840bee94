import ArgumentParser
import Dispatch
import Engine
import Foundation
import GAN
import Library
import REPL

/// Trains one of the study's four variants on synthetic faces or an image folder.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a variant of the study (plain, sn, adain, sn+adain) with WGAN-GP.",
        discussion: """
            Example: swift run -c release normlab train --variant sn --data synth --iterations 2000 --out runs/sn
            With --resume the run continues from --out/checkpoint.safetensors (written by Normlab or by the script of
            `normlab export pytorch`) with the settings recorded there; --iterations sets where it stops.
            """)
    @Option(help: "plain (BatchNorm generator), sn (spectral-norm critic), adain (AdaIN generator) or sn+adain (default plain).") var variant: String?
    @Option(help: "synth (synthetic faces, no download) or a CelebA directory or image folder.") var data = "synth"
    @Option(help: "Synthetic faces to make, or the most images to use from a folder (default 10000).") var count: Int?
    @Option(help: "Image size: 16, 32, 64 or 128 (default 32).") var size: Int?
    @Option(help: "Generator iterations in all (each with 5 critic steps; default 2000).") var iterations: Int?
    @Option(help: "Batch size (default 64).") var batch: Int?
    @Option(help: "Output directory: samples-*.png, checkpoint.safetensors, log.csv.") var out = "run"
    @Option(help: "Write a sample grid every N iterations (default 100).") var sampleEvery: Int?
    @Option(help: "Write a checkpoint every N iterations (default 100).") var checkpointEvery: Int?
    @Option(help: "Penalty weight λ (default 10).") var lambda: Float?
    @Option(help: "Seed of everything random in the run (default 0).") var seed: UInt64?
    @Flag(help: "Continue from the checkpoint in --out, bit for bit.") var resume = false
    @Flag(help: "A tiny configuration of the same code (small networks, a few iterations).") var tiny = false

    func run() throws {
        var config = TrainingConfiguration()
        var images = count ?? 10000
        let checkpointPath = out + "/checkpoint.safetensors"
        if resume, let saved = try StudyCheckpoint.settings(at: checkpointPath) {
            // The checkpoint's settings rule; a flag given anyway must agree with them.
            var asked = saved.config
            if let variant { asked.variant = try chosenVariant(variant) }
            if let size { asked.resolution = size }
            if let batch { asked.batchSize = batch }
            if let lambda { asked.lambda = lambda }
            if let seed { asked.seed = seed }
            let conflicts = asked.differences(from: saved.config) + (count.map { $0 == saved.images ? [] : ["images: \(saved.images) in the checkpoint, \($0) here (--count)"] } ?? [])
            guard conflicts.isEmpty else { throw ValidationError("\(checkpointPath) was trained with other settings:\n  " + conflicts.joined(separator: "\n  ")) }
            (config, images) = (saved.config, saved.images)
        } else {
            let chosen = try chosenVariant(variant ?? "plain")
            if tiny {
                config = .tiny(variant: chosen, output: out)
                images = 16
            } else {
                (config.variant, config.resolution, config.batchSize, config.lambda) = (chosen, size ?? 32, batch ?? 64, lambda ?? 10)
                config.iterations = 2000
            }
            config.seed = seed ?? 0
        }
        config.output = out
        if let iterations { config.iterations = iterations }
        if let sampleEvery { config.sampleEvery = sampleEvery }
        if let checkpointEvery { config.checkpointEvery = checkpointEvery }
        try prepareOutputFolder(out)
        let training = try loadTrainingData(data, count: images, size: config.resolution)
        let trainer = try Trainer(config, data: training.images)
        if resume {
            for note in try trainer.resume() { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
            guard trainer.iteration < config.iterations else {
                print("nothing to do: the checkpoint in \(out)/ is at iteration \(trainer.iteration) and the run stops at \(config.iterations); "
                      + "pass a larger --iterations to continue")
                return
            }
        }
        installInterruptHandler()
        let variant = config.variant.rawValue
        let start = trainer.iteration
        print("training \(variant) on \(training.images.shape[0]) images of \(config.resolution)×\(config.resolution), "
              + "iterations \(trainer.iteration + 1)…\(config.iterations), output in \(out)/")
        let progress = ProgressReporter("train \(variant)", total: config.iterations - start)
        let outcome: Trainer.Outcome
        do {
            outcome = try trainer.run(interrupted: { sharedInterrupt.isRequested }) { t, entry in
                progress.update(t.iteration - start, entry.progressValues)
            }
        } catch let error as TrainingError {
            progress.finish()
            throw ValidationError("\(error)")
        }
        progress.finish()
        print(outcome == .interrupted ? "stopped at iteration \(trainer.iteration); checkpoint written; continue with --resume"
                                      : "finished \(trainer.iteration) iterations; samples, checkpoint and log in \(out)/")
    }

    func chosenVariant(_ name: String) throws -> Variant {
        guard let chosen = Variant(rawValue: name) else { throw ValidationError("--variant is plain, sn, adain or sn+adain") }
        return chosen
    }
}

/// The training data (`TrainingData.load`) with a progress bar while decoding, and a warning
/// naming the images that could not be read.
func loadTrainingData(_ data: String, count: Int, size: Int) throws -> TrainingData {
    let progress = ProgressReporter("decoding", total: nil)
    let loaded = try TrainingData.load(data, count: count, size: size, progress: { progress.update($0, of: $1) })
    progress.finish()
    warn(loaded.warnings)
    return loaded
}
