import XCTest
import Engine
import NN
import TestSupport

final class WGANGPLossTests: XCTestCase {
    /// The critics of ../shared/vectors/wgan_gp.json built from NN modules, the loss from
    /// `criticLoss`, and the parameter gradients from `backward()` (double backprop).
    func testCriticLossOfAnMLPCriticMatchesTheVectors() throws {
        let hidden = try Linear(6, 5), output = try Linear(5, 1)
        try checkCase("mlp_6_5_1", critic: Sequential([hidden, LeakyReLU(slope: 0.2), output]),
                      parameters: ["W1": hidden.weight, "b1": hidden.bias!, "W2": output.weight, "b2": output.bias!])
    }

    func testCriticLossOfAConvCriticMatchesTheVectors() throws {
        let conv = try Conv2d(2, 3, kernelSize: 3, padding: 1), linear = try Linear(48, 1)
        try checkCase("conv_2x4x4", critic: Sequential([conv, LeakyReLU(slope: 0.2), Flatten(), linear]),
                      parameters: ["Wc": conv.weight, "bc": conv.bias!, "W2": linear.weight, "b2": linear.bias!])
    }

    private func checkCase(_ name: String, critic: Sequential, parameters: [String: Parameter]) throws {
        let vectors = try loadVectors("wgan_gp.json")
        guard let cases = vectors["cases"] as? [[String: Any]], let c = cases.first(where: { $0["name"] as? String == name }),
              let p = c["params"] as? [String: Any], let expectedGrads = c["dloss_dparams"] as? [String: Any] else {
            throw TestDataError("wgan_gp.json has no \(name) case")
        }
        for (key, parameter) in parameters { try parameter.assign(tensor(p[key]).reshaped(parameter.shape)) }
        let parts = try criticLoss(critic: { try critic($0).reshaped([-1]) }, real: tensor(c["real"]), fake: tensor(c["fake"]),
                                   lambda: 10, epsilon: tensor(c["alpha"]))
        assertClose(parts.loss, Tensor(Float(c["loss"] as? Double ?? .nan)), rtol: 1e-6, atol: 1e-7, "\(name) loss")
        assertClose(parts.penalty, Tensor(Float(c["gp"] as? Double ?? .nan)), rtol: 1e-6, atol: 1e-7, "\(name) penalty")
        assertClose(try -parts.wassersteinEstimate, Tensor(Float(c["wdist_term"] as? Double ?? .nan)), rtol: 1e-6, atol: 1e-7,
                    "\(name) mean D(fake) − mean D(real)")
        assertClose(parts.gradientNorms, try tensor(c["grad_norms"]), rtol: 1e-6, atol: 1e-7, "\(name) gradient norms")
        assertClose(parts.criticReal, try tensor(c["D_real"]), rtol: 1e-6, atol: 1e-7, "\(name) D(real)")

        try parts.loss.backward()
        for (key, parameter) in parameters {
            let expected = try tensor(expectedGrads[key])
            assertClose(try XCTUnwrap(parameter.grad).reshaped(expected.shape), expected, rtol: 5e-5, atol: 5e-6, "\(name) ∂loss/∂\(key)")
        }
    }

    func testRootEpsilonAndLambda() throws {
        var rng = RandomGenerator(seed: 30)
        let real = try Tensor.randn([4, 3], generator: &rng), fake = try Tensor.randn([4, 3], generator: &rng)
        let w = try Tensor([[1.0], [2.0], [-2.0]])
        let critic = { (x: Tensor) throws -> Tensor in try matmul(x, w) }  // ‖∇D‖ = ‖w‖ = 3 everywhere
        let parts = try criticLoss(critic: critic, real: real, fake: fake, lambda: 2, rootEpsilon: 7)
        XCTAssertEqual(try parts.gradientNorms.scalars, [4, 4, 4, 4])    // √(9 + 7)
        XCTAssertEqual(try parts.penalty.item(), 9, accuracy: 1e-5)      // (4 − 1)²
        XCTAssertEqual(try parts.loss.item(), try (2 * parts.penalty - parts.wassersteinEstimate).item(), accuracy: 1e-5)
        XCTAssertEqual(try generatorLoss(criticFake: Tensor([1, 3])).item(), -2)
    }
}

