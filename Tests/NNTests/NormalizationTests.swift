import XCTest
import Engine
import NN
import TestSupport

/// Formula (2) against ../shared/vectors/adain.json, and the other normalizations.
final class NormalizationTests: XCTestCase {
    func testAdaINMatchesTheVectorsInBothConventions() throws {
        let vectors = try loadVectors("adain.json")
        guard let inputs = vectors["inputs"] as? [String: Any], let results = vectors["results"] as? [String: Any] else {
            throw TestDataError("adain.json lacks inputs or results")
        }
        let x = try tensor(inputs["x"]).requiringGrad(), y = try tensor(inputs["y"]).requiringGrad(), g = try tensor(inputs["g"])
        var report: [String] = []
        for (key, convention) in [("biased", VarianceConvention.biased), ("unbiased_pytorch_AdaIN", .unbiased)] {
            guard let expected = results[key] as? [String: Any] else { throw TestDataError("no \(key)") }
            var worst = 0.0
            let (muX, sigmaX) = try instanceStatistics(x, variance: convention)
            let (muY, sigmaY) = try instanceStatistics(y, variance: convention)
            for (actual, name) in [(muX, "mu_x"), (sigmaX, "sigma_x"), (muY, "mu_y"), (sigmaY, "sigma_y")] {
                worst = Swift.max(worst, assertClose(try actual.reshaped([2, 3]), try tensor(expected[name]), rtol: 2e-6, atol: 1e-7, "\(key) \(name)"))
            }
            let out = try adain(x, style: y, variance: convention)
            worst = Swift.max(worst, assertClose(out, try tensor(expected["out"]), rtol: 1e-5, atol: 1e-6, "\(key) out"))
            let grads = try grad(of: (g * out).sum(), wrt: [x, y])
            worst = Swift.max(worst, assertClose(grads[0], try tensor(expected["dL_dx"]), rtol: 1e-4, atol: 2e-6, "\(key) dL/dx"))
            worst = Swift.max(worst, assertClose(grads[1], try tensor(expected["dL_dy"]), rtol: 1e-4, atol: 2e-6, "\(key) dL/dy"))
            report.append("\(key) \(String(format: "%.1e", worst))")
        }
        report.append("adain_affine_z \(String(format: "%.1e", try checkAffineCase(vectors)))")
        print("adain.json: largest relative error per case: " + report.joined(separator: ", "))
    }

    /// The generator form: γ(z), β(z) from Linear maps of the latent code.
    private func checkAffineCase(_ vectors: [String: Any]) throws -> Double {
        guard let c = vectors["adain_affine_z"] as? [String: Any], let inputs = c["inputs"] as? [String: Any] else {
            throw TestDataError("no adain_affine_z")
        }
        let layer = try AdaptiveInstanceNorm(channels: 3, latentSize: 4)
        try layer.scale.weight.assign(tensor(inputs["Wg"]))
        try layer.scale.bias!.assign(tensor(inputs["bg"]))
        try layer.shift.weight.assign(tensor(inputs["Wb"]))
        try layer.shift.bias!.assign(tensor(inputs["bb"]))
        let x = try tensor(inputs["x"]).requiringGrad(), z = try tensor(inputs["z"]).requiringGrad(), g = try tensor(c["g"])
        var worst = 0.0
        worst = Swift.max(worst, assertClose(try layer.scale(z), try tensor(c["gamma"]), rtol: 1e-6, atol: 1e-7, "γ(z)"))
        worst = Swift.max(worst, assertClose(try layer.shift(z), try tensor(c["beta"]), rtol: 1e-6, atol: 1e-7, "β(z)"))
        worst = Swift.max(worst, assertClose(try instanceNorm(x), try tensor(c["x_hat"]), rtol: 1e-5, atol: 1e-6, "x̂"))
        let out = try layer(x, latent: z)
        worst = Swift.max(worst, assertClose(out, try tensor(c["out"]), rtol: 1e-5, atol: 1e-6, "out"))
        let params = [layer.scale.weight.value, layer.scale.bias!.value, layer.shift.weight.value, layer.shift.bias!.value]
        let grads = try grad(of: (g * out).sum(), wrt: [x, z] + params)
        for (gradient, key) in zip(grads, ["dL_dx", "dL_dz", "dL_dWg", "dL_dbg", "dL_dWb", "dL_dbb"]) {
            worst = Swift.max(worst, assertClose(gradient, try tensor(c[key]), rtol: 1e-4, atol: 2e-6, "affine \(key)"))
        }
        return worst
    }

