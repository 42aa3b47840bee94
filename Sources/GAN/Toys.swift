import Engine
import Foundation

/// The 2-D toy distributions of the WGAN-GP paper (gan_toy.py), with their mode centres for
/// counting covered modes.
public enum ToyDistribution: String, CaseIterable, Sendable {
    case eightGaussians = "8gaussians"
    case twentyFiveGaussians = "25gaussians"
    case swissRoll = "swissroll"

    /// Mode centres after the paper's scaling (none for the Swiss roll, which has no modes).
    public var centers: [(Double, Double)] {
        switch self {
        case .eightGaussians:
            let r = 1 / 2.0.squareRoot()
            let base: [(Double, Double)] = [(1, 0), (-1, 0), (0, 1), (0, -1), (r, r), (r, -r), (-r, r), (-r, -r)]
            return base.map { (x: Double, y: Double) -> (Double, Double) in (x * 2 / 1.414, y * 2 / 1.414) }
        case .twentyFiveGaussians:
            var centers: [(Double, Double)] = []
            for x in -2...2 {
                for y in -2...2 { centers.append((Double(2 * x) / 2.828, Double(2 * y) / 2.828)) }
            }
            return centers
        case .swissRoll:
            return []
        }
    }

    /// The standard deviation of each mode after scaling.
    public var modeStd: Double {
        switch self {
        case .eightGaussians: return 0.02 / 1.414
        case .twentyFiveGaussians: return 0.05 / 2.828
        case .swissRoll: return 0
        }
    }

    /// `count` samples `[count, 2]`, exactly as gan_toy.py draws them.
    public func sample(_ count: Int, generator: inout RandomGenerator) throws -> Tensor {
        guard count >= 0 else { throw EngineError.invalidArgument(op: "toy", message: "the count must be ≥ 0, got \(count)") }
        // Checked against the limits before any point is drawn.
        try Runtime.checkAllocation([count, 2], op: "toy")
        var values: [Float] = []
        values.reserveCapacity(2 * count)
        for _ in 0..<count {
            switch self {
            case .eightGaussians:
                let r = 1 / 2.0.squareRoot()
                let base = [(1.0, 0.0), (-1, 0), (0, 1), (0, -1), (r, r), (r, -r), (-r, r), (-r, -r)]
                let c = base[Int(generator.next() % 8)]
                // centre ×2, plus N(0, 0.02), then the batch divided by 1.414
                values += [Float((2 * c.0 + 0.02 * Double(generator.nextNormal())) / 1.414),
                           Float((2 * c.1 + 0.02 * Double(generator.nextNormal())) / 1.414)]
            case .twentyFiveGaussians:
                let x = Int(generator.next() % 5) - 2, y = Int(generator.next() % 5) - 2
                values += [Float((Double(2 * x) + 0.05 * Double(generator.nextNormal())) / 2.828),
                           Float((Double(2 * y) + 0.05 * Double(generator.nextNormal())) / 2.828)]
            case .swissRoll:
                // sklearn's make_swiss_roll(noise=0.25): t = 1.5π(1 + 2u), (t cos t, 21v, t sin t)
                // plus N(0, 0.25²); columns 0 and 2, divided by 7.5.
                let t = 1.5 * Double.pi * (1 + 2 * Double(generator.nextUniform()))
                _ = generator.nextUniform()   // the roll's height, not used in 2-D
                values += [Float((t * cos(t) + 0.25 * Double(generator.nextNormal())) / 7.5),
                           Float((t * sin(t) + 0.25 * Double(generator.nextNormal())) / 7.5)]
            }
        }
        return try Tensor(shape: [count, 2], elements: values)
    }
}
