import Engine
import Foundation
import NN

// Metrics that need no pretrained network. Each compares generated images with real ones and
// comes with the value real data scores against itself, so a number can be read:
// - the sliced Wasserstein distance (Metrics.swift): how far the patch statistics are;
// - NDB: the share of k-means bins of the real data whose occupancy the generator gets wrong;
// - diversity: the mean distance between two generated images, relative to two real ones;
// - attribute gap: how far the generated faces' attribute frequencies are from the data's, as
//   judged by a classifier trained here on the labelled synthetic faces.
// A collapsed generator shows up in all four: few bins filled, low diversity, skewed attributes.

/// Binary cross-entropy of logits against targets in {0, 1}, averaged:
/// mean(max(l, 0) − l·y + log(1 + e^−|l|)), the stable form of −y·log σ(l) − (1 − y)·log(1 − σ(l)).
public func binaryCrossEntropy(logits l: Tensor, targets y: Tensor) throws -> Tensor {
    try (relu(l) - l * y + log(exp(-abs(l)) + 1)).mean()
}

/// A multi-label attribute classifier: the critic's architecture with one logit per attribute.
public final class AttributeClassifier {
    public let network: Critic
    public let names: [String]

    public init(resolution: Int, names: [String] = FaceAttributes.names, width: Int = 16) throws {
        network = try Critic(spectralNorm: false, resolution: resolution, width: width, outputs: names.count)
        self.names = names
    }

    /// Trains on images `[N, 3, R, R]` in [−1, 1] with labels `[N, attributes]` in {0, 1}
    /// (Adam, learning rate 2e-3); returns the loss of each step. Draws from its own stream.
    /// `progress` hears of each step and its loss (and may throw to stop).
    @discardableResult
    public func fit(images: Tensor, labels: Tensor, steps: Int, batchSize: Int = 64, seed: UInt64 = 0,
                    progress: (_ step: Int, _ loss: Float) throws -> Void = { _, _ in }) throws -> [Float] {
        let optimizer = Adam(network, learningRate: 2e-3, betas: (0.9, 0.999))
        var batches = BatchIterator(count: images.shape[0], batchSize: min(batchSize, images.shape[0]), dropLast: true, seed: seed)
        var pending: [[Int]] = []
        var losses: [Float] = []
        network.train()
        for _ in 0..<steps {
            if pending.isEmpty { pending = batches.epoch().reversed() }
            let indices = pending.removeLast()
            let loss = try binaryCrossEntropy(logits: network.outputs(images.gather(indices)), targets: labels.gather(indices))
            optimizer.zeroGrad()
            try loss.backward()
            try optimizer.step()
            losses.append(try loss.item())
            try progress(losses.count, losses[losses.count - 1])
        }
        network.eval()
        return losses
    }

    /// 1 where the classifier says an image has the attribute, else 0: `[N, attributes]`.
    public func predict(_ images: Tensor) throws -> Tensor {
        try noGrad {
            var rows: [Tensor] = []
            for start in stride(from: 0, to: images.shape[0], by: 256) {
                let chunk = try images.gather(Array(start..<min(start + 256, images.shape[0])))
                rows.append(try network.outputs(chunk) .> Tensor(0))
            }
            return try Tensor.concat(rows, axis: 0)
        }
    }

    /// The fraction of images with each attribute.
    public func frequencies(_ images: Tensor) throws -> [Double] {
        try predict(images).mean(axes: [0]).scalars.map(Double.init)
    }

    /// The fraction of correct answers per attribute.
    public func accuracy(images: Tensor, labels: Tensor) throws -> [Double] {
        try (predict(images) .== labels).mean(axes: [0]).scalars.map(Double.init)
    }

    /// A classifier trained on labelled images `[N, 3, R, R]` in [−1, 1] with labels ±1 or
    /// {0, 1} `[N, attributes]`; the last `heldOut` images are kept out of training and give
    /// the accuracy per attribute. The global random stream is left as it was.
    public static func trained(images: Tensor, labels: Tensor, names: [String], heldOut: Int, steps: Int = 400, seed: UInt64 = 7000,
                               progress: (_ step: Int, _ loss: Float) throws -> Void = { _, _ in }) throws
        -> (classifier: AttributeClassifier, accuracy: [Double]) {
        let n = images.shape[0]
        guard heldOut >= 1, n - heldOut >= 1, labels.shape == [n, names.count] else {
            throw EngineError.invalidArgument(op: "AttributeClassifier", message: "needs [\(n), \(names.count)] labels and images to train and test on")
        }
        let targets = try labels .> Tensor(0)
        let (train, test) = (Array(0..<(n - heldOut)), Array((n - heldOut)..<n))
        // Its initial weights come from the global stream: seed it, and give it back untouched.
        let saved = Runtime.generatorState
        Runtime.seed(seed)
        defer { Runtime.generatorState = saved }
        let classifier = try AttributeClassifier(resolution: images.shape[2], names: names)
        try classifier.fit(images: images.gather(train), labels: targets.gather(train), steps: steps, seed: seed, progress: progress)
        return (classifier, try classifier.accuracy(images: images.gather(test), labels: targets.gather(test)))
    }

