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
        // PyTorch's names for nn.Sequential(Conv2d, BatchNorm2d, ReLU, Flatten, spectral_norm(Linear)).
        XCTAssertEqual(names, ["layers.0.bias", "layers.0.weight", "layers.1.bias", "layers.1.num_batches_tracked", "layers.1.running_mean",
                               "layers.1.running_var", "layers.1.weight", "layers.4.bias", "layers.4.weight_orig", "layers.4.weight_u", "layers.4.weight_v"])
        for name in names { XCTAssertEqual(a.stateDict()[name]?.scalars, b.stateDict()[name]?.scalars, name) }
        let file = try SafeTensors.load(from: path("model.safetensors"))
        XCTAssertEqual(file.metadata["variant"], "test")
        XCTAssertTrue(file.verified, "checksums written and checked")
        XCTAssertEqual(file.dtypes["layers.1.num_batches_tracked"], .i64)
        XCTAssertEqual(file.tensors["layers.1.num_batches_tracked"]?.scalars, [1], "one training-mode call")
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
            assert n % 8 == 0 and header['__metadata__']['k'] == 'v'
            body = raw[8 + n:]
            for name, want in [('a', a), ('b', np.array([1.5, -2], dtype=np.float32))]:
                e = header[name]
                got = np.frombuffer(body[e['data_offsets'][0]:e['data_offsets'][1]], dtype='<f4').reshape(e['shape'])
                assert e['dtype'] == 'F32' and np.array_equal(got, want), name
            np.save('\(path("f4.npy"))', np.arange(6, dtype=np.float32).reshape(2, 3) / np.float32(3))
            np.save('\(path("f8.npy"))', np.linspace(0, 1, 5))
            np.save('\(path("fortran.npy"))', np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
            np.save('\(path("int.npy"))', np.arange(3))
            np.save('\(path("half.npy"))', np.array([0.5, -2, 65504], dtype=np.float16))
            np.save('\(path("u8.npy"))', np.arange(3, dtype=np.uint8))
            print('ok')
            """
        XCTAssertEqual(try runProgram(python, ["-c", script]), "ok\n")
        XCTAssertEqual(try NPY.load(from: path("f4.npy")).scalars, try (Tensor.arange(0, 6) / 3).scalars)
        XCTAssertEqual(try NPY.load(from: path("f8.npy")).scalars, [0, 0.25, 0.5, 0.75, 1])
        let fortran = try NPY.load(from: path("fortran.npy"))
        XCTAssertEqual(fortran.shape, [2, 3])
        XCTAssertEqual(fortran.scalars, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(try NPY.load(from: path("int.npy")).scalars, [0, 1, 2])
        XCTAssertEqual(try NPY.load(from: path("half.npy")).scalars, [0.5, -2, 65504])
        XCTAssertThrowsError(try NPY.load(from: path("u8.npy"))) {
            XCTAssertTrue("\($0)".contains("dtype '|u1'; Normlab reads little-endian float32"), "\($0)")
        }
    }
    // MARK: Hostile and foreign files

    /// A safetensors file from a header's text and the data after it.
    func forged(_ header: String, _ body: Data = Data(), length: UInt64? = nil) throws -> String {
        var file = Data()
        withUnsafeBytes(of: (length ?? UInt64(header.utf8.count)).littleEndian) { file.append(contentsOf: $0) }
        try (file + Data(header.utf8) + body).write(to: URL(fileURLWithPath: path("forged.safetensors")))
        return path("forged.safetensors")
    }

    func assertRefused(_ header: String, _ message: String, body: Data = Data(), length: UInt64? = nil, line: UInt = #line) throws {
        let file = try forged(header, body, length: length)
        XCTAssertThrowsError(try SafeTensors.load(from: file), line: line) {
            XCTAssertTrue("\($0)".contains(message), "\($0)", line: line)
        }
    }

    /// Issue 18 item 5: sizes that overflow count × size, and a header length near 2⁶³, are
    /// refused before anything is allocated.
    func testForgedSizesAreRefusedBeforeAllocating() throws {
        try assertRefused(#"{"w":{"dtype":"F32","shape":[2305843009213693952],"data_offsets":[0,8]}}"#,
                          "'w' has the shape [2305843009213693952], whose size in bytes overflows")
        try assertRefused(#"{"w":{"dtype":"F32","shape":[2147483648,2147483648,4],"data_offsets":[0,8]}}"#,
                          "'w' has the shape [2147483648, 2147483648, 4], whose element count overflows")
        try assertRefused(#"{"w":{"dtype":"F32","shape":[2147483648,2147483648],"data_offsets":[0,8]}}"#,
                          "'w' has the shape [2147483648, 2147483648], whose size in bytes overflows")
        try assertRefused(#"{"w":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,8]}}"#, "dimensions are whole numbers ≥ 0")
        try assertRefused(#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}}"#, "dimensions are whole numbers ≥ 0")
        try assertRefused(#"{"w":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#, "dimensions are whole numbers ≥ 0")
        try assertRefused(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}"#, "data_offsets are [-8, 0]")
        try assertRefused("{}", "the header claims 9223372036854775807 bytes", length: 0x7fff_ffff_ffff_ffff)
        try assertRefused(#"{"w":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}}"#, "'w' has dtype I8; Normlab reads F32, F64, F16, BF16, I64", body: Data([1, 2]))
    }

    /// Issue 18 item 7: the reference reader's layout rules: ranges back to back from 0 to the
    /// end of the file, no overlap, no gap, nothing left over.
    func testOverlappingGappedAndTrailingDataAreRefused() throws {
        let eight = Data(count: 8), twelve = Data(count: 12)
        try assertRefused(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, "'b' at bytes [4, 12) overlaps the tensor before it, which ends at 8",
                          body: twelve)
        try assertRefused(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, "bytes 4..<8 before 'b' belong to no tensor",
                          body: twelve)
        try assertRefused(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, "bytes 4..<8 at the end belong to no tensor", body: eight)
        try assertRefused(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#, "the data ends at byte 8, the tensors need 12", body: eight)
        // Out of header order but back to back is valid, as in any writer's file.
        let file = try forged(#"{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, eight)
        XCTAssertEqual(Set(try SafeTensors.load(from: file).tensors.keys), ["a", "b"])
        XCTAssertFalse(try SafeTensors.load(from: file).verified, "no checksums in a foreign file")
    }

    /// Every flipped bit of a checksummed file is refused: in the data by its tensor's CRC-32,
    /// in the header by the header's (or by the JSON or layout checks before them).
    func testEveryBitFlipOfAChecksummedFileIsRefused() throws {
        try SafeTensors.save(["w": Tensor.arange(0, 6), "b": Tensor([1.5, -2])], metadata: ["k": "v"], to: path("small.safetensors"))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path("small.safetensors")))
        var accepted: [Int] = []
        for bit in 0..<(bytes.count * 8) {
            var flipped = bytes
            flipped[bit / 8] ^= 1 << UInt8(bit % 8)
            if (try? SafeTensors.decode(flipped, path: "flip")) != nil { accepted.append(bit) }
        }
        XCTAssertEqual(accepted, [], "bits whose flip was accepted, of \(bytes.count * 8)")
        print("\(bytes.count * 8) single-bit flips of a \(bytes.count)-byte checksummed file: \(bytes.count * 8 - accepted.count) refused")
    }

    /// F64, F16, BF16 and I64 are read (converted to Float32), as PyTorch writes them.
    func testOtherDTypesAreConverted() throws {
        var body = Data()
        for v in [1.5, -0.25] as [Double] { withUnsafeBytes(of: v.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
        for v in [0.5, 65504] as [Float16] { withUnsafeBytes(of: v.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
        for v in [3.140625, -2] as [Float] { withUnsafeBytes(of: UInt16(v.bitPattern >> 16).littleEndian) { body.append(contentsOf: $0) } }
        for v in [7, -3] as [Int64] { withUnsafeBytes(of: v.littleEndian) { body.append(contentsOf: $0) } }
        let header = #"{"d":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"h":{"dtype":"F16","shape":[2],"data_offsets":[16,20]},"#
            + #""b":{"dtype":"BF16","shape":[2],"data_offsets":[20,24]},"i":{"dtype":"I64","shape":[2],"data_offsets":[24,40]}}"#
        let file = try SafeTensors.load(from: try forged(header, body))
        XCTAssertEqual(file.tensors["d"]?.scalars, [1.5, -0.25])
        XCTAssertEqual(file.tensors["h"]?.scalars, [0.5, 65504])
        XCTAssertEqual(file.tensors["b"]?.scalars, [3.140625, -2])
        XCTAssertEqual(file.tensors["i"]?.scalars, [7, -3])
        XCTAssertEqual(file.dtypes, ["d": .f64, "h": .f16, "b": .bf16, "i": .i64])
    }
}
