import Foundation
import XCTest
import Engine
import NN
import TestSupport

/// Formula (1): power iteration against ../shared/vectors/spectral_norm.json and exact SVD.
final class SpectralNormTests: XCTestCase {
    func testPowerIterationMatchesTheVectors() throws {
        let vectors = try loadVectors("spectral_norm.json")
        guard let cases = vectors["cases"] as? [[String: Any]] else { throw TestDataError("no cases") }
        var report: [String] = []
        for c in cases {
            let name = c["name"] as? String ?? "?"
            guard let matrixShape = c["W_matrix_shape"] as? [Int] else { throw TestDataError("no W_matrix_shape") }
            let w = try tensor(c["W"]).reshaped(Shape(matrixShape))
            let u0 = try tensor(c["u0"]), v0 = try tensor(c["v0"])
            var worst = 0.0
            for (key, order) in [("paper_legacy", PowerIterationOrder.classic), ("parametrizations", .parametrization)] {
                guard let runs = c[key] as? [String: Any] else { throw TestDataError("no \(key)") }
                for k in [1, 2, 5, 20, 100] {
                    guard let expected = runs[String(k)] as? [String: Any], let sigma = expected["sigma"] as? Double else {
                        throw TestDataError("\(name) \(key) has no k = \(k)")
                    }
                    let result = try order == .classic ? powerIteration(w, iterations: k, u: u0, order: order)
                                                       : powerIteration(w, iterations: k, v: v0, order: order)
                    let what = "\(name) \(key) k=\(k)"
                    worst = Swift.max(worst, assertClose(result.sigma, Tensor(Float(sigma)), rtol: 2e-6, atol: 0, what + " σ̂"))
                    worst = Swift.max(worst, assertClose(result.u, try tensor(expected["u"]), rtol: 1e-5, atol: 2e-6, what + " u"))
                    worst = Swift.max(worst, assertClose(result.v, try tensor(expected["v"]), rtol: 1e-5, atol: 2e-6, what + " v"))
                    if let wOverSigma = expected["W_over_sigma"] {
                        let normalized = try (w / result.sigma).reshaped(try tensor(wOverSigma).shape)
                        worst = Swift.max(worst, assertClose(normalized, try tensor(wOverSigma), rtol: 2e-6, atol: 1e-7, what + " W/σ̂"))
                    }
                }
            }
            // The exact singular values, by Jacobi SVD.
            let s = try svd(w).s
            let expectedS = try tensor(c["singular_values_svd"])
            worst = Swift.max(worst, assertClose(try Tensor(s.map(Float.init)), expectedS, rtol: 1e-6, atol: 1e-7, "\(name) singular values"))
            XCTAssertEqual(try sigmaMax(w), c["sigma_exact"] as? Double ?? .nan, accuracy: 1e-6 * (c["sigma_exact"] as? Double ?? 1))
            report.append("\(name) \(String(format: "%.1e", worst))")
        }
        print("spectral_norm.json: largest relative error per case: " + report.joined(separator: ", "))
    }

    func testJacobiSVDReconstructsTheMatrix() throws {
        var rng = RandomGenerator(seed: 8)
        for shape in [[5, 3], [3, 5], [6, 6], [1, 4]] as [[Int]] {
            let w = try Tensor.randn(Shape(shape), generator: &rng)
            let (u, s, v) = try svd(w)
            let k = s.count
            let reconstructed = try matmul(u[TensorIndex.all, 0..<k] * Tensor(s.map(Float.init)), v[TensorIndex.all, 0..<k].transposed())
            assertClose(reconstructed, w, rtol: 1e-5, atol: 1e-5, "U·S·Vᵀ for \(shape)")
            XCTAssertEqual(s, s.sorted(by: >))
        }
    }

    func testPowerIterationConvergesToTheExactSigma() throws {
        var rng = RandomGenerator(seed: 9)
        let w = try Tensor.randn([20, 12], generator: &rng)
        let exact = try sigmaMax(w)
        let estimate = try powerIteration(w, iterations: 500).sigma.item()
        XCTAssertEqual(Double(estimate), exact, accuracy: 1e-5 * exact)
    }

