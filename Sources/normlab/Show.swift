import ArgumentParser
import Engine
import Preview

/// Pictures in the terminal: PNG or JPEG files, fitted to the window.
struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show PNG or JPEG images in the terminal (colour half-blocks, or ASCII).")

    @Argument(help: "Image files (PNG or JPEG).")
    var files: [String]

    @Option(help: "Width in terminal columns (default: the window's).")
    var columns: Int?

    @Option(help: "Colour: truecolor, ansi256 or ascii (default: detected; NO_COLOR turns it off).")
    var color: ColorMode?

    func run() throws {
        var failed = false
        for file in files {
            do {
                let image = try loadImage(file)
                print("\(printable(file))  \(image.shape[2])×\(image.shape[1]), \(image.shape[0]) channel\(image.shape[0] == 1 ? "" : "s")")
                print(try show(image, columns: columns, mode: ColorMode.detect(explicit: color)))
            } catch {
                print("error: \(describe(error))")
                failed = true
            }
        }
        if failed { throw ExitCode.failure }
    }
}

extension ColorMode: ExpressibleByArgument {}