final class OptimizerTests: XCTestCase {
    /// Adam's trajectory on f(x) = ½xᵀAx − bᵀx against ../shared/vectors/adam.json.
    func testAdamFollowsTheVectors() throws {
        let vectors = try loadVectors("adam.json")
        let a = try tensor(vectors["A"]), b = try tensor(vectors["b"])
        guard let cases = vectors["cases"] as? [[String: Any]] else { throw TestDataError("no cases") }
        var report: [String] = []
        for c in cases {
            guard let name = c["name"] as? String, let lr = c["lr"] as? Double, let betas = c["betas"] as? [Double],
                  let eps = c["eps"] as? Double, let steps = c["steps"] as? [[String: Any]] else { throw TestDataError("bad case") }
            let x = Parameter(try tensor(vectors["x0"]))
            let adam = Adam([("x", x)], learningRate: Float(lr), betas: (betas[0], betas[1]), eps: Float(eps))
            var worst = 0.0
            for step in steps {
                adam.zeroGrad()
                let f = try Tensor(0.5) * (x.value * matmul(a, x.value)).sum() - (b * x.value).sum()
                try f.backward()
                worst = Swift.max(worst, assertClose(try XCTUnwrap(x.grad), try tensor(step["grad"]), rtol: 1e-5, atol: 1e-6, "\(name) gradient"))
                try adam.step()
                let state = try adam.stateDict()
                worst = Swift.max(worst, assertClose(x.value, try tensor(step["x"]), rtol: 1e-6, atol: 1e-7, "\(name) x at step \(step["step"] ?? "?")"))
                worst = Swift.max(worst, assertClose(try XCTUnwrap(state.tensors["state.0.exp_avg"]), try tensor(step["m"]), rtol: 1e-5, atol: 1e-7, "\(name) m"))
                worst = Swift.max(worst, assertClose(try XCTUnwrap(state.tensors["state.0.exp_avg_sq"]), try tensor(step["v"]), rtol: 1e-5, atol: 1e-9, "\(name) v"))
            }
            report.append("\(name) \(String(format: "%.1e", worst))")
        }
        print("adam.json: largest relative error per case: " + report.joined(separator: ", "))
    }

    func testAdamStateRoundTripContinuesIdentically() throws {
        Runtime.seed(6)
        let model = try Linear(3, 2)
        let x = try Tensor.randn([5, 3])
        func loss() throws -> Tensor { try pow(model(x), 2).mean() }
        let adam = Adam(model, learningRate: 1e-2)
        for _ in 0..<3 { adam.zeroGrad(); try loss().backward(); try adam.step() }
        let savedModel = model.stateDict(), savedOptimizer = try adam.stateDict()
        adam.zeroGrad(); try loss().backward(); try adam.step()
        let expected = model.stateDict()

        try model.load(stateDict: savedModel)
        let resumed = Adam(model, learningRate: 1e-2)
        try resumed.load(stateDict: savedOptimizer)
        resumed.zeroGrad(); try loss().backward(); try resumed.step()
        for (name, value) in model.stateDict() { XCTAssertEqual(value.scalars, expected[name]?.scalars, name) }
        XCTAssertEqual(resumed.stepCount, 4)
    }

    func testSGDWithMomentum() throws {
        let x = Parameter(try Tensor([1.0]))
        let sgd = SGD([("x", x)], learningRate: 0.1, momentum: 0.5)
        for _ in 0..<2 { sgd.zeroGrad(); try (x.value * x.value).sum().backward(); try sgd.step() }
        // g₁ = 2, x = 0.8; g₂ = 1.6, velocity 0.5·2 + 1.6 = 2.6, x = 0.8 − 0.26 = 0.54
        XCTAssertEqual(try x.value.item(), 0.54, accuracy: 1e-6)
    }
}
