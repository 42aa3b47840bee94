import ArgumentParser
import Dispatch
import Engine
import Foundation
import GAN
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
            let progress = ProgressLine(label: "decoding")
            let set = try ImageDataset.load(path, preprocessing: Preprocessing(crop: cropping, size: size), split: split, attribute: attribute, limit: limit,
                                            progress: { progress.update($0, $1) })
            progress.finish()
            warnAboutSkipped(set.skipped)
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

/// Names the images a load could not read, on standard error; nothing when there are none.
func warnAboutSkipped(_ skipped: [String]) {
    guard let first = skipped.first else { return }
    FileHandle.standardError.write(Data("warning: skipped \(skipped.count) unreadable image(s), e.g. \(first)\n".utf8))
}

/// A tqdm-style progress line on standard error: `decoding: 42%|████▍     | 420/1000 [00:03<00:04, 120.5it/s]`,
/// redrawn at most ten times a second on a terminal, a plain line every few seconds otherwise.
final class ProgressLine: @unchecked Sendable {
    let label: String
    let start = DispatchTime.now().uptimeNanoseconds
    var lastDraw: UInt64 = 0
    let lock = NSLock()
    let terminal = isatty(STDERR_FILENO) == 1
    var drawn = false

    init(label: String) { self.label = label }

    func update(_ done: Int, _ total: Int, suffix: String = "") {
        lock.lock(); defer { lock.unlock() }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - lastDraw > (terminal ? 100_000_000 : 5_000_000_000) || done == total else { return }
        lastDraw = now
        let elapsed = Double(now - start) / 1e9, rate = Double(done) / max(elapsed, 1e-9)
        let fraction = Double(done) / Double(max(total, 1))
        let width = 20, filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: " ", count: width - filled)
        func clock(_ s: Double) -> String { String(format: "%02d:%02d", Int(s) / 60, Int(s) % 60) }
        let line = "\(label): \(Int(fraction * 100))%|\(bar)| \(done)/\(total) [\(clock(elapsed))<\(clock(Double(total - done) / max(rate, 1e-9))), "
            + (rate >= 1 ? String(format: "%.1fit/s", rate) : String(format: "%.2fs/it", 1 / max(rate, 1e-9)))
            + (suffix.isEmpty ? "]" : ", \(suffix)]")
        FileHandle.standardError.write(Data((terminal ? "\r" + line : line + "\n").utf8))
        drawn = true
    }

    func finish() { if terminal && drawn { FileHandle.standardError.write(Data("\n".utf8)) } }
}