    func testSpectralNormOfAConvLayerApproachesOne() throws {
        Runtime.seed(1)
        let sn = try SpectralNorm(Conv2d(3, 8, kernelSize: 3, padding: 1))
        let x = try Tensor.randn([2, 3, 5, 5])
        var sigmas: [Double] = []
        for _ in 0..<60 {
            _ = try sn(x)
            let normalized = try sn.weightMatrix(sn.layer.weight.value / Tensor(sn.sigma))
            sigmas.append(try sigmaMax(normalized))
        }
        // σ̂ is a lower bound, so ‖W/σ̂‖ starts above 1 and falls to 1 as u converges.
        XCTAssertGreaterThan(sigmas[0], 1.0001)
        XCTAssertEqual(sigmas.last!, 1, accuracy: 1e-4)
        XCTAssertEqual(Double(sn.sigma), try sigmaMax(sn.weightMatrix(sn.layer.weight.value)), accuracy: 1e-4 * Double(sn.sigma))
    }

    func testOneIterationPerTrainingCallAndNoneInEvaluation() throws {
        Runtime.seed(2)
        let sn = try SpectralNorm(Linear(6, 4))
        let x = try Tensor.randn([3, 6])
        let u0 = sn.u.value
        _ = try sn(x)
        let expected = try powerIteration(sn.layer.weight.value, iterations: 1, u: u0)
        assertClose(sn.u.value, expected.u, rtol: 1e-6, atol: 1e-7, "u after one call")
        sn.eval()
        let frozen = sn.u.value
        _ = try sn(x)
        XCTAssertEqual(sn.u.value.scalars, frozen.scalars, "evaluation runs no power iteration")
        XCTAssertEqual(sn.sigma, try expected.sigma.item(), accuracy: 1e-6)
    }

    func testGradientFlowsThroughTheWeightOnlyWithUAndVConstant() throws {
        Runtime.seed(3)
        let sn = try SpectralNorm(Conv2d(2, 3, kernelSize: 3, stride: 2, padding: 1))
        sn.eval()
        let x = try Tensor.randn([2, 2, 5, 5])
        let (u, v) = (sn.u.value, sn.v.value)
        // W ↦ layer(x, W / (uᵀ·mat(W)·v)), with u and v fixed: first and second order.
        let f = { (p: [Tensor]) throws -> Tensor in
            let sigma = try (u * matmul(sn.layer.weightMatrix(p[0]), v)).sum()
            return try tanh(sn.layer.forward(x, weight: p[0] / sigma))
        }
        try checkGradients([sn.layer.weight.value.detached()], rtol: 3e-3, atol: 3e-3, f)
        try checkSecondOrder([sn.layer.weight.value.detached()], rtol: 3e-3, atol: 3e-3, f)
        // The module's own backward gives the same gradient.
        try sn(x).sum().backward()
        let w = sn.layer.weight.value.detached().requiringGrad()
        let direct = try grad(of: sn.layer.forward(x, weight: w / (u * matmul(sn.layer.weightMatrix(w), v)).sum()).sum(), wrt: [w])[0]
        assertClose(try XCTUnwrap(sn.layer.weight.grad), direct, rtol: 1e-5, atol: 1e-6, "module gradient")
    }

    func testTransposedConvolutionUsesOutputChannelsAsRows() throws {
        let layer = try ConvTranspose2d(8, 3, kernelSize: 4, stride: 2, padding: 1)
        XCTAssertEqual(try layer.weightMatrix(layer.weight.value).shape, [3, 8 * 16])
        let sn = try SpectralNorm(layer, warmup: 15, order: .parametrization)
        XCTAssertEqual(sn.u.value.shape, [3])
        XCTAssertEqual(Set(sn.stateDict().keys), ["weight_orig", "bias", "weight_u", "weight_v"], "torch.nn.utils.spectral_norm's names")
    }

    func testWarmupBringsSigmaCloseBeforeTraining() throws {
        Runtime.seed(4)
        let sn = try SpectralNorm(Linear(64, 32), warmup: 200)
        sn.eval()
        _ = try sn(Tensor.zeros([1, 64]))
        XCTAssertEqual(Double(sn.sigma), try sigmaMax(sn.layer.weight.value), accuracy: 1e-3 * Double(sn.sigma))
    }
}
