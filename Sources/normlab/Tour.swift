import ArgumentParser
import Engine

/// A short tour of the engine with real computations: printing, broadcasting, gradients,
/// the second-order gradient the WGAN-GP penalty needs, and an error message.
struct Tour: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A two-minute tour of the tensor engine and its autograd.")

    @Option(help: "Seed of the random tensors.")
    var seed: UInt64 = 0

    func run() throws {
        Runtime.seed(seed)
        section("A tensor prints as NumPy prints it (precision 4)")
        let W = try Tensor.randn([3, 4])
        show("let W = try Tensor.randn([3, 4])", W)

        section("Broadcasting follows NumPy's rules")
        let column = try Tensor([[1], [2]]), row = try Tensor([10, 20, 30])
        show("try Tensor([[1], [2]]) + Tensor([10, 20, 30])", try column + row)

        section("Gradients: y = Σ x³, so ∂y/∂x = 3x²")
        let x = try Tensor([[1, 2], [3, 4]]).requiringGrad()
        let y = try pow(x, 3).sum()
        let dy = try grad(of: y, wrt: [x], createGraph: true)[0]
        show("grad(of: y, wrt: [x], createGraph: true)[0]", dy)

        section("Gradients of gradients: ∂/∂x Σ 3x² = 6x")
        show("grad(of: dy.sum(), wrt: [x])[0]", try grad(of: dy.sum(), wrt: [x])[0])

        section("The WGAN-GP penalty (‖∇ₓD(x)‖ − 1)² of a tiny critic, differentiated by its weights")
        let weight = try (Tensor.randn([4, 3, 3, 3]) * 0.3).requiringGrad()
        let input = try Tensor.randn([2, 3, 8, 8]).requiringGrad()
        let d = try leakyRelu(conv2d(input, weight, stride: 2, padding: 1), slope: 0.2).mean(axes: [1, 2, 3])
        let gx = try grad(of: d.sum(), wrt: [input], createGraph: true)[0]
        let penalty = try pow(gx.reshaped([2, -1]).norm(axes: [1]) - 1, 2).mean()
        let dWeight = try grad(of: penalty, wrt: [weight])[0]
        print("penalty = \(try penalty.item())")
        print("∂penalty/∂W has shape \(dWeight.shape) and norm \(try dWeight.norm().item())")

        section("Mistakes are errors that name the shapes, never crashes")
        do {
            _ = try W + Tensor.ones([3])
        } catch {
            print("try W + Tensor.ones([3])")
            print("error: \(error)")
        }
        print("\nRun `swift test` to check every gradient against finite differences.")
    }

    private func section(_ title: String) { print("\n── \(title)") }
    private func show(_ code: String, _ value: Tensor) { print(code); print(value) }
}
