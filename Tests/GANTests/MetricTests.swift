import XCTest
import Engine
@testable import GAN

final class MetricTests: XCTestCase {
    func testPyramidLevelsAndMirroredBlur() throws {
        let constant = try Tensor.full([2, 3, 32, 32], value: 0.3)
        assertEqualAll(try binomialBlur(constant), 0.3, "a mirrored blur keeps a constant image")
        let images = try Tensor.randn([2, 3, 64, 64])
        let levels = try laplacianPyramid(images)
        XCTAssertEqual(levels.map { $0.shape[2] }, [64, 32, 16])
        // Each Laplacian level is the image minus the upsampled next level, exactly.
        let reconstructed = try levels[0] + pyramidUp(pyramidDown(images))
        XCTAssertLessThan(try abs(reconstructed - images).max().item(), 1e-5)
    }

    /// Real against real is the baseline; noise and flat images are far from faces.
    func testSlicedWassersteinSeparatesRealFromFake() throws {
        let faces = try syntheticFaces(count: 64, size: 32, seed: 3).images * 2 - 1
        let (first, second) = (try faces[0..<32], try faces[32..<64])
        let baseline = try slicedWassersteinDistance(first, second, patchesPerImage: 32, repeats: 2, directions: 64).average
        let noise = try slicedWassersteinDistance(first, Tensor.randn([32, 3, 32, 32]) * 0.5, patchesPerImage: 32, repeats: 2, directions: 64).average
        let flat = try slicedWassersteinDistance(first, first.mean(axes: [2, 3], keepDims: true).expanded(to: first.shape) + Tensor.randn(first.shape) * 0.01,
                                                 patchesPerImage: 32, repeats: 2, directions: 64).average
        print("SWD ×1e3 — real vs real: \(baseline), real vs noise: \(noise), real vs flat: \(flat)")
        // With these small samples (1,024 descriptors a set) the baseline is about a third of the
        // fakes' distance; ProGAN's larger samples lower it further.
        XCTAssertLessThan(baseline * 2, noise)
        XCTAssertLessThan(baseline * 2, flat)
        XCTAssertEqual(try slicedWassersteinDistance(first, second, patchesPerImage: 8, repeats: 1, directions: 16, seed: 9).levels,
                       try slicedWassersteinDistance(first, second, patchesPerImage: 8, repeats: 1, directions: 16, seed: 9).levels, "deterministic per seed")
        XCTAssertThrowsError(try slicedWassersteinDistance(first, Tensor.zeros([4, 3, 16, 16])))
    }

    func assertEqualAll(_ t: Tensor, _ value: Float, _ message: String) {
        XCTAssertTrue(t.scalars.allSatisfy { abs($0 - value) < 1e-6 }, message)
    }
}
