import CZlib
import Foundation
import XCTest
import Engine
@testable import Preview
import TestSupport

/// Hostile pictures (issue 18.3, 18.4, 18.6, 18.13): forged headers, files that are not files,
/// damaged bytes, names with escape sequences, values no plot can place.
final class HostileImageTests: ScratchDirectoryTestCase {
    func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixture(name)))) }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    /// rose.png with its IHDR declaring `width`×`height` (the chunk's CRC made right again, so
    /// libpng reads the header as valid).
    func forgedPNG(width: UInt32, height: UInt32) throws -> [UInt8] {
        var png = try bytes("rose.png")
        // Signature (8), IHDR length (4), "IHDR" (4), then width and height, big-endian.
        for (offset, value) in [(16, width), (20, height)] {
            for k in 0..<4 { png[offset + k] = UInt8(truncatingIfNeeded: value >> (24 - 8 * k)) }
        }
        fixChunkCRC(&png, at: 8)
        return png
    }

    /// Rewrites the CRC-32 of the chunk whose length field starts at `offset`.
    func fixChunkCRC(_ png: inout [UInt8], at offset: Int) {
        let length = png[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
        let crc = png[(offset + 4)..<(offset + 8 + length)].withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
        for k in 0..<4 { png[offset + 8 + length + k] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * k)) }
    }

    /// A JPEG fixture with its start-of-frame declaring `width`×`height`.
    func forgedJPEG(_ name: String, width: UInt16, height: UInt16) throws -> [UInt8] {
        var jpeg = try bytes(name)
        guard let sof = (0..<(jpeg.count - 1)).first(where: { jpeg[$0] == 0xFF && (jpeg[$0 + 1] == 0xC0 || jpeg[$0 + 1] == 0xC2) }) else {
            throw TestDataError("\(name) has no start-of-frame marker")
        }
        // FF Cn, length (2), precision (1), height (2), width (2).
        (jpeg[sof + 5], jpeg[sof + 6]) = (UInt8(height >> 8), UInt8(height & 0xFF))
        (jpeg[sof + 7], jpeg[sof + 8]) = (UInt8(width >> 8), UInt8(width & 0xFF))
        return jpeg
    }

    // MARK: 18.6 memory bombs

    /// A 2 KB JPEG whose header says 65500×65500 (12.9 GB of pixels): refused from the header,
    /// naming the file and the size, before libjpeg allocates for it.
    func testAJPEGDeclaringGigapixelsIsRefusedBeforeDecoding() throws {
        for name in ["rose.jpg", "rose_progressive.jpg"] {
            let file = try write(forgedJPEG(name, width: 65500, height: 65500), "bomb-" + name)
            XCTAssertThrowsError(try loadImage(file)) { error in
                XCTAssertEqual(error as? PreviewError, .tooLarge(path: file, width: 65500, height: 65500, channels: 3,
                                                                  reason: "47.9 GiB as a tensor: over the allocation limit of 4.0 GiB"))
                XCTAssertEqual("\(error)", "cannot read \(file): its header declares 65500×65500 pixels with 3 channels, 47.9 GiB as a tensor: "
                               + "over the allocation limit of 4.0 GiB")
            }
        }
    }

    /// The issue's PNG of 20000×20000 peaked at 7 GB before failing; now its header is enough.
    func testAPNGDeclaring20000SquaredIsRefusedFromItsHeader() throws {
        let file = try write(forgedPNG(width: 20000, height: 20000), "big.png")
        XCTAssertThrowsError(try loadImage(file)) { error in
            XCTAssertEqual("\(error)", "cannot read \(file): its header declares 20000×20000 pixels with 3 channels, 4.5 GiB as a tensor: "
                           + "over the allocation limit of 4.0 GiB")
        }
    }

    /// An image that fits the per-tensor limit but not what is left of the budget says so.
    func testAnImageOverTheMemoryBudgetSaysWhatIsLive() throws {
        let saved = Runtime.memoryBudget
        defer { Runtime.memoryBudget = saved }
        let live = Runtime.liveTensorBytes
        Runtime.memoryBudget = live + 10_000
        XCTAssertThrowsError(try loadImage(fixture("rose.png"))) { error in
            XCTAssertEqual("\(error)", "cannot read \(fixture("rose.png")): its header declares 70×46 pixels with 3 channels, 37.7 KiB as a tensor, "
                           + "and live tensors already hold \(formatBytes(live)): over the memory budget of \(formatBytes(live + 10_000)) (:memory)")
        }
        Runtime.memoryBudget = saved
        XCTAssertEqual(try loadImage(fixture("rose.png")).shape, [3, 46, 70])
    }

    // MARK: 18.4 only regular files

    func testAFolderADeviceAndProcMemAreErrorsNotCrashes() throws {
        XCTAssertThrowsError(try loadImage(directory.path)) { error in
            XCTAssertEqual("\(error)", "cannot read \(self.directory.path): it is a folder, not a regular file")
        }
        XCTAssertThrowsError(try loadImage("/tmp")) { XCTAssertEqual("\($0)", "cannot read /tmp: it is a folder, not a regular file") }
        XCTAssertThrowsError(try loadImage("/dev/null")) { XCTAssertEqual("\($0)", "cannot read /dev/null: it is a device, not a regular file") }
        XCTAssertThrowsError(try loadImage("/proc/self/mem")) { XCTAssertTrue("\($0)".hasPrefix("cannot read /proc/self/mem: "), "\($0)") }
    }

    /// A FIFO named like an image: open(2) without O_NONBLOCK would wait for a writer forever.
    func testAFIFONamedLikeAnImageDoesNotBlock() throws {
        let fifo = path("x.png")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertThrowsError(try loadImage(fifo)) { error in
            XCTAssertEqual("\(error)", "cannot read \(fifo): it is a named pipe (FIFO), not a regular file")
        }
    }

    // MARK: 18.13 names in messages

    func testEscapeSequencesInFileNamesAreNotPrintedRaw() throws {
        let name = "\u{1B}[2J\u{1B}[31mred.png"
        let file = try write(Array("not an image".utf8), name)
        XCTAssertThrowsError(try loadImage(file)) { error in
            XCTAssertEqual("\(error)", "\(self.directory.path)/\\u{1B}[2J\\u{1B}[31mred.png: not a PNG or JPEG file")
            XCTAssertFalse("\(error)".contains("\u{1B}"))
        }
    }

    // MARK: seeded corruption

    /// Bit flips, overwritten runs, truncations and edited header fields of every PNG and JPEG
    /// fixture: each is refused with a message that names the file, or decodes to a harmless
    /// picture (a [C, H, W] tensor of values in [0, 1] no larger than the header could declare).
    func testSeededCorruptionIsRefusedNamingTheFileOrDecodedHarmlessly() throws {
        var rng = RandomGenerator(seed: 18)
        var (refused, decoded) = (0, 0)
        for name in ["rose.png", "rose16.png", "rose_gray.png", "rose_rgba.png", "rose.jpg", "rose_progressive.jpg", "rose_gray.jpg"] {
            let original = try bytes(name)
            let isPNG = name.hasSuffix(".png")
            func random(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
            for trial in 0..<120 {
                var damaged = original
                switch trial % 6 {
                case 0:   // one bit
                    let i = random(damaged.count)
                    damaged[i] ^= 1 << UInt8(random(8))
                case 1:   // a run of random bytes
                    let start = random(damaged.count), length = min(1 + random(16), damaged.count - start)
                    for i in start..<(start + length) { damaged[i] = UInt8(truncatingIfNeeded: rng.next()) }
                case 2:   // cut short
                    damaged = Array(damaged.prefix(random(damaged.count)))
                case 3:   // a byte in the header (the first 200 bytes hold IHDR or SOF, DQT, DHT)
                    damaged[random(min(200, damaged.count))] = UInt8(truncatingIfNeeded: rng.next())
                case 4:   // a declared size edited (IHDR with a valid CRC, or SOF)
                    let (w, h) = (UInt32(1 + random(70_000)), UInt32(1 + random(70_000)))
                    damaged = isPNG ? try forgedPNG(width: w, height: h) : try forgedJPEG(name, width: UInt16(min(w, 65535)), height: UInt16(min(h, 65535)))
                    if isPNG && name != "rose.png" { damaged = original; damaged[random(damaged.count)] ^= 0x10 }
                default:  // bytes removed from the middle (a chunk or segment shifted)
                    let start = random(damaged.count), length = min(1 + random(64), damaged.count - start)
                    damaged.removeSubrange(start..<(start + length))
                }
                let file = try write(damaged, "damaged-\(trial)-" + name)
                do {
                    let image = try loadImage(file)
                    decoded += 1
                    XCTAssertEqual(image.rank, 3, file)
                    XCTAssertTrue([1, 3, 4].contains(image.shape[0]), "\(file): \(image.shape)")
                    XCTAssertLessThanOrEqual(image.shape[1] * image.shape[2], 65535 * 65535, file)
                    XCTAssertTrue(image.scalars.allSatisfy { $0 >= 0 && $0 <= 1 }, file)
                } catch let error as PreviewError {
                    refused += 1
                    XCTAssertTrue("\(error)".contains(file), "\(error) does not name \(file)")
                }
                try FileManager.default.removeItem(atPath: file)
            }
        }
        print("seeded corruption: \(refused) refused naming the file, \(decoded) decoded harmlessly")
        XCTAssertEqual(refused + decoded, 7 * 120)
        XCTAssertGreaterThan(refused, 7 * 120 / 2, "most damage is detected (\(refused) refused, \(decoded) decoded)")
    }

    // MARK: 18.3 values no plot can place

    /// NaN points, and values whose span is past the largest Double, used to trap converting a
    /// position to Int.
    func testPlotsOfNonFiniteAndHugeValuesDrawWithoutTrapping() throws {
        XCTAssertEqual(sparkline([1e308, -1e308]), "█▁")
        XCTAssertEqual(sparkline([-.greatestFiniteMagnitude, 0, .greatestFiniteMagnitude]), "▁▅█")
        let huge = LinePlot(series: [Series("", y: [1e308, -1e308, 1.7e308])])
        XCTAssertGreaterThanOrEqual(huge.terminal(width: 40, height: 8, colors: .ascii).split(separator: "\n").count, 8)
        XCTAssertEqual(huge.render(width: 200, height: 120).width, 200)
        let nan = ScatterPlot(series: [(name: "nan", points: [(.nan, .nan), (1, 2), (.infinity, 0)], color: nil)])
        XCTAssertFalse(nan.terminal(width: 20, height: 5, colors: .ascii).isEmpty)
        XCTAssertEqual(nan.render(width: 100, height: 100).width, 100)
        let allNaN = ScatterPlot(series: [(name: "", points: Array(repeating: (Double.nan, Double.nan), count: 4), color: nil)])
        _ = allNaN.terminal(width: 20, height: 5, colors: .ascii)
        _ = allNaN.render(width: 100, height: 100)
        // A fixed range with points far outside it (a diverged generator).
        let far = ScatterPlot(series: [(name: "", points: [(1e30, -1e30), (1e300, 5)], color: nil)], xRange: (-2, 2), yRange: (-2, 2))
        _ = far.render(width: 100, height: 100)
        _ = far.terminal(width: 20, height: 5, colors: .ascii)
        var canvas = Canvas(width: 10, height: 10)
        canvas.line(-1e300, 5, 1e300, 5, .black)
        canvas.line(.nan, 0, 5, 5, .black)
        canvas.disc(1e20, -1e20, radius: 3, .black)
        XCTAssertNotEqual(canvas[5, 5], .white, "the clipped line is drawn")
    }

    /// The clipped part of a segment is the part of the same line that lies over the canvas.
    func testLinesAreClippedToTheCanvas() {
        let canvas = Canvas(width: 100, height: 50)
        let clipped = canvas.clipped((-100, 25), (200, 25), margin: 0)
        XCTAssertEqual(clipped?.0.0, 0)
        XCTAssertEqual(clipped?.1.0, 100)
        XCTAssertNil(canvas.clipped((-10, -10), (-5, 200), margin: 2))
        XCTAssertNil(canvas.clipped((0, .infinity), (1, 1), margin: 2))
    }

    // MARK: 18.2 a grid larger than memory

    func testAGridWithAHugePaddingIsRefusedBeforeAllocating() throws {
        XCTAssertThrowsError(try grid(Tensor.rand([1, 3, 4, 4]), padding: 30000)) { error in
            XCTAssertEqual("\(error)", "grid: a tensor of shape [3, 60004, 60004] needs 40.2 GiB, over the allocation limit of 4.0 GiB (Runtime.allocationLimit)")
        }
        XCTAssertThrowsError(try grid(Tensor.rand([1, 3, 4, 4]), padding: Int.max / 2)) { error in
            XCTAssertEqual("\(error)", "a tensor of shape [1, 3, 4, 4] is not an image: a grid with padding \(Int.max / 2) is larger than any tensor")
        }
    }
}