    /// A classifier trained on `count` synthetic faces of seed `seed` (disjoint from the faces
    /// of seeds 0…999 that runs train on), tested on 1,000 more.
    public static func forSyntheticFaces(resolution: Int, count: Int = 4000, steps: Int = 400, seed: UInt64 = 7000,
                                         progress: (_ step: Int, _ loss: Float) throws -> Void = { _, _ in }) throws
        -> (classifier: AttributeClassifier, accuracy: [Double]) {
        let faces = try syntheticFaces(count: count + 1000, size: resolution, seed: seed)
        let labels = try Tensor(shape: [count + 1000, FaceAttributes.names.count], elements: faces.attributes.flatMap { $0.labels.map(Float.init) })
        return try trained(images: faces.images * 2 - 1, labels: labels, names: FaceAttributes.names, heldOut: 1000, steps: steps, seed: seed, progress: progress)
    }
}

/// Bins for the NDB test (Richardson & Weiss, "On GANs and GMMs", 2018): k-means on real
/// images, each bin holding the share of real images nearest its centre.
public struct NDBBins {
    public let centers: Tensor          // [K, D]
    public let realShares: [Double]
    public let realCount: Int

    /// Lloyd's algorithm from `bins` distinct random real images, `iterations` rounds; an
    /// emptied bin takes the image farthest from its centre.
    public init(real: Tensor, bins: Int = 50, iterations: Int = 20, seed: UInt64 = 0) throws {
        let x = try real.reshaped([real.shape[0], -1])
        let n = x.shape[0]
        guard bins >= 2 else { throw EngineError.invalidArgument(op: "NDBBins", message: "needs at least 2 bins, got \(bins)") }
        guard n >= bins else { throw EngineError.invalidArgument(op: "NDBBins", message: "needs at least \(bins) real images, got \(n)") }
        var rng = RandomGenerator(seed: seed)
        var order = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        var centers = try x.gather(Array(order.prefix(bins)))
        var assignment = try nearest(x, centers)
        for _ in 0..<iterations {
            let (labels, distances) = assignment
            let d = x.shape[1]
            var sums = [Float](repeating: 0, count: bins * d), counts = [Int](repeating: 0, count: bins)
            let values = x.scalars
            for (i, label) in labels.enumerated() {
                counts[label] += 1
                for j in 0..<d { sums[label * d + j] += values[i * d + j] }
            }
            var farthest = distances.indices.sorted { distances[$0] > distances[$1] }.makeIterator()
            for k in 0..<bins {
                if counts[k] == 0, let i = farthest.next() {
                    for j in 0..<d { sums[k * d + j] = values[i * d + j] }
                    counts[k] = 1
                }
                for j in 0..<d { sums[k * d + j] /= Float(counts[k]) }
            }
            centers = try Tensor(shape: [bins, d], elements: sums)
            let next = try nearest(x, centers)
            if next.labels == labels { assignment = next; break }
            assignment = next
        }
        self.centers = centers
        realShares = (0..<bins).map { k in Double(assignment.labels.filter { $0 == k }.count) / Double(n) }
        realCount = n
    }

    /// The share of `images` nearest each centre.
    public func shares(_ images: Tensor) throws -> [Double] {
        let labels = try nearest(images.reshaped([images.shape[0], -1]), centers).labels
        var counts = [Double](repeating: 0, count: centers.shape[0])
        for l in labels { counts[l] += 1 }
        return counts.map { $0 / Double(max(labels.count, 1)) }
    }

    /// The number of bins whose generated share differs from the real share by a two-sample
    /// z-test at the given significance (two-sided; 0.05 → |z| > 1.96).
    public func statisticallyDifferentBins(_ images: Tensor, z threshold: Double = 1.96) throws -> Int {
        let generated = try shares(images)
        let (n1, n2) = (Double(realCount), Double(images.shape[0]))
        return zip(realShares, generated).filter { p1, p2 in
            let pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
            let standardError = (pooled * (1 - pooled) * (1 / n1 + 1 / n2)).squareRoot()
            return standardError > 0 && abs(p1 - p2) / standardError > threshold
        }.count
    }
}

/// Each row's nearest centre and the squared distance to it: ‖x‖² − 2x·c + ‖c‖².
func nearest(_ x: Tensor, _ centers: Tensor) throws -> (labels: [Int], distances: [Float]) {
    let cross = try matmul(x, centers, transposeB: true)
    let rowNorms = try (x * x).sum(axes: [1]).scalars, centerNorms = try (centers * centers).sum(axes: [1]).scalars
    let k = centers.shape[0]
    let values = cross.scalars
    var labels: [Int] = [], distances: [Float] = []
    for i in 0..<x.shape[0] {
        var best = 0, bestDistance = Float.infinity
        for j in 0..<k {
            let d = rowNorms[i] - 2 * values[i * k + j] + centerNorms[j]
            if d < bestDistance { (best, bestDistance) = (j, d) }
        }
        labels.append(best)
        distances.append(max(0, bestDistance))
    }
    return (labels, distances)
}

