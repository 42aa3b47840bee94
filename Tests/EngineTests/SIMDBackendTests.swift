import XCTest
@testable import Engine
import TestSupport

/// The SIMD backend against the reference backend: same results (exact for elementwise
/// and movement ops, within float rounding for sums) on awkward shapes and every thread count.
final class SIMDBackendTests: XCTestCase {
    override func tearDown() {
        Runtime.backend = SIMDBackend()
        Runtime.threads = ProcessInfo.processInfo.activeProcessorCount
    }

    /// `f` on the reference backend, then on the SIMD backend with 1…4 threads.
    func compare(_ what: String, exact: Bool = false, rtol: Double = 1e-4, atol: Double = 1e-4,
                 file: StaticString = #filePath, line: UInt = #line, _ f: () throws -> Tensor) throws {
        Runtime.backend = ReferenceBackend()
        let expected = try f()
        Runtime.backend = SIMDBackend()
        for threads in 1...4 {
            Runtime.threads = threads
            let actual = try f()
            if exact {
                XCTAssertEqual(actual.shape, expected.shape, "\(what), \(threads) threads", file: file, line: line)
                XCTAssertTrue(zip(actual.scalars, expected.scalars).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) },
                              "\(what), \(threads) threads: not identical", file: file, line: line)
            } else {
                assertClose(actual, expected, rtol: rtol, atol: atol, "\(what), \(threads) threads", file: file, line: line)
            }
        }
    }

    func testMatmulOnAwkwardShapes() throws {
        var rng = RandomGenerator(seed: 100)
        // 1, primes, and sizes either side of the 6×16 tile and the 96/256 blocks.
        let sizes = [1, 5, 6, 7, 16, 17, 31, 97, 100, 257]
        for _ in 0..<30 {
            let m = sizes.randomElement(using: &rng)!, k = sizes.randomElement(using: &rng)!, n = sizes.randomElement(using: &rng)!
            let ta = Bool.random(using: &rng), tb = Bool.random(using: &rng)
            let a = try Tensor.randn(ta ? [k, m] : [m, k], generator: &rng), b = try Tensor.randn(tb ? [n, k] : [k, n], generator: &rng)
            try compare("matmul \(m)×\(k)×\(n) Aᵀ \(ta) Bᵀ \(tb)", atol: 1e-5 * Double(k).squareRoot() * 10) {
                try Tensor.matmulPrimitive(a, b, transposeA: ta, transposeB: tb)
            }
        }
        let batched = try Tensor.randn([3, 1, 7, 33], generator: &rng), shared = try Tensor.randn([4, 33, 19], generator: &rng)
        try compare("batched matmul with broadcast batch axes") { try matmul(batched, shared) }
        let many = try Tensor.randn([9, 5, 3], generator: &rng), one = try Tensor.randn([3, 2], generator: &rng)
        try compare("many small products") { try matmul(many, one) }
    }

    func testConvolutionsOnAwkwardGeometries() throws {
        var rng = RandomGenerator(seed: 101)
        for _ in 0..<25 {
            let batch = Int.random(in: 1...5, using: &rng), inC = Int.random(in: 1...7, using: &rng), outC = Int.random(in: 1...9, using: &rng)
            let k = Int.random(in: 1...4, using: &rng), stride = Int.random(in: 1...3, using: &rng)
            let padding = Int.random(in: 0...2, using: &rng), dilation = Int.random(in: 1...2, using: &rng)
            let h = Int.random(in: (dilation * (k - 1) + 1)...12, using: &rng), w = Int.random(in: (dilation * (k - 1) + 1)...12, using: &rng)
            let x = try Tensor.randn([batch, inC, h, w], generator: &rng), weight = try Tensor.randn([outC, inC, k, k], generator: &rng)
            let geometry = ConvGeometry(stride: stride, padding: padding, dilation: dilation)
            let what = "conv \(x.shape) ⊛ \(weight.shape) stride \(stride) padding \(padding) dilation \(dilation)"
            Runtime.backend = ReferenceBackend()
            let y = try Tensor.conv2dPrimitive(x, weight, geometry)
            let dy = try Tensor.randn(y.shape, generator: &rng)
            try compare(what) { try Tensor.conv2dPrimitive(x, weight, geometry) }
            try compare(what + " input gradient") { try Tensor.conv2dInputGradPrimitive(dy, weight, inputShape: x.shape, geometry) }
            try compare(what + " weight gradient") { try Tensor.conv2dWeightGradPrimitive(x, dy, weightShape: weight.shape, geometry) }
        }
        // The study's layers: 4×4 kernels, stride 2, padding 1, up and down.
        let images = try Tensor.randn([3, 8, 16, 16], generator: &rng)
        let kernel = try Tensor.randn([16, 8, 4, 4], generator: &rng)
        try compare("critic layer") { try conv2d(images, kernel, stride: 2, padding: 1) }
        let small = try Tensor.randn([3, 16, 8, 8], generator: &rng)
        try compare("generator layer") { try convTranspose2d(small, kernel, stride: 2, padding: 1) }
        // An image's columns fill whole panels of the product: 8×8 outputs 4 rows to a panel
        // (above), 16×16 outputs 2 rows, 8×8 at stride 1.
        let large = try Tensor.randn([2, 3, 32, 32], generator: &rng), first = try Tensor.randn([6, 3, 4, 4], generator: &rng)
        try compare("16×16 outputs") { try conv2d(large, first, stride: 2, padding: 1) }
        let eight = try Tensor.randn([2, 5, 8, 8], generator: &rng), same3 = try Tensor.randn([6, 5, 3, 3], generator: &rng)
        try compare("8×8 outputs at stride 1") { try conv2d(eight, same3, padding: 1) }
        // Maps of 4×4 outputs and smaller go through the GEMM in groups of images, their
        // columns filled channel by channel: stride 2 and stride 1.
        let maps = try Tensor.randn([5, 8, 8, 8], generator: &rng)
        try compare("4×4 maps") { try conv2d(maps, kernel, stride: 2, padding: 1) }
        let mapsT = try Tensor.randn([5, 16, 4, 4], generator: &rng)
        try compare("4×4 maps, transposed") { try convTranspose2d(mapsT, kernel, stride: 2, padding: 1) }
        // Their columns go straight into the product's packed panels. 15 images make one group
        // on 1 thread, groups of 8 and 7 on 2 threads, 5 on 3 threads, 4 and 3 on 4 threads: an
        // odd number of images, so the last panel of a group is half empty.
        let manyMaps = try Tensor.randn([15, 16, 8, 8], generator: &rng), wide = try Tensor.randn([48, 16, 4, 4], generator: &rng)
        try compare("4×4 maps in groups") { try conv2d(manyMaps, wide, stride: 2, padding: 1) }
        // Fewer groups than threads: 9 images on 4 threads are 3 groups of 3, each product
        // threaded inside (128 channels make it large enough) and, with 12 output channels (one
        // sliver of A), split by columns, at the second of two panels.
        let nineMaps = try Tensor.randn([9, 128, 8, 8], generator: &rng), twelve = try Tensor.randn([12, 128, 4, 4], generator: &rng)
        try compare("4×4 maps, products threaded inside") { try conv2d(nineMaps, twelve, stride: 2, padding: 1) }
        let manyDy = try Tensor.randn([15, 48, 4, 4], generator: &rng), down = ConvGeometry(stride: 2, padding: 1)
        try compare("their input gradient") { try Tensor.conv2dInputGradPrimitive(manyDy, wide, inputShape: manyMaps.shape, down) }
        try compare("their weight gradient") { try Tensor.conv2dWeightGradPrimitive(manyMaps, manyDy, weightShape: wide.shape, down) }
        // A weight gradient writes colᵀ's panels itself when the kernel is 4 wide: here 2×4
        // kernels (4 channels to a panel, the last panel part empty), and dilated along y.
        for (dilation, height) in [(1, 6), (2, 6)] {
            let image = try Tensor.randn([5, 3, height, 8], generator: &rng), flat = try Tensor.randn([6, 3, 2, 4], generator: &rng)
            let g = ConvGeometry(stride: (2, 2), padding: (1, 1), dilation: (dilation, 1))
            let dyFlat = try Tensor.randn(Tensor.conv2dPrimitive(image, flat, g).shape, generator: &rng)
            try compare("2×4 kernels, dilation (\(dilation), 1): weight gradient") {
                try Tensor.conv2dWeightGradPrimitive(image, dyFlat, weightShape: flat.shape, g)
            }
        }
        // 3×4 outputs: rows 4 wide go two to a vector, and the odd third row alone.
        let oddMaps = try Tensor.randn([5, 8, 6, 8], generator: &rng), stride2 = ConvGeometry(stride: 2, padding: 1, dilation: 1)
        let dyOdd = try Tensor.randn([5, 16, 3, 4], generator: &rng)
        try compare("3×4 maps at stride 2") { try Tensor.conv2dPrimitive(oddMaps, kernel, stride2) }
        try compare("3×4 maps at stride 2, input gradient") { try Tensor.conv2dInputGradPrimitive(dyOdd, kernel, inputShape: oddMaps.shape, stride2) }
        try compare("3×4 maps at stride 2, weight gradient") { try Tensor.conv2dWeightGradPrimitive(oddMaps, dyOdd, weightShape: kernel.shape, stride2) }
        let tiny = try Tensor.randn([6, 5, 3, 4], generator: &rng), threeByThree = try Tensor.randn([7, 5, 3, 3], generator: &rng)
        let same = ConvGeometry(stride: 1, padding: 1, dilation: 1)
        let dyTiny = try Tensor.randn([6, 7, 3, 4], generator: &rng)
        try compare("3×4 maps, stride 1") { try Tensor.conv2dPrimitive(tiny, threeByThree, same) }
        try compare("3×4 maps, stride 1, input gradient") { try Tensor.conv2dInputGradPrimitive(dyTiny, threeByThree, inputShape: tiny.shape, same) }
        try compare("3×4 maps, stride 1, weight gradient") { try Tensor.conv2dWeightGradPrimitive(tiny, dyTiny, weightShape: threeByThree.shape, same) }
        // Rows of 15 and 14 outputs at stride 2: the strided runs' 8- and 4-wide vectors and scalar tail.
        for width in [29, 27] {
            let wide = try Tensor.randn([2, 3, 5, width], generator: &rng), taps = try Tensor.randn([4, 3, 3, 3], generator: &rng)
            let geometry = ConvGeometry(stride: 2, padding: 1, dilation: 1)
            let dy = try Tensor.randn(Tensor.conv2dPrimitive(wide, taps, geometry).shape, generator: &rng)
            try compare("stride 2, width \(width)") { try Tensor.conv2dPrimitive(wide, taps, geometry) }
            try compare("stride 2, width \(width), input gradient") { try Tensor.conv2dInputGradPrimitive(dy, taps, inputShape: wide.shape, geometry) }
            try compare("stride 2, width \(width), weight gradient") { try Tensor.conv2dWeightGradPrimitive(wide, dy, weightShape: taps.shape, geometry) }
        }
        // An empty batch: no group to deal out, and a weight gradient of zeros (4×4 and 8×8 maps).
        for size in [8, 16] {
            let none = try Tensor.zeros([0, 8, size, size]), dyNone = try Tensor.zeros([0, 16, size / 2, size / 2])
            let halve = ConvGeometry(stride: 2, padding: 1)
            try compare("empty batch, \(size)×\(size)") { try Tensor.conv2dPrimitive(none, kernel, halve) }
            try compare("empty batch, \(size)×\(size), input gradient") {
                try Tensor.conv2dInputGradPrimitive(dyNone, kernel, inputShape: none.shape, halve)
            }
            try compare("empty batch, \(size)×\(size), weight gradient") {
                try Tensor.conv2dWeightGradPrimitive(none, dyNone, weightShape: kernel.shape, halve)
            }
        }
        // At most 4 output channels and stride 1 take the direct kernels: rows of 37 pixels are
        // tiles of 16, 16 and 5; one input-gradient block of 4 channels and one of 1.
        for (outC, dilation, padding) in [(3, 1, 1), (4, 2, 1), (1, 1, 0)] {
            let x = try Tensor.randn([2, 5, 9, 37], generator: &rng), taps = try Tensor.randn([outC, 5, 3, 3], generator: &rng)
            let geometry = ConvGeometry(stride: 1, padding: padding, dilation: dilation)
            let what = "\(outC) output channels, dilation \(dilation), padding \(padding)"
            let dy = try Tensor.randn(Tensor.conv2dPrimitive(x, taps, geometry).shape, generator: &rng)
            try compare(what) { try Tensor.conv2dPrimitive(x, taps, geometry) }
            try compare(what + ", input gradient") { try Tensor.conv2dInputGradPrimitive(dy, taps, inputShape: x.shape, geometry) }
            try compare(what + ", weight gradient") { try Tensor.conv2dWeightGradPrimitive(x, dy, weightShape: taps.shape, geometry) }
        }
        let pointwise = try Tensor.randn([5, 8, 1, 1], generator: &rng)
        try compare("pointwise") { try conv2d(images, pointwise) }
        // A bias is added inside each path: image by image, by groups, in the direct kernels.
        let (b16, b8, b5, b3) = try (Tensor.randn([16], generator: &rng), Tensor.randn([8], generator: &rng),
                                     Tensor.randn([5], generator: &rng), Tensor.randn([3], generator: &rng))
        let rgb = try Tensor.randn([3, 8, 3, 3], generator: &rng)
        try compare("bias, image by image") { try conv2d(images, kernel, bias: b16, stride: 2, padding: 1) }
        try compare("bias, 4×4 maps") { try conv2d(maps, kernel, bias: b16, stride: 2, padding: 1) }
        try compare("bias, direct") { try conv2d(images, rgb, bias: b3, padding: 1) }
        try compare("bias, pointwise") { try conv2d(images, pointwise, bias: b5) }
        try compare("bias, transposed") { try convTranspose2d(small, kernel, bias: b8, stride: 2, padding: 1) }
        try compare("bias, transposed 4×4 maps") { try convTranspose2d(mapsT, kernel, bias: b8, stride: 2, padding: 1) }
        let threeChannels = try Tensor.randn([3, 3, 6, 6], generator: &rng)
        try compare("bias, transposed direct") { try convTranspose2d(threeChannels, rgb, bias: b8, padding: 1) }
    }

    func testElementwiseIsExact() throws {
        var rng = RandomGenerator(seed: 102)
        let x = try Tensor.randn([3, 1, 37], generator: &rng), y = try Tensor.randn([4, 37], generator: &rng)
        let positive = try abs(x) + 0.1
        try compare("add with broadcasting", exact: true) { try x + y }
        try compare("sub", exact: true) { try y - x }
        try compare("mul by a scalar", exact: true) { try x * 3 }
        try compare("div", exact: true) { try y / positive }
        try compare("comparison", exact: true) { try x .> y }
        try compare("where", exact: true) { try Tensor.where(x .> 0, x, y) }
        for (name, f) in [("exp", exp), ("tanh", tanh), ("sigmoid", sigmoid), ("relu", relu), ("abs", abs), ("neg", { try -$0 }),
                          ("sin", sin), ("cos", cos), ("sign", sign)] as [(String, (Tensor) throws -> Tensor)] {
            try compare(name, exact: true) { try f(x) }
        }
        try compare("log", exact: true) { try log(positive) }
        try compare("sqrt", exact: true) { try sqrt(positive) }
        try compare("square", exact: true) { try pow(x, 2) }
        try compare("pow", exact: true) { try pow(positive, Float(1.7)) }
        try compare("relu of NaN", exact: true) { try relu(Tensor([.nan, -1, 2])) }
        try compare("leaky relu", exact: true) { try leakyRelu(x, slope: 0.2) }
        try compare("leaky relu of NaN, ±0", exact: true) { try leakyRelu(Tensor([.nan, -1, 2, 0, -0.0]), slope: 0.2) }
        let edges = try Tensor([.nan, -1, 2, 0, -0.0, .infinity, -3, 5, 1, -2]), upstream = try Tensor([1, 2, -3, 4, 5, -6, .infinity, .nan, -0.0, 7])
        for slope: Float in [0, 0.2] {
            try compare("(leaky) relu's backward, slope \(slope)", exact: true) { try Tensor.leakyReluGrad(upstream, edges, slope: slope) }
        }
    }

    /// Ops over more than 64K elements are cut between threads along their outermost axis.
    func testLargeElementwiseIsExactOnEveryThreadCount() throws {
        var rng = RandomGenerator(seed: 107)
        let images = try Tensor.randn([7, 5, 41, 43], generator: &rng), bias = try Tensor.randn([1, 5, 1, 1], generator: &rng)
        let long = try Tensor.randn([70_001], generator: &rng)
        try compare("bias add over a batch", exact: true) { try images + bias }
        try compare("one long run", exact: true) { try long * 2 - 1 }
        try compare("a where over a batch", exact: true) { try Tensor.where(images .> 0, images, images * 0.2) }
        try compare("exp over a batch", exact: true) { try exp(images) }
        try compare("leaky relu's backward over a batch", exact: true) { try Tensor.leakyReluGrad(images * 3, images, slope: 0.2) }
        try compare("a permuted copy", exact: true) { try images.permuted([3, 1, 0, 2]) }
    }

    /// Reductions over more than 64K elements are cut between threads too: along a kept
    /// outermost axis each thread owns its outputs; along a reduced one each sums into its own
    /// buffer, combined in order.
    func testLargeReductionsOnEveryThreadCount() throws {
        var rng = RandomGenerator(seed: 108)
        let images = try Tensor.randn([9, 5, 41, 43], generator: &rng)
        var ties = try Tensor.zeros([9, 5, 41, 43])
        ties = try Tensor.where(images .> 2.5, Tensor(Float.nan), ties)   // a few NaNs, which a maximum keeps
        try compare("batch statistics: sum over all but channels") { try images.sum(axes: [0, 2, 3]) }
        try compare("sum over channels, the batch axis kept") { try images.sum(axes: [1]) }
        try compare("sum of everything") { try images.sum() }
        try compare("maximum over all but channels", exact: true) { try images.max(axes: [0, 2, 3]) }
        try compare("maximum with NaNs", exact: true) { try (images + ties).max(axes: [0, 2, 3]) }
        try compare("maximum of zeros and NaNs", exact: true) { try ties.max(axes: [0, 2]) }
    }

    /// A weight gradient sums over images, each thread into its own buffer; which images a
    /// thread sums must not depend on timing, or the last bits would change from run to run.
    /// Images of the per-image path (8×8 output), the grouped path (4×4) and the direct kernel.
    func testWeightGradientsAreTheSameOnEveryRun() throws {
        var rng = RandomGenerator(seed: 109)
        Runtime.threads = 2
        for (input, weightShape, stride) in [([24, 6, 16, 16], [8, 6, 4, 4], 2), ([24, 6, 8, 8], [8, 6, 4, 4], 2),
                                             ([24, 6, 12, 12], [3, 6, 3, 3], 1)] {
            let x = try Tensor.randn(Shape(input), generator: &rng)
            let geometry = ConvGeometry(stride: stride, padding: 1)
            let outputShape = try Tensor.conv2dPrimitive(x, Tensor.zeros(Shape(weightShape)), geometry).shape
            let dy = try Tensor.randn(outputShape, generator: &rng)
            let first = try Tensor.conv2dWeightGradPrimitive(x, dy, weightShape: Shape(weightShape), geometry).scalars
            for run in 1..<30 {
                let again = try Tensor.conv2dWeightGradPrimitive(x, dy, weightShape: Shape(weightShape), geometry).scalars
                if again != first { XCTFail("\(input) ⊛ \(weightShape): run \(run) differs from the first"); break }
            }
        }
    }

    func testMovementIsExact() throws {
        var rng = RandomGenerator(seed: 103)
        let x = try Tensor.randn([2, 3, 5, 7], generator: &rng)
        try compare("permute", exact: true) { try x.permuted([3, 1, 0, 2]) }
        try compare("transpose", exact: true) { try x.transposed() }
        try compare("slice", exact: true) { try x[1, 1..., 2..<4] }
        try compare("pad", exact: true) { try x.padded([(1, 2), (0, 1)]) }
        try compare("concat", exact: true) { try Tensor.concat([x, x * 2], axis: 2) }
        try compare("expand", exact: true) { try x[TensorIndex.all, 0..<1].expanded(to: [4, 2, 3, 5, 7]) }
    }

    func testReductions() throws {
        var rng = RandomGenerator(seed: 104)
        let x = try Tensor.randn([4, 3, 9, 11], generator: &rng)
        for axes in [[0], [1], [3], [0, 2, 3], [1, 2], [0, 1, 2, 3], [0, 3]] {
            try compare("sum over \(axes)", rtol: 1e-6, atol: 1e-6) { try x.sum(axes: axes) }
            try compare("max over \(axes)", exact: true) { try x.max(axes: axes) }
        }
        try compare("max with NaN", exact: true) { try Tensor([1, .nan, 3]).max() }
        try compare("variance", rtol: 1e-5, atol: 1e-6) { try x.variance(axes: [0, 2, 3]) }
    }

    /// The WGAN-GP double backprop gives the same parameter gradient on both backends.
    func testSecondOrderGradientsAgreeAcrossBackends() throws {
        var rng = RandomGenerator(seed: 105)
        let x = try Tensor.randn([4, 3, 8, 8], generator: &rng)
        let w1 = try Tensor.randn([8, 3, 4, 4], generator: &rng) * 0.2, w2 = try Tensor.randn([16, 4 * 4 * 8], generator: &rng) * 0.1
        try compare("∂penalty/∂W", rtol: 1e-4, atol: 1e-5) {
            let (input, a, b) = (x.requiringGrad(), w1.requiringGrad(), w2.requiringGrad())
            let h = try leakyRelu(conv2d(input, a, stride: 2, padding: 1), slope: 0.2)
            let d = try matmul(h.reshaped([4, -1]), b.T).sum(axes: [1])
            let g = try grad(of: d.sum(), wrt: [input], createGraph: true)[0]
            let penalty = try pow(g.reshaped([4, -1]).norm(axes: [1]) - 1, 2).mean()
            let grads = try grad(of: penalty, wrt: [a, b])
            return try Tensor.concat([grads[0].flattened(), grads[1].flattened()])
        }
    }
}

