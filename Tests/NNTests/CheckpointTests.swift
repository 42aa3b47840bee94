import Foundation
import XCTest
import Engine
import NN
import TestSupport

final class CheckpointTests: ScratchDirectoryTestCase {
    func model() throws -> Sequential {
        try Sequential([Conv2d(3, 4, kernelSize: 3), BatchNorm2d(4), ReLU(), Flatten(), SpectralNorm(Linear(16, 2))])
    }

    func testModelRoundTripIsExact() throws {
        Runtime.seed(10)
        let a = try model()
        _ = try a(Tensor.randn([2, 3, 4, 4]))     // moves BatchNorm's running stats and SN's u
        try a.save(to: path("model.safetensors"), metadata: ["variant": "test"])
        Runtime.seed(11)
        let b = try model()
        try b.load(from: path("model.safetensors"))
        let names = a.stateDict().keys.sorted()
        XCTAssertEqual(names, ["layers.0.bias", "layers.0.weight", "layers.1.bias", "layers.1.runningMean", "layers.1.runningVar",
                               "layers.1.weight", "layers.4.layer.bias", "layers.4.layer.weight", "layers.4.u", "layers.4.v"])
        for name in names { XCTAssertEqual(a.stateDict()[name]?.scalars, b.stateDict()[name]?.scalars, name) }
        XCTAssertEqual(try SafeTensors.load(from: path("model.safetensors")).metadata, ["variant": "test"])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0 != "model.safetensors" }
        XCTAssertEqual(leftovers, [], "the temporary file of the atomic write is gone")
    }

    func testLoadingReportsEveryMismatchAndChangesNothing() throws {
        let a = try Sequential([Linear(3, 2), Linear(2, 1)])
        let b = try Sequential([Linear(3, 4), Linear(4, 1, bias: false)])
        let before = b.stateDict()
        XCTAssertThrowsError(try b.load(stateDict: a.stateDict())) { error in
            XCTAssertEqual(error as? CheckpointError, .mismatch([
                "layers.0.bias: shape [2] in the file, [4] in the model",
                "layers.0.weight: shape [2, 3] in the file, [4, 3] in the model",
                "layers.1.weight: shape [1, 2] in the file, [1, 4] in the model",
                "layers.1.bias: in the file, not in the model",
            ]))
        }
        for (name, value) in b.stateDict() { XCTAssertEqual(value.scalars, before[name]?.scalars, name) }
    }

    func testMissingAndCorruptFilesAreErrors() throws {
        XCTAssertThrowsError(try SafeTensors.load(from: path("absent.safetensors"))) {
            XCTAssertEqual("\($0)", "cannot read \(self.path("absent.safetensors")): no such file")
        }
        let good = path("good.safetensors")
        try SafeTensors.save(["w": Tensor.ones([4, 4])], to: good)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        // Truncations at every length and single flipped bytes: an error or a valid load, never a crash.
        for length in 0..<bytes.count {
            try bytes.prefix(length).write(to: URL(fileURLWithPath: path("cut.safetensors")))
            XCTAssertThrowsError(try SafeTensors.load(from: path("cut.safetensors")), "truncated to \(length) bytes")
        }
        for i in stride(from: 0, to: bytes.count, by: 3) {
            var flipped = bytes
            flipped[i] ^= 0xFF
            try flipped.write(to: URL(fileURLWithPath: path("flip.safetensors")))
            _ = try? SafeTensors.load(from: path("flip.safetensors"))
        }
        try Data("{\"not\": \"npy\"}".utf8).write(to: URL(fileURLWithPath: path("bad.npy")))
        XCTAssertThrowsError(try NPY.load(from: path("bad.npy"))) {
            XCTAssertEqual("\($0)", "\(self.path("bad.npy")) is not a valid file: no .npy magic at the start")
        }
    }

    func testNpyRoundTrip() throws {
        for shape in [[], [5], [2, 3], [2, 1, 4]] as [[Int]] {
            let t = try Tensor.arange(0, Float(Shape(shape).count)).reshaped(Shape(shape)) / 3
            try NPY.save(t, to: path("t.npy"))
            let back = try NPY.load(from: path("t.npy"))
            XCTAssertEqual(back.shape, t.shape)
            XCTAssertEqual(back.scalars, t.scalars)
        }
    }

    /// NumPy reads what Normlab writes, and Normlab reads what NumPy writes.
    func testFilesAgreeWithNumPy() throws {
        guard let python = findPython() else { throw XCTSkip("python3 with NumPy is not available for the cross-check") }
        let t = try Tensor.arange(0, 24).reshaped([2, 3, 4]) / 7
        try NPY.save(t, to: path("ours.npy"))
        try SafeTensors.save(["a": t, "b": Tensor([1.5, -2])], metadata: ["k": "v"], to: path("ours.safetensors"))
        let script = """
            import json, struct, numpy as np
            a = np.load('\(path("ours.npy"))')
            assert a.dtype == np.float32 and a.shape == (2, 3, 4), (a.dtype, a.shape)
            assert np.array_equal(a, np.arange(24, dtype=np.float32).reshape(2, 3, 4) / np.float32(7))
            raw = open('\(path("ours.safetensors"))', 'rb').read()
            n = struct.unpack('<Q', raw[:8])[0]
            header = json.loads(raw[8:8 + n])
            assert n % 8 == 0 and header['__metadata__'] == {'k': 'v'}
            body = raw[8 + n:]
            for name, want in [('a', a), ('b', np.array([1.5, -2], dtype=np.float32))]:
                e = header[name]
                got = np.frombuffer(body[e['data_offsets'][0]:e['data_offsets'][1]], dtype='<f4').reshape(e['shape'])
                assert e['dtype'] == 'F32' and np.array_equal(got, want), name
            np.save('\(path("f4.npy"))', np.arange(6, dtype=np.float32).reshape(2, 3) / np.float32(3))
            np.save('\(path("f8.npy"))', np.linspace(0, 1, 5))
            np.save('\(path("fortran.npy"))', np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
            np.save('\(path("int.npy"))', np.arange(3))
            print('ok')
            """
        XCTAssertEqual(try runProgram(python, ["-c", script]), "ok\n")
        XCTAssertEqual(try NPY.load(from: path("f4.npy")).scalars, try (Tensor.arange(0, 6) / 3).scalars)
        XCTAssertEqual(try NPY.load(from: path("f8.npy")).scalars, [0, 0.25, 0.5, 0.75, 1])
        let fortran = try NPY.load(from: path("fortran.npy"))
        XCTAssertEqual(fortran.shape, [2, 3])
        XCTAssertEqual(fortran.scalars, [0, 1, 2, 3, 4, 5])
        XCTAssertThrowsError(try NPY.load(from: path("int.npy"))) {
            XCTAssertTrue("\($0)".contains("dtype '<i8'; Normlab reads little-endian float32"), "\($0)")
        }
    }
}
