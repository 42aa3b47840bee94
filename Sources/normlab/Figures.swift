import ArgumentParser
import Engine
import Foundation
import GAN
import NN
import Preview

/// Regenerates the README's pictures from real computations, so every picture in Assets/ is
/// made by Normlab itself.
struct Figures: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Regenerate the README's pictures under Assets/.")

    @Option(help: "Directory to write into.")
    var out = "Assets"

    func run() throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        Runtime.seed(2024)
        try powerIterationFigure()
        try adainFigure()
        // The first 48 synthetic faces of seed 0 at 64×64, as `normlab data synth` writes them.
        let (faces, _) = try syntheticFaces(count: 48, size: 64, seed: 0)
        try savePNG(grid(faces, rows: 4, padding: 2), to: "\(out)/synthetic-faces.png")
        print("wrote \(out)/power-iteration.png, \(out)/power-iteration.txt, \(out)/adain.png, \(out)/adain-preview.txt, \(out)/synthetic-faces.png")
    }

    /// σ̂ after k power iterations from a fresh u, as a fraction of the exact σ (Jacobi SVD), for
    /// a random weight of the critic's conv2 shape, 128 × 64·3·3: σ₂/σ₁ is close to 1 there,
    /// which is why one iteration per step only works with a persistent u.
    func powerIterationFigure() throws {
        let w = try Tensor.randn([128, 576])
        let decomposition = try svd(w)
        let sigma = decomposition.s[0]
        let u0 = try normalize(Tensor.randn([128])), v0 = try normalize(Tensor.randn([576]))
        let steps = Array(1...60)
        var classic: [Double] = [], parametrization: [Double] = []
        for k in steps {
            classic.append(Double(try powerIteration(w, iterations: k, u: u0, order: .classic).sigma.item()) / sigma)
            parametrization.append(Double(try powerIteration(w, iterations: k, v: v0, order: .parametrization).sigma.item()) / sigma)
        }
        let ratio = decomposition.s[1] / sigma
        let plot = LinePlot(title: "power iteration: σ̂ / σ for a 128×576 weight (σ₂/σ₁ = \(String(format: "%.3f", ratio)))",
                            xLabel: "iterations k", yLabel: "σ̂ / σ",
                            series: [Series("v then u (Miyato, torch legacy)", y: classic, x: steps.map(Double.init)),
                                     Series("u then v (torch parametrization)", y: parametrization, x: steps.map(Double.init)),
                                     Series("exact σ (SVD)", y: steps.map { _ in 1 }, x: steps.map(Double.init), color: .gray)])
        try plot.save(to: "\(out)/power-iteration.png", width: 900, height: 480)
        try plot.terminal(width: 72, height: 14, colors: .ascii).write(toFile: "\(out)/power-iteration.txt", atomically: true, encoding: .utf8)
    }

    /// Formula (2) on pictures: a content pattern takes each colour channel's mean and standard
    /// deviation from a style image.
    func adainFigure() throws {
        let size = 160
        let coordinates = try Tensor.linspace(-1, 1, count: size)
        let x = try coordinates.reshaped([1, size]).expanded(to: [size, size])
        let y = try coordinates.reshaped([size, 1]).expanded(to: [size, size])
        let radius = try sqrt(x * x + y * y)
        // Content: concentric rings with a diagonal shading, the same in each channel but for phase.
        let content = try Tensor.stack((0..<3).map { c in try sin(radius * 18 + Tensor(Float(c))) * 0.35 + x * 0.15 + 0.5 }).unsqueezed(axis: 0)
        // Style: warm noisy texture, each channel with its own mean and spread.
        let noise = try Tensor.randn([1, 3, size, size])
        let style = try noise * Tensor([0.22, 0.12, 0.06]).reshaped([1, 3, 1, 1]) + Tensor([0.75, 0.42, 0.2]).reshaped([1, 3, 1, 1])
        let stylized = try adain(content, style: style)
        let panel = try grid(clamp(Tensor.concat([content, style, stylized]), min: 0, max: 1), rows: 1, padding: 4)
        try savePNG(panel, to: "\(out)/adain.png")
        try Preview.show(panel, columns: 72, mode: .ascii).write(toFile: "\(out)/adain-preview.txt", atomically: true, encoding: .utf8)
    }
}
