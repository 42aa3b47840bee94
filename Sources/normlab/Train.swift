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
        discussion: "Example: swift run -c release normlab train --variant sn --data synth --iterations 2000 --out runs/sn")
    @Option(help: "plain (BatchNorm generator), sn (spectral-norm critic), adain (AdaIN generator) or sn+adain.") var variant = "plain"
    @Option(help: "synth (synthetic faces, no download) or a CelebA directory or image folder.") var data = "synth"
    @Option(help: "Synthetic faces to make, or the most images to use from a folder.") var count = 10000
    @Option(help: "Image size: 16, 32, 64 or 128.") var size = 32
    @Option(help: "Generator iterations (each with 5 critic steps).") var iterations = 2000
    @Option(help: "Batch size.") var batch = 64
    @Option(help: "Output directory: samples-*.png, checkpoint.safetensors, log.csv.") var out = "run"
    @Option(help: "Write a sample grid every N iterations.") var sampleEvery = 100
    @Option(help: "Write a checkpoint every N iterations.") var checkpointEvery = 100
    @Option(help: "Penalty weight λ.") var lambda: Float = 10
    @Option(help: "Seed of everything random in the run.") var seed: UInt64 = 0
    @Flag(help: "Continue from the checkpoint in --out, bit for bit.") var resume = false
    @Flag(help: "A tiny configuration of the same code (small networks, a few iterations).") var tiny = false

    func run() throws {
        guard let chosen = Variant(rawValue: variant) else { throw ValidationError("--variant is plain, sn, adain or sn+adain") }
        var config = tiny ? TrainingConfiguration.tiny(variant: chosen, output: out) : TrainingConfiguration()
        if !tiny {
            (config.variant, config.output, config.resolution, config.batchSize, config.iterations) = (chosen, out, size, batch, iterations)
            (config.sampleEvery, config.checkpointEvery, config.lambda) = (sampleEvery, checkpointEvery, lambda)
        }
        config.seed = seed
        try prepareOutputFolder(out)
        let images = try loadTrainingData(data, count: tiny ? 16 : count, size: config.resolution).images
        let trainer = try Trainer(config, data: images)
        if resume { try trainer.resume() }
        installInterruptHandler()
        let start = trainer.iteration
        print("training \(chosen.rawValue) on \(images.shape[0]) images of \(config.resolution)×\(config.resolution), "
              + "iterations \(trainer.iteration + 1)…\(config.iterations), output in \(out)/")
        let progress = ProgressReporter("train \(chosen.rawValue)", total: config.iterations - start)
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
}

/// The training data (`TrainingData.load`) with a progress bar while decoding, and a warning
/// naming the images that could not be read.
func loadTrainingData(_ data: String, count: Int, size: Int) throws -> TrainingData {
    let progress = ProgressReporter("decoding", total: nil)
    let loaded = try TrainingData.load(data, count: count, size: size, progress: { progress.update($0, of: $1) })
    progress.finish()
    warnAboutSkipped(loaded.skipped)
    return loaded
}