/// The mean Euclidean distance between `pairs` random pairs of distinct images, per pixel
/// (root mean square of the difference): the spread of a set of images. When `pairs` is at
/// least the number of distinct pairs, every pair is measured once and the mean is exact, so
/// the work never exceeds one pass over all pairs, whatever `pairs` says.
public func meanPairDistance(_ images: Tensor, pairs: Int = 2000, seed: UInt64 = 0) throws -> Double {
    let n = images.shape.dims.first ?? 0
    guard n >= 2 else { throw EngineError.invalidArgument(op: "meanPairDistance", message: "needs at least 2 images, got \(n)") }
    guard pairs >= 1 else { throw EngineError.invalidArgument(op: "meanPairDistance", message: "needs at least 1 pair, got \(pairs)") }
    let x = try images.reshaped([n, -1])
    let d = x.shape[1]
    let values = x.scalars
    func distance(_ i: Int, _ j: Int) -> Double {
        var sum = 0.0
        for k in 0..<d { let diff = Double(values[i * d + k] - values[j * d + k]); sum += diff * diff }
        return (sum / Double(d)).squareRoot()
    }
    let (product, overflow) = n.multipliedReportingOverflow(by: n - 1)
    if !overflow, pairs >= product / 2 {
        var total = 0.0
        for i in 0..<n { for j in (i + 1)..<n { total += distance(i, j) } }
        return total / Double(product / 2)
    }
    var rng = RandomGenerator(seed: seed)
    var total = 0.0
    for _ in 0..<pairs {
        let i = Int(rng.next() % UInt64(n))
        let j = (i + 1 + Int(rng.next() % UInt64(n - 1))) % n
        total += distance(i, j)
    }
    return total / Double(pairs)
}

/// Every metric of one set of generated images.
public struct Evaluation: Sendable {
    /// ×10³, averaged over pyramid levels.
    public var slicedWasserstein: Double
    /// Statistically different bins out of `bins`.
    public var ndb: Int, bins: Int
    /// Mean pair distance relative to the real images' (1 = as diverse as the data).
    public var diversity: Double
    /// Mean |generated − real| attribute frequency, in percentage points; nil without a classifier.
    public var attributeGap: Double?
    /// The attribute with the largest gap and its generated and real frequencies.
    public var worstAttribute: (name: String, generated: Double, real: Double)?
}

/// Holds what the metrics compare against (real images, their bins, spread and attribute
/// frequencies) so that each evaluation only generates and measures.
public final class Evaluator {
    public let real: Tensor
    public let bins: NDBBins
    public let realSpread: Double
    public let classifier: AttributeClassifier?
    public let realFrequencies: [Double]?
    /// What real data scores against itself (two disjoint halves): the floor of each metric.
    public private(set) var baseline: Evaluation!
    let seed: UInt64

    /// `real`: at least 2·`samples` images `[N, 3, R, R]` in [−1, 1]; the first `samples` are
    /// the reference, the next `samples` the real-vs-real baseline.
    public init(real: Tensor, samples: Int = 1024, bins: Int = 50, classifier: AttributeClassifier? = nil, seed: UInt64 = 0) throws {
        guard real.rank == 4, real.shape[0] >= 2 * samples, samples >= bins else {
            throw EngineError.invalidArgument(op: "Evaluator", message: "needs 2 × \(samples) real images (and ≥ \(bins) samples), got \(real.rank == 4 ? real.shape[0] : 0)")
        }
        self.real = try real.gather(Array(0..<samples))
        self.bins = try NDBBins(real: self.real, bins: bins, seed: seed)
        realSpread = try meanPairDistance(self.real, seed: seed)
        self.classifier = classifier
        realFrequencies = try classifier?.frequencies(self.real)
        self.seed = seed
        baseline = try evaluate(real.gather(Array(samples..<(2 * samples))))
    }

    /// The sliced Wasserstein distance (×10³) as the experiment and the lessons measure it:
    /// ProGAN's recipe with 64 patches an image and 2 × 128 directions, so that a thousand
    /// images take seconds.
    public static func slicedWasserstein(_ a: Tensor, _ b: Tensor, seed: UInt64 = 0) throws -> Double {
        try slicedWassersteinDistance(a, b, patchesPerImage: 64, repeats: 2, directions: 128, seed: seed).average
    }

    public func evaluate(_ generated: Tensor) throws -> Evaluation {
        let swd = try Evaluator.slicedWasserstein(real, generated, seed: seed)
        var evaluation = Evaluation(slicedWasserstein: swd, ndb: try bins.statisticallyDifferentBins(generated), bins: bins.centers.shape[0],
                                    diversity: try meanPairDistance(generated, seed: seed &+ 1) / realSpread)
        if let classifier, let realFrequencies {
            let frequencies = try classifier.frequencies(generated)
            let gaps = zip(frequencies, realFrequencies).map { abs($0 - $1) }
            evaluation.attributeGap = 100 * gaps.reduce(0, +) / Double(gaps.count)
            if let worst = gaps.indices.max(by: { gaps[$0] < gaps[$1] }) {
                evaluation.worstAttribute = (classifier.names[worst], frequencies[worst], realFrequencies[worst])
            }
        }
        return evaluation
    }
}
