import XCTest
import Engine
import TestSupport
@testable import GAN

final class EvaluationTests: XCTestCase {
    func testBinaryCrossEntropyMatchesItsDefinitionAndFiniteDifferences() throws {
        let logits = try Tensor([-30, -2, -0.5, 0, 0.7, 3, 30])
        let targets = try Tensor([0, 1, 0, 1, 1, 0, 1])
        // −y·log σ(l) − (1 − y)·log(1 − σ(l)), in Double; the stable form must not overflow at ±30.
        let expected = zip(logits.scalars, targets.scalars).map { l, y -> Double in
            let s = 1 / (1 + Foundation.exp(-Double(l)))
            return -Double(y) * Foundation.log(max(s, 1e-300)) - (1 - Double(y)) * Foundation.log(max(1 - s, 1e-300))
        }.reduce(0, +) / 7
        XCTAssertEqual(Double(try binaryCrossEntropy(logits: logits, targets: targets).item()), expected, accuracy: 1e-5)
        let x = try randomInput([3, 4], seed: 5, scale: 2, awayFromZero: 0.1)
        let y = try (Tensor.rand([3, 4]) .> Tensor(0.5))
        try checkGradients([x]) { try binaryCrossEntropy(logits: $0[0], targets: y) }
        try checkSecondOrder([x]) { try binaryCrossEntropy(logits: $0[0], targets: y) }
    }

    /// Two clusters of images; a generator that only makes one of them fails the bins it
    /// leaves empty, one that makes both passes.
    func testNDBFindsAMissingMode() throws {
        var rng = RandomGenerator(seed: 4)
        func cluster(_ center: Float, _ n: Int) throws -> Tensor { try Tensor.randn([n, 1, 4, 4], generator: &rng) * 0.1 + Tensor(center) }
        let real = try Tensor.concat([cluster(-1, 200), cluster(1, 200)])
        let bins = try NDBBins(real: real, bins: 4, seed: 1)
        XCTAssertEqual(bins.realShares.reduce(0, +), 1, accuracy: 1e-9)
        XCTAssertEqual(bins.realShares.filter { $0 > 0 }.count, 4, "no bin is left empty")
        let both = try Tensor.concat([cluster(-1, 150), cluster(1, 150)])
        let oneMode = try cluster(1, 300)
        XCTAssertLessThanOrEqual(try bins.statisticallyDifferentBins(both), 1)
        let halfTheBins = bins.realShares.count / 2
        XCTAssertGreaterThanOrEqual(try bins.statisticallyDifferentBins(oneMode), halfTheBins, "the missing cluster's bins and the doubled ones all differ")
        XCTAssertThrowsError(try NDBBins(real: real[0..<3], bins: 4))
    }

    func testMeanPairDistanceIsThePerPixelRMSDifference() throws {
        // Two images that differ by 0.5 everywhere: every pair is 0.5 apart.
        let images = try Tensor.concat([Tensor.zeros([1, 3, 4, 4]), Tensor.full([1, 3, 4, 4], value: 0.5)])
        XCTAssertEqual(try meanPairDistance(images, pairs: 50), 0.5, accuracy: 1e-9)
        let collapsed = try Tensor.ones([10, 3, 4, 4])
        XCTAssertEqual(try meanPairDistance(collapsed), 0)
        XCTAssertThrowsError(try meanPairDistance(collapsed[0..<1]))
    }

    /// The classifier learns the synthetic faces' labels well above the rate of always
    /// answering the commoner label, and leaves the global random stream as it was.
    func testAttributeClassifierLearnsTheSyntheticLabels() throws {
        Runtime.seed(123)
        let before = Runtime.generatorState.state
        let (classifier, accuracy) = try AttributeClassifier.forSyntheticFaces(resolution: 16, count: 1000, steps: 150)
        XCTAssertEqual(Runtime.generatorState.state.0, before.0)
        XCTAssertEqual(Runtime.generatorState.state.3, before.3)
        let faces = try syntheticFaces(count: 1000, size: 16, seed: 7000).attributes
        let majority = (0..<FaceAttributes.names.count).map { a -> Double in
            let positive = Double(faces.filter { $0.labels[a] > 0 }.count) / 1000
            return max(positive, 1 - positive)
        }
        let mean = accuracy.reduce(0, +) / Double(accuracy.count), baseline = majority.reduce(0, +) / Double(majority.count)
        print("classifier accuracy per attribute:", zip(classifier.names, accuracy).map { "\($0) \(Int(100 * $1))%" }.joined(separator: ", "))
        XCTAssertGreaterThan(mean, baseline + 0.05, "mean accuracy \(mean) against always-the-majority \(baseline)")
        let hair = ["Black_Hair", "Blond_Hair"].compactMap { classifier.names.firstIndex(of: $0) }
        for a in hair { XCTAssertGreaterThan(accuracy[a], 0.9, classifier.names[a]) }
    }

    /// Real data scores near the floor; a collapsed "generator" (one face repeated) is caught
    /// by every metric.
    func testEvaluatorSeparatesRealFromCollapsed() throws {
        let faces = try syntheticFaces(count: 256, size: 16, seed: 2).images * 2 - 1
        let evaluator = try Evaluator(real: faces, samples: 64, bins: 8)
        let baseline = try XCTUnwrap(evaluator.baseline)
        let collapsed = try evaluator.evaluate(faces[200..<201].expanded(to: [64, 3, 16, 16]))
        XCTAssertGreaterThan(baseline.diversity, 0.8)
        XCTAssertLessThan(collapsed.diversity, 0.01)
        XCTAssertGreaterThan(collapsed.ndb, baseline.ndb)
        XCTAssertGreaterThan(collapsed.slicedWasserstein, baseline.slicedWasserstein)
        XCTAssertNil(collapsed.attributeGap, "no classifier, no attribute gap")
        XCTAssertThrowsError(try Evaluator(real: faces[0..<100], samples: 64))
    }
}
