import ArgumentParser

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
        subcommands: [Start.self, LessonCommand.self, Repl.self, Run.self, Docs.self, DataCommand.self, Train.self, ExperimentCommand.self, Toy.self, Tour.self, Show.self, Bench.self,
                      Figures.self, Version.self],
        defaultSubcommand: Start.self)
}

let normlabVersion = "0.1.0"
