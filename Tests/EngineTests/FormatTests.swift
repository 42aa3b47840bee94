import Foundation
import XCTest
@testable import Engine
import TestSupport

/// Printing follows NumPy: `str(array)` with `np.set_printoptions(precision=4)`.
final class FormatTests: XCTestCase {
    func testMatchesStringsNumPyPrinted() throws {
        for (name, make, expected) in Self.numpyCases {
            XCTAssertEqual(try make().formatted(PrintOptions()), expected, name)
        }
    }

    func testShapeOnRequest() throws {
        var options = PrintOptions()
        options.showShape = true
        XCTAssertEqual(try Tensor.ones([2, 2]).formatted(options), "[[1. 1.]\n [1. 1.]]\nshape [2, 2], float32")
    }

    func testPrecisionIsConfigurable() throws {
        var options = PrintOptions()
        options.precision = 2
        XCTAssertEqual(try Tensor([0.123456, 1.0]).formatted(options), "[0.12 1.  ]")
    }

    /// Random tensors of many scales and shapes, printed by NumPy itself when it is present.
    func testMatchesNumPyOnRandomTensors() throws {
        guard let python = findPython() else { throw XCTSkip("python3 with NumPy is not available: the fixed NumPy strings above still ran") }
        var rng = RandomGenerator(seed: 2024)
        var tensors: [Tensor] = []
        for (shape, scale) in [([7], Float(1)), ([3, 4], 10), ([2, 3, 5], 0.01), ([40, 30], 1), ([5], 1e-6),
                               ([4, 4], 1e5), ([2, 2, 2, 2], 300), ([1001], 1), ([3, 3], 1e9)] as [([Int], Float)] {
            var t = try Tensor.randn(Shape(shape), generator: &rng) * Tensor(scale)
            if shape == [2, 2, 2, 2] { try t.withUnsafeMutableBufferPointer { $0[3] = 0; $0[5] = -0.0 } }
            tensors.append(t)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("normlab-format-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var script = "import numpy as np\nnp.set_printoptions(precision=4)\n"
        for (i, t) in tensors.enumerated() {
            let file = directory.appendingPathComponent("\(i).f32")
            try t.withUnsafeBufferPointer { try Data(buffer: $0).write(to: file) }
            script += "print(str(np.fromfile('\(file.path)', dtype=np.float32).reshape(\(t.shape.dims))))\nprint('\\x1e')\n"
        }
        let output = try runProgram(python, ["-c", script])
        let printed = output.components(separatedBy: "\n\u{1e}\n")
        for (i, t) in tensors.enumerated() {
            XCTAssertEqual(t.formatted(PrintOptions()), printed[i], "tensor \(i) of shape \(t.shape)")
        }
    }

    static let numpyCases: [(name: String, make: @Sendable () throws -> Tensor, expected: String)] = [
        ("arange 2x3", { try Tensor.arange(0, 6).reshaped([2, 3]) },
         """
         [[0. 1. 2.]
          [3. 4. 5.]]
         """),
        ("short fractions", { try Tensor([1.5, 2.25, -3.125]) },
         """
         [ 1.5    2.25  -3.125]
         """),
        ("rounded to precision", { try Tensor([0.123456, 1.0, -2.5]) },
         """
         [ 0.1235  1.     -2.5   ]
         """),
        ("ties round to even", { try Tensor([0.03125, 1.0]) },
         """
         [0.0312 1.    ]
         """),
        ("small values switch to scientific", { try Tensor([1e-5, 1, 2.5]) },
         """
         [1.0e-05 1.0e+00 2.5e+00]
         """),
        ("large range switches to scientific", { try Tensor([[-1.5, 10.25], [100.125, -0.001]]) },
         """
         [[-1.5000e+00  1.0250e+01]
          [ 1.0012e+02 -1.0000e-03]]
         """),
        ("huge values", { try Tensor([1e8, 1]) },
         """
         [1.e+08 1.e+00]
         """),
        ("non-finite", { try Tensor([Float.nan, 1, -Float.infinity]) },
         """
         [ nan   1. -inf]
         """),
        ("only nan", { try Tensor([Float.nan]) },
         """
         [nan]
         """),
        ("rank 3", { try Tensor.arange(0, 12).reshaped([2, 2, 3]) },
         """
         [[[ 0.  1.  2.]
           [ 3.  4.  5.]]
         
          [[ 6.  7.  8.]
           [ 9. 10. 11.]]]
         """),
        ("long rows wrap at 75 columns", { try Tensor.linspace(0, 1, count: 30) },
         """
         [0.     0.0345 0.069  0.1034 0.1379 0.1724 0.2069 0.2414 0.2759 0.3103
          0.3448 0.3793 0.4138 0.4483 0.4828 0.5172 0.5517 0.5862 0.6207 0.6552
          0.6897 0.7241 0.7586 0.7931 0.8276 0.8621 0.8966 0.931  0.9655 1.    ]
         """),
        ("summarised past 1000 elements", { try Tensor.arange(0, 2000).reshaped([2, 10, 100]) / 7 },
         """
         [[[0.0000e+00 1.4286e-01 2.8571e-01 ... 1.3857e+01 1.4000e+01 1.4143e+01]
           [1.4286e+01 1.4429e+01 1.4571e+01 ... 2.8143e+01 2.8286e+01 2.8429e+01]
           [2.8571e+01 2.8714e+01 2.8857e+01 ... 4.2429e+01 4.2571e+01 4.2714e+01]
           ...
           [1.0000e+02 1.0014e+02 1.0029e+02 ... 1.1386e+02 1.1400e+02 1.1414e+02]
           [1.1429e+02 1.1443e+02 1.1457e+02 ... 1.2814e+02 1.2829e+02 1.2843e+02]
           [1.2857e+02 1.2871e+02 1.2886e+02 ... 1.4243e+02 1.4257e+02 1.4271e+02]]
         
          [[1.4286e+02 1.4300e+02 1.4314e+02 ... 1.5671e+02 1.5686e+02 1.5700e+02]
           [1.5714e+02 1.5729e+02 1.5743e+02 ... 1.7100e+02 1.7114e+02 1.7129e+02]
           [1.7143e+02 1.7157e+02 1.7171e+02 ... 1.8529e+02 1.8543e+02 1.8557e+02]
           ...
           [2.4286e+02 2.4300e+02 2.4314e+02 ... 2.5671e+02 2.5686e+02 2.5700e+02]
           [2.5714e+02 2.5729e+02 2.5743e+02 ... 2.7100e+02 2.7114e+02 2.7129e+02]
           [2.7143e+02 2.7157e+02 2.7171e+02 ... 2.8529e+02 2.8543e+02 2.8557e+02]]]
         """),
        ("summarised rows", { try Tensor.arange(0, 3000).reshaped([1000, 3]) },
         """
         [[0.000e+00 1.000e+00 2.000e+00]
          [3.000e+00 4.000e+00 5.000e+00]
          [6.000e+00 7.000e+00 8.000e+00]
          ...
          [2.991e+03 2.992e+03 2.993e+03]
          [2.994e+03 2.995e+03 2.996e+03]
          [2.997e+03 2.998e+03 2.999e+03]]
         """),
        ("negative zero and integers", { try Tensor([-0.0, 2, -30]) },
         """
         [ -0.   2. -30.]
         """),
        ("empty", { try Tensor.zeros([2, 0]) },
         """
         []
         """),
        ("scalar", { Tensor(1.5) },
         """
         1.5
         """),
        ("scalar one", { Tensor(1) },
         """
         1.0
         """),
        ("scalar small", { Tensor(1e-5) },
         """
         1e-05
         """),
        ("scalar large", { Tensor(1234567) },
         """
         1.234567e+06
         """),
        ("scalar tenth", { Tensor(0.1) },
         """
         0.1
         """),
    ]
}

