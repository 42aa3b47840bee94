import ArgumentParser
import Dispatch
import Engine
import Foundation
import GAN
import Preview

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "data", abstract: "Make and inspect datasets.",
                                                    subcommands: [Synth.self])

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
