import Engine
import Foundation

/// The sliced Wasserstein distance between two sets of images, ProGAN's recipe
/// (tkarras/progressive_growing_of_gans, metrics/sliced_wasserstein.py):
///
/// - a Laplacian pyramid of each image (5-tap [1, 4, 6, 4, 1]/16 filter, mirrored borders),
///   down to 16 pixels;
/// - per level, `patchesPerImage` random 7×7 patches of each image, as descriptors, each set
///   normalised per channel to mean 0 and std 1;
/// - `repeats` × `directions` random unit directions; each set of descriptors is projected,
///   sorted, and the mean absolute difference of the sorted projections is averaged;
/// - reported ×10³, per level (finest first) and averaged.
///
/// Images are `[N, 3, H, W]` in [−1, 1]; both sets need the same size. Real against real (two
/// halves of the data) is the baseline to read a value against.
public func slicedWassersteinDistance(_ a: Tensor, _ b: Tensor, patchesPerImage: Int = 128, repeats: Int = 4, directions: Int = 128,
                                      seed: UInt64 = 0) throws -> (levels: [Double], average: Double) {
    guard a.rank == 4, b.rank == 4, Array(a.shape.dims.dropFirst()) == Array(b.shape.dims.dropFirst()) else {
        throw EngineError.shapeMismatch(op: "slicedWassersteinDistance", shapes: [a.shape, b.shape], reason: "two batches of images [N, C, H, W] of one size")
    }
    var rng = RandomGenerator(seed: seed)
    let (pyramidA, pyramidB) = (try laplacianPyramid(a), try laplacianPyramid(b))
    var levels: [Double] = []
    for (levelA, levelB) in zip(pyramidA, pyramidB) {
        let descriptorsA = try normalizedDescriptors(patches(levelA, count: patchesPerImage, rng: &rng))
        let descriptorsB = try normalizedDescriptors(patches(levelB, count: patchesPerImage, rng: &rng))
        var total = 0.0
        for _ in 0..<repeats {
            // Random directions in descriptor space, one per column, of unit length.
            let raw = try Tensor.randn([descriptorsA.shape[1], directions], generator: &rng)
            let unit = try raw / raw.norm(axes: [0], keepDims: true)
            let projectedA = try matmul(descriptorsA, unit), projectedB = try matmul(descriptorsB, unit)
            total += try sortedDistance(projectedA, projectedB)
        }
        levels.append(total / Double(repeats) * 1e3)
    }
    return (levels, levels.reduce(0, +) / Double(max(levels.count, 1)))
}

/// Mean over directions of the mean |sorted(a) − sorted(b)| (sets of equal size).
func sortedDistance(_ a: Tensor, _ b: Tensor) throws -> Double {
    let (n, d) = (a.shape[0], a.shape[1])
    let (va, vb) = (a.scalars, b.scalars)
    let m = min(n, b.shape[0])
    var total = 0.0
    for j in 0..<d {
        try Interruption.check("swd")
        let columnA = (0..<n).map { va[$0 * d + j] }.sorted(), columnB = (0..<b.shape[0]).map { vb[$0 * d + j] }.sorted()
        var sum = 0.0
        for i in 0..<m { sum += Double(abs(columnA[i] - columnB[i])) }
        total += sum / Double(m)
    }
    return total / Double(d)
}

/// The Laplacian pyramid, finest level first, down to 16 pixels (the last level is the
/// remaining low-pass image).
func laplacianPyramid(_ images: Tensor) throws -> [Tensor] {
    var levels: [Tensor] = []
    var current = images
    while current.shape[2] > 16 && current.shape[3] > 16 {
        let down = try pyramidDown(current)
        levels.append(try current - pyramidUp(down))
        current = down
    }
    levels.append(current)
    return levels
}

/// The 5-tap binomial filter [1, 4, 6, 4, 1]/16 along both axes, with mirrored borders
/// (scipy's mode="mirror": the edge pixel is not repeated).
func binomialBlur(_ x: Tensor) throws -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    func mirrored(_ t: Tensor, axis: Int, size: Int) throws -> Tensor {
        func at(_ i: Int) throws -> Tensor {
            axis == 2 ? try t[TensorIndex.all, TensorIndex.all, i..<(i + 1)] : try t[TensorIndex.all, TensorIndex.all, TensorIndex.all, i..<(i + 1)]
        }
        let m1 = min(1, size - 1), m2 = min(2, size - 1)
        return try Tensor.concat([at(m2), at(m1), t, at(max(0, size - 2)), at(max(0, size - 3))], axis: axis)
    }
    let taps: [Float] = [1, 4, 6, 4, 1].map { $0 / 16 }
    let planes = try x.reshaped([n * c, 1, h, w])
    let vertical = try conv2d(mirrored(planes, axis: 2, size: h), Tensor(shape: [1, 1, 5, 1], elements: taps))
    let both = try conv2d(mirrored(vertical, axis: 3, size: w), Tensor(shape: [1, 1, 1, 5], elements: taps))
    return try both.reshaped([n, c, h, w])
}

func pyramidDown(_ x: Tensor) throws -> Tensor {
    let blurred = try binomialBlur(x)
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    // Every second row and column.
    let rows = try blurred.reshaped([n, c, h / 2, 2, w]).index([.all, .all, .all, .at(0)])
    return try rows.reshaped([n, c, h / 2, w / 2, 2]).index([.all, .all, .all, .all, .at(0)])
}

func pyramidUp(_ x: Tensor) throws -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    // Zeros between the pixels, then the filter ×4 to restore the brightness.
    let spread = try Tensor.stack([x, Tensor.zeros(x.shape)], axis: 4).reshaped([n, c, h, 2 * w])
    let grid = try Tensor.stack([spread, Tensor.zeros(spread.shape)], axis: 3).reshaped([n, c, 2 * h, 2 * w])
    return try binomialBlur(grid) * 4
}

/// `count` random 7×7 patches of each image, as rows `[N·count, C·49]`.
func patches(_ x: Tensor, count: Int, rng: inout RandomGenerator) throws -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    guard h >= 7, w >= 7 else { throw EngineError.invalidArgument(op: "slicedWassersteinDistance", message: "images must be at least 7×7") }
    let values = x.scalars
    var rows: [Float] = []
    rows.reserveCapacity(n * count * c * 49)
    for image in 0..<n {
        for _ in 0..<count {
            let top = Int(rng.next() % UInt64(h - 6)), left = Int(rng.next() % UInt64(w - 6))
            for channel in 0..<c {
                for dy in 0..<7 { for dx in 0..<7 { rows.append(values[((image * c + channel) * h + top + dy) * w + left + dx]) } }
            }
        }
    }
    return try Tensor(shape: [n * count, c * 49], elements: rows)
}

/// Descriptors with each channel's 49 values shifted and scaled to mean 0 and std 1 over the set.
func normalizedDescriptors(_ d: Tensor) throws -> Tensor {
    let channels = d.shape[1] / 49
    let grouped = try d.reshaped([d.shape[0], channels, 49])
    let mean = try grouped.mean(axes: [0, 2], keepDims: true)
    let std = try grouped.std(axes: [0, 2], keepDims: true)
    return try ((grouped - mean) / (std + 1e-8)).reshaped([d.shape[0], channels * 49])
}
