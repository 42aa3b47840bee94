import ArgumentParser
import Dispatch
import Engine
import Foundation
import GAN
import Preview
import REPL

/// The WGAN-GP paper's 2-D toy, trained live in the terminal: real and generated points, the
/// critic's estimate, the penalty and the modes covered, redrawn as it learns.
struct Toy: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train the WGAN-GP toy (8 Gaussians, 25 Gaussians, Swiss roll) live in the terminal.",
                                                    discussion: "Example: swift run -c release normlab toy --dataset 8gaussians --plot toy.png")
    @Option(help: "8gaussians, 25gaussians or swissroll.") var dataset = "8gaussians"
    @Option(help: "Generator iterations (each with 5 critic steps).") var iterations = 1500
    @Option(help: "Redraw every N iterations.") var every = 100
    @Option(help: "Width of the hidden layers: 128 trains at about 28 iterations a second on 2 cores; the paper used 512 (about 4).") var hidden = 128
    @Option(help: "Seed.") var seed: UInt64 = 0
    @Option(help: "At the end, write real and generated points over the critic's values to this PNG.") var plot: String?

    func run() throws {
        guard let distribution = ToyDistribution(rawValue: dataset) else {
            throw ValidationError("--dataset is one of " + ToyDistribution.allCases.map(\.rawValue).joined(separator: ", "))
        }
        installInterruptHandler()
        let toy = try ToyGAN(distribution, hidden: hidden, seed: seed)
        let terminal = isatty(STDOUT_FILENO) == 1
        let colors = ColorMode.detect()
        var rng = RandomGenerator(seed: seed &+ 99)
        let start = DispatchTime.now().uptimeNanoseconds
        var last = (wasserstein: Float(0), penalty: Float(0))
        var done = 0
        for i in 1...max(1, iterations) {
            last = try toy.step()
            done = i
            let stop = sharedInterrupt.isRequested
            if i % max(1, every) == 0 || i == iterations || stop {
                let report = try toy.report(iteration: i, last: last, samples: 512, real: &rng)
                let rate = Double(i) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                if terminal { print("\u{1B}[H\u{1B}[2J" + report.chart.terminal(width: 60, height: 22, colors: colors)) }
                print(report.line + String(format: " (%d/%d, %.1f it/s)", i, iterations, rate))
            }
            if stop { print("stopped by Ctrl-C"); break }
        }
        if let plot {
            let fake = try toy.samples(1024), real = try distribution.sample(1024, generator: &rng)
            // Generated points first, real ones on top; the background is the critic's value.
            let chart = ScatterPlot(title: "\(dataset), \(done) iterations", series: [
                (name: "generated", points: points(fake), color: RGB(255, 127, 14)),
                (name: "real", points: points(real), color: RGB(20, 20, 20))],
                heatmap: try toy.criticSurface(resolution: 96), xRange: (-3, 3), yRange: (-3, 3))
            try chart.save(to: plot)
            print("wrote \(plot)")
        }
    }
}