import SIMDKernels

/// Every GEMM micro-kernel this CPU can run (AVX-512 and AVX2 on an AVX-512 machine), not
/// only the one the backend picks.
final class GEMMKernelTests: XCTestCase {
    /// A large product split by rows packs B once, each thread a share of its panels, where
    /// one thread packs it alone: the packing does not change any sum, so the results are the
    /// same bits. 1010 columns leave the last panel part empty; B plain and transposed.
    func testLargeProductsPackTheirRightOperandOnce() throws {
        var rng = RandomGenerator(seed: 110)
        let (m, k, n) = (400, 520, 1010)
        for kernel in GEMMKernel.available {
            for tb in [false, true] {
                let a = try Tensor.randn([m, k], generator: &rng), b = try Tensor.randn(tb ? [n, k] : [k, n], generator: &rng)
                func product(threads: Int) -> [Float] {
                    var c = [Float](repeating: .nan, count: m * n)
                    a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            sgemm(m: m, n: n, k: k, a: MatrixView(base: pa.baseAddress!, rows: m, columns: k, transposed: false),
                                  b: MatrixView(base: pb.baseAddress!, rows: k, columns: n, transposed: tb),
                                  c: &c, ldc: n, threads: threads, kernel: kernel)
                        }
                    }
                    return c
                }
                let one = product(threads: 1)
                XCTAssertFalse(one.contains { $0.isNaN }, "\(kernel) Bᵀ \(tb): a product left unwritten")
                for threads in [2, 3] {
                    XCTAssertTrue(product(threads: threads) == one, "\(kernel) Bᵀ \(tb), \(threads) threads: not the same bits as 1 thread")
                }
            }
        }
    }

    func testEveryAvailableKernelMatchesTheReference() throws {
        var rng = RandomGenerator(seed: 106)
        print("GEMM kernels on this CPU: \(GEMMKernel.available.map(\.name))")
        for kernel in GEMMKernel.available {
            // Past every blocking boundary too: k over kc, n over nc (and split by columns
            // between threads, as C is wide), m over mc.
            for (m, k, n) in [(1, 1, 1), (13, 7, 33), (37, 300, 70), (200, 257, 65), (12, 32, 32), (5, 700, 1100), (3100, 3, 17),
                              (1, 300, 70), (45, 257, 1)] {   // and matrix-vector products
                for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                    let a = try Tensor.randn(ta ? [k, m] : [m, k], generator: &rng), b = try Tensor.randn(tb ? [n, k] : [k, n], generator: &rng)
                    Runtime.backend = ReferenceBackend()
                    let expected = try Tensor.matmulPrimitive(a, b, transposeA: ta, transposeB: tb)
                    Runtime.backend = SIMDBackend()
                    for (threads, accumulate) in [(1, false), (3, false), (2, true)] {
                        // Accumulating adds to what C holds: start from ones.
                        var c = [Float](repeating: accumulate ? 1 : .nan, count: m * n)
                        a.withUnsafeBufferPointer { pa in
                            b.withUnsafeBufferPointer { pb in
                                sgemm(m: m, n: n, k: k, a: MatrixView(base: pa.baseAddress!, rows: m, columns: k, transposed: ta),
                                      b: MatrixView(base: pb.baseAddress!, rows: k, columns: n, transposed: tb),
                                      c: &c, ldc: n, accumulate: accumulate, threads: threads, kernel: kernel)
                            }
                        }
                        assertClose(try Tensor(shape: [m, n], elements: c), accumulate ? try expected + 1 : expected, rtol: 1e-4, atol: 1e-4,
                                    "\(kernel) \(m)×\(k)×\(n) Aᵀ \(ta) Bᵀ \(tb), \(threads) threads, accumulate \(accumulate)")
                    }
                    // A packed beforehand, as a convolution's weight is.
                    for threads in [1, 3] {
                        var c = [Float](repeating: .nan, count: m * n)
                        a.withUnsafeBufferPointer { pa in
                            b.withUnsafeBufferPointer { pb in
                                let packed = PackedMatrix(MatrixView(base: pa.baseAddress!, rows: m, columns: k, transposed: ta),
                                                          rows: m, columns: k, kernel: kernel)
                                sgemm(a: packed, n: n, b: MatrixView(base: pb.baseAddress!, rows: k, columns: n, transposed: tb),
                                      c: &c, ldc: n, threads: threads)
                            }
                        }
                        assertClose(try Tensor(shape: [m, n], elements: c), expected, rtol: 1e-4, atol: 1e-4,
                                    "\(kernel) packed A \(m)×\(k)×\(n) Aᵀ \(ta) Bᵀ \(tb), \(threads) threads")
                    }
                }
            }
        }
    }
}
