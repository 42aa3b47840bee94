import Foundation
import XCTest
@testable import Engine
import TestSupport

/// The WGAN-GP critic loss and its double backprop against ../shared/vectors/wgan_gp.json
/// (float64 references by hand in NumPy, checked against PyTorch and finite differences).
final class WGANGPVectorTests: XCTestCase {
    func testMLPCritic() throws {
        // D(x) = W2 · leaky_relu(W1 x + b1, 0.2) + b2, rows of x are samples.
        try checkCase("mlp_6_5_1", parameterNames: ["W1", "b1", "W2", "b2"]) { x, p in
            let h = try leakyRelu(matmul(x, p["W1"]!.T) + p["b1"]!, slope: 0.2)
            return try (matmul(h, p["W2"]!.T) + p["b2"]!).reshaped([-1])
        }
    }

    func testConvCritic() throws {
        // D(x) = W2 · flatten(leaky_relu(conv2d(x, Wc, bc, stride 1, pad 1), 0.2)) + b2
        try checkCase("conv_2x4x4", parameterNames: ["Wc", "bc", "W2", "b2"]) { x, p in
            let h = try leakyRelu(conv2d(x, p["Wc"]!, bias: p["bc"]!, padding: 1), slope: 0.2)
            return try (matmul(h.reshaped([x.shape[0], -1]), p["W2"]!.T) + p["b2"]!).reshaped([-1])
        }
    }

    private func checkCase(_ name: String, parameterNames: [String],
                           critic: (Tensor, [String: Tensor]) throws -> Tensor) throws {
        let vectors = try loadVectors("wgan_gp.json")
        guard let cases = vectors["cases"] as? [[String: Any]], let c = cases.first(where: { $0["name"] as? String == name }),
              let parameters = c["params"] as? [String: Any] else {
            throw TestDataError("wgan_gp.json has no case \(name)")
        }
        var p: [String: Tensor] = [:]
        for key in parameterNames { p[key] = try tensor(parameters[key]).requiringGrad() }
        let params = parameterNames.map { p[$0]! }
        let real = try tensor(c["real"]), fake = try tensor(c["fake"]), alpha = try tensor(c["alpha"])

        // x̂ = α·real + (1 − α)·fake with α per sample, broadcast over the sample's axes.
        let alphaShape = Shape([alpha.count] + Array(repeating: 1, count: real.rank - 1))
        let a = try alpha.reshaped(alphaShape)
        let xhat = try (a * real + (1 - a) * fake).requiringGrad()
        let dReal = try critic(real, p), dFake = try critic(fake, p), dXhat = try critic(xhat, p)
        let gradXhat = try grad(of: dXhat.sum(), wrt: [xhat], createGraph: true)[0]
        let norms = try gradXhat.reshaped([real.shape[0], -1]).norm(axes: [1])
        let gp = try pow(norms - 1, 2).mean()
        let wdist = try dFake.mean() - dReal.mean()
        let loss = try wdist + 10 * gp

        var worst: [String: Double] = [:]
        func compare(_ actual: Tensor, _ key: String, _ expected: Any?, rtol: Double = 2e-5, atol: Double = 2e-6) throws {
            let e = try tensor(expected)
            worst[key] = try assertClose(actual.reshaped(e.shape), e, rtol: rtol, atol: atol, "\(name).\(key)")
        }
        try compare(xhat, "xhat", c["xhat"])
        try compare(dReal, "D_real", c["D_real"])
        try compare(dFake, "D_fake", c["D_fake"])
        try compare(dXhat, "D_xhat", c["D_xhat"])
        try compare(gradXhat, "grad_xhat", c["grad_xhat"])
        try compare(norms, "grad_norms", c["grad_norms"])
        try compare(wdist, "wdist_term", c["wdist_term"])
        try compare(gp, "gp", c["gp"])
        try compare(loss, "loss", c["loss"])

        // Parameter gradients: double backprop through the penalty.
        for (quantity, key) in [(loss, "dloss_dparams"), (gp, "dgp_dparams"), (wdist, "dwdist_dparams")] {
            guard let expected = c[key] as? [String: Any] else { throw TestDataError("missing \(key)") }
            // ∂D/∂x does not depend on the critic's last bias, so the penalty does not reach it:
            // as PyTorch with allow_unused=True, its gradient is zeros.
            let grads = try grad(of: quantity, wrt: params, allowUnused: true)
            for (parameter, g) in zip(parameterNames, grads) {
                try compare(g, "\(key).\(parameter)", expected[parameter], rtol: 5e-5, atol: 5e-6)
            }
        }
        let report = worst.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.1e", $0.value))" }
        print("wgan_gp.json \(name): largest relative error per quantity: " + report.joined(separator: ", "))
        print("wgan_gp.json \(name): largest overall: \(String(format: "%.2e", worst.values.max() ?? 0))")
    }
}

/// The committed copies of the vectors must be the shared ones.
final class VectorFileTests: XCTestCase {
    func testCopiesMatchSharedVectors() throws {
        let shared = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/vectors")
        guard FileManager.default.fileExists(atPath: shared.path) else {
            throw XCTSkip("../shared/vectors is not beside this checkout; the committed copies are used as they are")
        }
        for name in ["spectral_norm.json", "adain.json", "wgan_gp.json", "adam.json"] {
            let ours = try Data(contentsOf: packageRoot.appendingPathComponent("Tests/Vectors/\(name)"))
            let theirs = try Data(contentsOf: shared.appendingPathComponent(name))
            XCTAssertEqual(ours, theirs, "Tests/Vectors/\(name) differs from ../shared/vectors/\(name): copy it again")
        }
    }
}
