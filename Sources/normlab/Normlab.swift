import ArgumentParser

@main
struct Normlab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "normlab",
        abstract: "Learn, verify and demonstrate the normalizations of a small GAN study: spectral norm, AdaIN, WGAN-GP.",
        discussion: """
            Normlab stands on a readable pure-Swift tensor engine with higher-order autograd.
            Run `normlab tour` (the default) to see it work.
            """,
        version: normlabVersion,
        subcommands: [Tour.self, Show.self, Bench.self, Figures.self, Version.self],
        defaultSubcommand: Tour.self)
}

let normlabVersion = "0.1.0"
