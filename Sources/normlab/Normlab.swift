import ArgumentParser
import CEditLine
import Engine
import Foundation

@main
struct Normlab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "normlab",
        abstract: "Learn, verify and demonstrate the normalizations of a small GAN study: spectral norm, AdaIN, WGAN-GP.",
        discussion: """
            `normlab` with no arguments opens the REPL on lesson 1; `normlab lesson N` on lesson N.
            Everything stands on a readable pure-Swift tensor engine with higher-order autograd.
            """,
        version: normlabVersion,
        subcommands: [Start.self, LessonCommand.self, Repl.self, Run.self, Docs.self, DataCommand.self, Train.self, ExperimentCommand.self, Export.self, Toy.self, Tour.self, Show.self, Bench.self,
                      Figures.self, KernelCommand.self, NotebookCommand.self, Version.self],
        defaultSubcommand: Start.self)

    /// Every command starts here: on a CPU that cannot run this build's kernels, a message that
    /// says what it lacks and how to build for it, before any kernel runs. Foundation's file
    /// errors (`Error Domain=NSCocoaErrorDomain…`) are told in words that name the file.
    static func main() {
        // Into a pipe or file, each line leaves when it is printed: `normlab … | tee log` shows
        // the output as it comes, and a crash or a kill loses at most a partial line.
        if isatty(1) == 0 { setvbuf(nl_stdout(), nil, _IOLBF, 0) }
        if let reason = SIMDBackend.unsupportedCPU {
            FileHandle.standardError.write(Data("normlab: \(reason)\n".utf8))
            Self.exit(withError: ExitCode.failure)
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: FileError(error) ?? error)
        }
    }
}

let normlabVersion = "0.1.0"
