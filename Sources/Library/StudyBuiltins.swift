import Dispatch
import Engine
import Foundation
import GAN
import NN
import Preview
import Script

/// Builtins of lesson 5: a live training run of a variant, and the metrics the experiment uses.
let studyBuiltins: [Builtin] = [
    Builtin("train_gan", [.positional("variant", .choice(Variant.allCases.map(\.rawValue)),
                                      "\"plain\", \"sn\" (spectral-norm critic), \"adain\" (AdaIN generator) or \"sn+adain\""),
                          .labelled("iterations", .int, default: 150, "generator steps"),
                          .labelled("size", .int, default: 32, "the image side: 8, 16, 32, 64 or 128"),
                          .labelled("width", .int, default: 64, "the generator's channels at 4×4 (≥ 8); the critic's first layer has width/4"),
                          .labelled("faces", .int, default: 2000, "how many training images"),
                          .labelled("every", .int, default: 50, "show samples every this many iterations"),
                          .labelled("data", .string, default: "synth", "\"synth\", or the path of a CelebA directory or image folder")],
            returns: "GANRun", .study, """
            Trains a variant of the study with WGAN-GP (λ = 10, 5 critic steps, Adam 1e-4, β = (0, 0.9)) on synthetic faces \
            or a CelebA/image folder, showing 16 samples every `every` iterations. `width` is the generator's channels at 4×4 \
            (the critic's first layer has width/4); the experiment uses 256. Ctrl-C stops it and keeps what was trained. \
            The result: samples (a grid), generated and real images [256, 3, size, size], per-iteration wasserstein, penalty, \
            generator_loss, sigmas (σ̂ per SN layer), layer_sigmas (σ of each critic layer as used), seconds, and save(path), \
            which writes the run's checkpoint (for load_generator) and returns the path.
            """,
            example: "train_gan(\"sn\", iterations: 2, size: 8, width: 16, faces: 16, every: 2).layer_sigmas") { args, session in
        let variant = args.choice("variant", as: Variant.self)
        var config = TrainingConfiguration()
        config.variant = variant
        config.iterations = max(1, args.int("iterations"))
        config.resolution = args.int("size")
        guard [8, 16, 32, 64, 128].contains(config.resolution) else { throw args.error("'size:' is 8, 16, 32, 64 or 128") }
        let width = args.int("width")
        guard width >= 8 else { throw args.error("'width:' must be at least 8") }
        (config.generatorWidth, config.criticWidth) = (width, max(4, width / 4))
        let count = max(2, args.int("faces"))
        let every = max(1, args.int("every"))
        let source = args.string("data")
        // The bar shows at once, while the faces are made (or, after a decoding bar, once a folder is read).
        let bar = source == "synth" ? session.progress("train \(variant.rawValue)", total: config.iterations) : nil
        defer { bar?.finish() }
        let data = try session.decoding { try TrainingData.load(source, count: count, size: config.resolution, progress: $0) }
        for warning in data.warnings { session.emit(text: "warning: " + warning) }
        let images = data.images
        config.batchSize = min(64, images.shape[0])
        // The global stream is the lesson's: the run seeds its own and gives it back.
        let saved = Runtime.generatorState
        defer { Runtime.generatorState = saved }
        let trainer = try Trainer(config, data: images)
        let progress = bar ?? session.progress("train \(variant.rawValue)", total: config.iterations)
        defer { progress.finish() }
        let start = DispatchTime.now().uptimeNanoseconds
        func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        // One display for the samples: a front end that can redraw it in place.
        let samples = DisplayID()
        while trainer.iteration < config.iterations {
            if session.interpreter.interrupt.isRequested {
                session.interpreter.interrupt.clear()
                progress.finish()
                session.emit(text: "stopped by Ctrl-C after \(trainer.iteration) iterations; the run so far is returned")
                break
            }
            let entry = try trainer.step()
            progress.update(trainer.iteration, entry.progressValues)
            if trainer.iteration % every == 0 || trainer.iteration == config.iterations {
                session.show(try .batch(trainer.fixedSamples(count: 16), range: .symmetric, rows: 2,
                                        description: "\(variant.rawValue): samples at iteration \(trainer.iteration) of \(config.iterations)"),
                             display: samples)
            }
        }
        let log = trainer.log
        let runStream = Runtime.generatorState
        func series(_ values: [Float]) -> Value { .array(values.map { .number(Double($0)) }) }
        let layers = log.first?.sigmas.count ?? 0
        let generated = try trainer.generate(count: min(256, images.shape[0]), seed: 99)
        return .object(Record("GANRun", [
            ("variant", .string(variant.rawValue)), ("iterations", .number(Double(trainer.iteration))),
            ("samples", .tensor(try trainer.sampleGrid(count: 16, rows: 2))),
            ("generated", .tensor(generated)), ("real", .tensor(try images.gather(Array(0..<min(256, images.shape[0]))))),
            ("wasserstein", series(log.map(\.wasserstein))), ("penalty", series(log.map(\.penalty))),
            ("generator_loss", series(log.map(\.generatorLoss))),
            ("sigmas", .array((0..<layers).map { layer in series(log.map { $0.sigmas[layer] }) })),
            ("layer_sigmas", .array(try trainer.critic.layerSigmas().map { .number($0) })),
            ("seconds", .number(seconds())),
            ("save", .builtin(BuiltinFunction(name: "save") { call in
                // The run's checkpoint, for load_generator and for `normlab train --resume`.
                let path = try runSaveSignature.bind(call).string("path")
                try trainer.checkpoint(globalStream: runStream).write(to: path)
                return .string(path)
            })),
        ]))
    },
    Builtin("pair_distance", [.positional("images", .either(.tensor, .string), "a batch [N, …] of at least two images, or a checkpoint's path (1024 of its generator's)"),
                              .labelled("pairs", .int, default: 2000, "how many random pairs to average")],
            returns: "Number", .study,
            "The mean distance between random pairs of distinct images (root mean square over pixels): the spread of a set. A collapsed generator scores near 0.",
            example: "pair_distance(faces(8, size: 8), pairs: 10)") { args, session in
        let images = try metricImages(args.value("images"), count: 1024, session: session)
        guard images.rank >= 2, images.shape[0] >= 2 else { throw args.error("needs at least two images [N, …], got \(images.shape)") }
        return .number(try meanPairDistance(images, pairs: max(1, args.int("pairs"))))
    },
    Builtin("ndb", [.positional("real", .tensor, "real images [N, C, H, W]"),
                    .positional("generated", .either(.tensor, .string), "generated images of the same size, or a checkpoint's path (as many of its generator's)"),
                    .labelled("bins", .int, default: 20, "how many k-means bins of the real images")],
            returns: "(different, bins, real_shares, generated_shares)", .study,
            "The NDB test: k-means bins of the real images; a bin is different when the share of generated images in it differs from the real share (two-sample z-test, 5%).",
            example: "ndb(faces(40, size: 8), faces(40, size: 8, seed: 1), bins: 4).different") { args, session in
        let real = args.tensor("real")
        let generated = try metricImages(args.value("generated"), count: real.rank == 4 ? real.shape[0] : 0, session: session)
        guard real.rank == 4, generated.rank == 4, Array(real.shape.dims.dropFirst()) == Array(generated.shape.dims.dropFirst()) else {
            throw args.error("needs two batches of images [N, C, H, W] of one size, got \(real.shape) and \(generated.shape)")
        }
        let bins = try NDBBins(real: real, bins: args.int("bins"))
        return .object(Record("NDB", [("different", .number(Double(try bins.statisticallyDifferentBins(generated)))),
                                      ("bins", .number(Double(bins.realShares.count))),
                                      ("real_shares", .array(bins.realShares.map { .number($0) })),
                                      ("generated_shares", .array(try bins.shares(generated).map { .number($0) }))]))
    },
    Builtin("swd", [.positional("a", .tensor, "images [N, 3, H, W]"),
                    .positional("b", .either(.tensor, .string), "images of the same size, or a checkpoint's path (as many of its generator's)")],
            returns: "Number", .study,
            "The sliced Wasserstein distance (×10³) between two batches of images [N, 3, H, W], ProGAN's recipe: Laplacian-pyramid patches, random projections.",
            example: "swd(faces(8, size: 16), faces(8, size: 16, seed: 1))") { args, session in
        let a = args.tensor("a")
        return .number(try Evaluator.slicedWasserstein(a, metricImages(args.value("b"), count: a.rank == 4 ? a.shape[0] : 0, session: session)))
    },
    Builtin("attribute_classifier", [.labelled("size", .int, default: 32, "the image side: 8, 16, 32, 64 or 128"),
                                     .labelled("faces", .int, default: 4000, "how many labelled faces to train on"),
                                     .labelled("steps", .int, default: 400, "training steps")],
            returns: "(names, accuracy, frequencies)", .study,
            "Trains the critic-shaped classifier of the 11 attributes on labelled synthetic faces of another seed. `frequencies(images)` gives the share of images it finds each attribute in.",
            example: "attribute_classifier(size: 8, faces: 32, steps: 2).names") { args, session in
        let size = args.int("size")
        guard [8, 16, 32, 64, 128].contains(size) else { throw args.error("'size:' is 8, 16, 32, 64 or 128") }
        let steps = max(1, args.int("steps"))
        let progress = session.progress("attribute classifier", total: steps)
        defer { progress.finish() }
        let (classifier, accuracy) = try AttributeClassifier.forSyntheticFaces(resolution: size, count: max(8, args.int("faces")), steps: steps) { step, loss in
            try session.interpreter.checkInterrupt(at: args.location)
            progress.update(step, [.init("loss", Double(loss))])
        }
        let frequencies = BuiltinFunction(name: "frequencies") { call in
            let args = try frequenciesSignature.bind(call)
            let images = try metricImages(args.value("images"), count: 1024, session: session)
            guard images.rank == 4, images.shape[1] == 3, images.shape[2] == size, images.shape[3] == size else {
                throw args.error("the classifier reads images [N, 3, \(size), \(size)], got \(images.shape)")
            }
            return .array(try classifier.frequencies(images).map { .number($0) })
        }
        return .object(Record("AttributeClassifier", [("names", .array(classifier.names.map { .string($0) })),
                                                      ("accuracy", .array(accuracy.map { .number($0) })), ("frequencies", .builtin(frequencies))]))
    },
]

/// The classifier's method: the share of images in which it finds each attribute.
private let frequenciesSignature = Signature(name: "frequencies", receiver: "classifier",
                                             parameters: [.positional("images", .either(.tensor, .string),
                                                                      "images [N, 3, size, size] in [−1, 1], or a checkpoint's path (1024 of its generator's)")],
                                             returns: "[Number]")

/// A GANRun's method that writes the run's checkpoint.
private let runSaveSignature = Signature(name: "save", receiver: "run", parameters: [.positional("path", .string, "the checkpoint to write (.safetensors)")],
                                         returns: "String")

extension IterationLog {
    /// What a training bar shows after the rate: the critic's estimate, the penalty and both losses.
    public var progressValues: [ProgressBar.Value] {
        [.init("W", Double(wasserstein)), .init("gp", Double(penalty)), .init("d_loss", Double(criticLoss)), .init("g_loss", Double(generatorLoss))]
    }
}
