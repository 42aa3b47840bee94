import Foundation
import XCTest
import Engine
import Preview
import TestSupport

let fixtures = packageRoot.appendingPathComponent("Tests/PreviewTests/Fixtures")
func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

/// A binary PPM (P6) or PGM (P5) as a `[C, H, W]` tensor in [0, 1]: the reference pixels.
func readNetpbm(_ name: String) throws -> Tensor {
    let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixture(name))))
    var fields: [String] = []
    var i = 0
    while fields.count < 4 {
        while i < data.count && (data[i] == 0x20 || data[i] == 0x0A || data[i] == 0x0D || data[i] == 0x09) { i += 1 }
        if data[i] == UInt8(ascii: "#") { while data[i] != 0x0A { i += 1 }; continue }
        let start = i
        while i < data.count && !(data[i] == 0x20 || data[i] == 0x0A || data[i] == 0x0D || data[i] == 0x09) { i += 1 }
        fields.append(String(decoding: data[start..<i], as: UTF8.self))
    }
    i += 1
    let channels = fields[0] == "P6" ? 3 : 1
    guard let width = Int(fields[1]), let height = Int(fields[2]) else { throw TestDataError("bad netpbm header") }
    let pixels = data[i..<(i + width * height * channels)]
    var values = [Float](repeating: 0, count: pixels.count)
    for (k, byte) in pixels.enumerated() { values[(k % channels) * width * height + k / channels] = Float(byte) / 255 }
    return try Tensor(shape: [channels, height, width], elements: values)
}

final class ImageIOTests: ScratchDirectoryTestCase {
    func testPNGsWrittenByImageMagickDecodeExactly() throws {
        let rose = try readNetpbm("rose.ppm")
        XCTAssertEqual(try loadImage(fixture("rose.png")).scalars, rose.scalars)
        XCTAssertEqual(try loadImage(fixture("rose_gray.png")).scalars, try readNetpbm("rose_gray.pgm").scalars)
        // 16-bit samples are v·257; read as 8-bit they come back exactly.
        XCTAssertEqual(try loadImage(fixture("rose16.png")).scalars, rose.scalars)
        let rgba = try loadImage(fixture("rose_rgba.png"))
        XCTAssertEqual(rgba.shape, [4, 46, 70])
        XCTAssertEqual(try rgba[0..<3].scalars, rose.scalars)
        XCTAssertEqual(try rgba[3].max().item(), try rgba[3].min().item(), "a uniform alpha")
    }

    func testJPEGsDecodeAsLibjpegsOwnTool() throws {
        XCTAssertEqual(try loadImage(fixture("rose.jpg")).scalars, try readNetpbm("rose_jpg.ppm").scalars)
        XCTAssertEqual(try loadImage(fixture("rose_progressive.jpg")).scalars, try readNetpbm("rose_progressive_jpg.ppm").scalars)
        let gray = try loadImage(fixture("rose_gray.jpg"))
        XCTAssertEqual(gray.shape, [1, 46, 70])
        XCTAssertEqual(gray.scalars, try readNetpbm("rose_gray_jpg.pgm").scalars)
        // And close to the original photograph (JPEG is lossy).
        let error = try abs(loadImage(fixture("rose.jpg")) - readNetpbm("rose.ppm")).mean().item()
        XCTAssertLessThan(error, 8.0 / 255)
    }

    func testRangesAndRoundTrips() throws {
        var rng = RandomGenerator(seed: 3)
        for channels in [1, 3, 4] {
            // Values on the 8-bit grid survive a round trip exactly.
            let bytes = (0..<(channels * 5 * 7)).map { _ in Float(rng.next() % 256) }
            let image = try Tensor(shape: [channels, 5, 7], elements: bytes) / 255
            try savePNG(image, to: path("round.png"))
            XCTAssertEqual(try loadImage(path("round.png")).scalars, image.scalars, "\(channels) channels")
            let symmetric = try image * 2 - 1
            try savePNG(symmetric, to: path("symmetric.png"), range: .symmetric)
            assertClose(try loadImage(path("symmetric.png"), range: .symmetric), symmetric, rtol: 0, atol: 1e-6)
        }
        try savePNG(Tensor.full([4, 4], value: 2), to: path("clamped.png"))
        XCTAssertEqual(try loadImage(path("clamped.png")).scalars, [Float](repeating: 1, count: 16), "out-of-range values are clamped")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(), ["clamped.png", "round.png", "symmetric.png"])
    }

    func testBadFilesAreErrorsThatNameTheFile() throws {
        XCTAssertThrowsError(try loadImage(path("absent.png"))) { XCTAssertEqual("\($0)", "cannot read \(self.path("absent.png")): no such file") }
        try Data().write(to: URL(fileURLWithPath: path("empty.png")))
        XCTAssertThrowsError(try loadImage(path("empty.png"))) { XCTAssertEqual("\($0)", "\(self.path("empty.png")): the file is empty") }
        try Data("hello".utf8).write(to: URL(fileURLWithPath: path("text.jpg")))
        XCTAssertThrowsError(try loadImage(path("text.jpg"))) { XCTAssertEqual("\($0)", "\(self.path("text.jpg")): not a PNG or JPEG file") }
        XCTAssertThrowsError(try savePNG(Tensor.zeros([2, 4, 4]), to: path("two.png"))) {
            XCTAssertEqual("\($0)", "a tensor of shape [2, 4, 4] is not an image: expected [C, H, W] with C = 1, 3 or 4 (or [H, W])")
        }
        XCTAssertThrowsError(try savePNG(Tensor.zeros([3, 4, 4]), to: "/nonexistent-directory/x.png"))
    }

    /// Truncations and flipped bytes: an error or a picture, never a crash or a hang.
    func testDamagedFilesNeverCrash() throws {
        for name in ["rose.jpg", "rose_progressive.jpg", "rose.png", "rose16.png"] {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: fixture(name)))
            let target = path("damaged-" + name)
            for length in stride(from: 0, to: bytes.count - 1, by: max(1, bytes.count / 40)) {
                try bytes.prefix(length).write(to: URL(fileURLWithPath: target))
                XCTAssertThrowsError(try loadImage(target), "\(name) truncated to \(length) bytes")
            }
            var rng = RandomGenerator(seed: 9)
            for _ in 0..<40 {
                var flipped = bytes
                let i = Int(rng.next() % UInt64(bytes.count))
                flipped[i] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
                try flipped.write(to: URL(fileURLWithPath: target))
                if let image = try? loadImage(target) { XCTAssertEqual(image.rank, 3) }
            }
        }
        // A truncated JPEG names its file and says why.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: fixture("rose.jpg")))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path("half.jpg")))
        XCTAssertThrowsError(try loadImage(path("half.jpg"))) {
            XCTAssertTrue("\($0)".hasPrefix("\(self.path("half.jpg")) is damaged: corrupt or truncated data"), "\($0)")
        }
    }
}