    func testAdaINGivesTheContentTheStylesStatistics() throws {
        var rng = RandomGenerator(seed: 12)
        let content = try Tensor.randn([2, 3, 8, 8], generator: &rng) * 3 + 1
        let style = try Tensor.randn([2, 3, 5, 7], generator: &rng) * 0.5 - 2
        for convention in VarianceConvention.allCases {
            let out = try adain(content, style: style, variance: convention)
            let unbiased = convention == .unbiased
            assertClose(try out.mean(axes: [2, 3]), try style.mean(axes: [2, 3]), rtol: 1e-4, atol: 1e-4, "\(convention) mean")
            assertClose(try out.std(axes: [2, 3], unbiased: unbiased), try style.std(axes: [2, 3], unbiased: unbiased),
                        rtol: 1e-4, atol: 1e-4, "\(convention) std")
        }
    }

    func testNormalizationGradientsFirstAndSecondOrder() throws {
        let x = try randomInput([2, 3, 3, 4], seed: 20)
        let y = try randomInput([2, 3, 4, 3], seed: 21, scale: 2)
        try checkGradients([x, y]) { try adain($0[0], style: $0[1]) }
        try checkSecondOrder([x, y]) { try adain($0[0], style: $0[1]) }
        try checkGradients([x, y]) { try adain($0[0], style: $0[1], variance: .unbiased) }

        Runtime.seed(5)
        let batchNorm = try BatchNorm2d(3)
        try checkGradients([x]) { try batchNorm($0[0]) }
        try checkSecondOrder([x]) { try batchNorm($0[0]) }
        let instanceNorm = try InstanceNorm2d(3, affine: true)
        try checkGradients([x]) { try instanceNorm($0[0]) }
        let layerNorm = try LayerNorm([3, 3, 4])
        try checkGradients([x]) { try layerNorm($0[0]) }
        try checkSecondOrder([x]) { try layerNorm($0[0]) }
        let adaptive = try AdaptiveInstanceNorm(channels: 3, latentSize: 5)
        let z = try randomInput([2, 5], seed: 22)
        try checkGradients([x, z]) { try adaptive($0[0], latent: $0[1]) }
        try checkSecondOrder([x, z]) { try adaptive($0[0], latent: $0[1]) }
    }

    func testBatchNormTrainingAndEvaluation() throws {
        let bn = try BatchNorm2d(2)
        var rng = RandomGenerator(seed: 13)
        let x = try Tensor.randn([4, 2, 3, 3], generator: &rng) * 2 + 5
        let y = try bn(x)
        assertClose(try y.mean(axes: [0, 2, 3]), try Tensor.zeros([2]), atol: 1e-5, "batch mean")
        assertClose(try y.variance(axes: [0, 2, 3]), try Tensor.ones([2]), rtol: 1e-4, atol: 1e-4, "batch variance")
        // Running estimates move 10% of the way, the variance unbiased (n = 36 per channel).
        let mean = try x.mean(axes: [0, 2, 3]), variance = try x.variance(axes: [0, 2, 3], unbiased: true)
        assertClose(bn.runningMean.value, try mean * 0.1, rtol: 1e-5, atol: 1e-6, "running mean")
        assertClose(bn.runningVar.value, try variance * 0.1 + 0.9, rtol: 1e-5, atol: 1e-6, "running variance")
        bn.eval()
        let expected = try (x - bn.runningMean.value.reshaped([1, 2, 1, 1])) / sqrt(bn.runningVar.value.reshaped([1, 2, 1, 1]) + 1e-5)
        assertClose(try bn(x), expected, rtol: 1e-5, atol: 1e-5, "evaluation uses the running estimates")
        bn.train()
        XCTAssertTrue(bn.isTraining)
    }

    func testLayerErrorsNameTheShapes() throws {
        let bn = try BatchNorm2d(3)
        XCTAssertThrowsError(try bn(Tensor.ones([2, 4, 3, 3]))) {
            XCTAssertEqual("\($0)", "BatchNorm2d: shapes [2, 4, 3, 3] do not fit: expected images [N, 3, H, W]")
        }
        XCTAssertThrowsError(try bn(Tensor.ones([1, 3, 1, 1]))) {
            XCTAssertEqual("\($0)", "BatchNorm2d: needs more than one value per channel in training (got shape [1, 3, 1, 1])")
        }
        XCTAssertThrowsError(try adain(Tensor.ones([1, 3, 4, 4]), style: Tensor.ones([1, 2, 4, 4])))
        XCTAssertThrowsError(try Flatten()(Tensor(1)))
    }
}
