import Foundation
import XCTest
import Engine
import NN

/// The README's "Formulas (1) and (2) in code" example, kept compiling and running.
final class ReadmeExampleTests: XCTestCase {
    func testReadmeExampleRuns() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("critic-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        // (1) Spectral normalization: W_SN = W / σ̂(W), σ̂ = uᵀWv by power iteration with a persistent u.
        let critic = try SpectralNorm(Conv2d(3, 64, kernelSize: 4, stride: 2, padding: 1))
        let scores = try critic(Tensor.randn([8, 3, 32, 32]))   // one power iteration per training call
        print(critic.sigma)                                      // σ̂ of this step
        let exact = try sigmaMax(critic.weightMatrix(critic.weight.value))   // σ by Jacobi SVD
        let estimate = critic.sigma

        // (2) AdaIN: σ(y)·(x − μ(x))/σ(x) + μ(y), per sample and channel.
        let content = try Tensor.randn([1, 3, 64, 64]), style = try Tensor.randn([1, 3, 64, 64]) * 2 + 1
        let stylized = try adain(content, style: style)          // biased variance, eps 1e-5 (default)
        let port = try adain(content, style: style, variance: .unbiased)   // pytorch-AdaIN's convention

        // The WGAN-GP critic loss, with its parts.
        let d = Sequential([critic, LeakyReLU(slope: 0.2), Flatten(), try Linear(64 * 16 * 16, 1)])
        let parts = try criticLoss(critic: { try d($0) }, real: try Tensor.randn([8, 3, 32, 32]),
                                   fake: try Tensor.randn([8, 3, 32, 32]), lambda: 10)
        print(parts.wassersteinEstimate, parts.penalty, parts.gradientNorms)
        try parts.loss.backward()
        try Adam(d).step()                                       // lr 1e-4, β = (0, 0.9)
        try d.save(to: file)

        XCTAssertEqual(scores.shape, [8, 64, 16, 16])
        XCTAssertGreaterThanOrEqual(exact, Double(estimate) * (1 - 1e-6), "σ̂ is a lower bound of σ")
        XCTAssertEqual(stylized.shape, content.shape)
        XCTAssertEqual(port.shape, content.shape)
        XCTAssertTrue(FileManager.default.fileExists(atPath: file))
    }
}
