import ArgumentParser
import Dispatch
import Engine
import Foundation
import GAN
import Library
import Preview

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "data", abstract: "Make and inspect datasets.",
                                                    subcommands: [Synth.self, Info.self])

    /// Loads a dataset as training would (preprocessing and cache included) and summarises it.
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Load a CelebA directory or an image folder and print its summary.",
                                                        discussion: "Example: normlab data info ~/data/celeba --size 64 --crop celeba --split 0")
        @Argument(help: "A CelebA directory (with img_align_celeba/) or any folder of PNG/JPEG images.") var path: String
        @Option(help: "Resize to this many pixels square.") var size = 64
        @Option(help: "celeba (ProGAN's 128×128 around x 89, y 121), center, or none.") var crop = "center"
        @Option(help: "Only the first N images.") var limit: Int?
        @Option(help: "0 train, 1 valid, 2 test (needs list_eval_partition.txt).") var split: Int?
        @Option(help: "Keep images with this attribute (e.g. Smiling), or without it (!Eyeglasses).") var attribute: String?
        @Option(help: "Also write a grid of the first images to this PNG.") var preview: String?

        func run() throws {
            let cropping: Preprocessing.Crop
            switch crop {
            case "celeba": cropping = .celebA
            case "center": cropping = .center(nil)
            case "none": cropping = .none
            default: throw ValidationError("--crop is celeba, center or none")
            }
            let start = DispatchTime.now().uptimeNanoseconds
            let progress = ProgressReporter("decoding", total: nil)
            let set = try ImageDataset.load(path, preprocessing: Preprocessing(crop: cropping, size: size), split: split, attribute: attribute, limit: limit,
                                            progress: { progress.update($0, of: $1) })
            progress.finish()
            warn(set.warnings)
            print(set.summary)
            print(String(format: "loaded in %.2f s", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
            if let preview { try savePNG(grid(set.images[0..<min(set.count, 64)]), to: preview, range: .symmetric) }
        }
    }

    struct Synth: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write synthetic faces in CelebA's layout (no download needed).")
        @Option(help: "Directory to write into.") var out: String
        @Option(help: "How many faces.") var count = 1000
        @Option(help: "Width and height in pixels.") var size = 64
        @Option(help: "Seed: the same seed gives the same faces.") var seed: UInt64 = 0
        @Option(help: "Also write a grid of the first faces to this PNG.") var preview: String?

        func run() throws {
            let start = DispatchTime.now().uptimeNanoseconds
            let (images, attributes) = try syntheticFaces(count: count, size: size, seed: seed)
            let rendered = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            try writeCelebALayout(images: images, attributes: attributes, to: out)
            if let preview { try savePNG(grid(images[0..<min(count, 64)], padding: 2), to: preview) }
            let total = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            print("wrote \(count) faces of \(size)×\(size) to \(out) (rendered in \(String(format: "%.2f", rendered)) s, \(String(format: "%.2f", total)) s with the PNG files)")
        }
    }
}

/// What a dataset load has to say (skipped images by reason, the cache), on standard error.
func warn(_ warnings: [String]) {
    for warning in warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
}
