import CZlib
import Foundation
import XCTest
import Engine
@testable import GAN
import Preview
import TestSupport

/// Hostile datasets (issue 18.2, 18.3, 18.9, 18.12, 18.13, 18.14): a damaged or forged cache,
/// files that cannot be decoded, attribute lists that do not match, folders that are not ours,
/// counts and sizes no tensor can hold.
final class HostileDataTests: ScratchDirectoryTestCase {
    let settings = Preprocessing(crop: .none, size: 8)

    /// Six synthetic faces in CelebA's layout under `name`, loaded once so that the cache exists.
    func facesWithCache(_ name: String = "set") throws -> (first: ImageDataset, cacheFile: String) {
        let (images, attributes) = try syntheticFaces(count: 6, size: 8, seed: 6)
        try writeCelebALayout(images: images, attributes: attributes, to: path(name))
        let first = try ImageDataset.load(path(name), preprocessing: settings)
        let cacheFolder = path(name) + "/.normlab-cache"
        let files = try FileManager.default.contentsOfDirectory(atPath: cacheFolder).filter { $0.hasSuffix(".cache") }
        XCTAssertEqual(files.count, 1)
        return (first, cacheFolder + "/" + files[0])
    }

    /// Where the cache's float data starts: after the magic line, the length and the header.
    func dataOffset(_ cache: [UInt8]) -> Int {
        let magic = ImageCache.magic.count
        let length = cache[magic..<(magic + 8)].reversed().reduce(0) { $0 << 8 | Int($1) }
        return magic + 8 + length
    }

    func offset(of text: String, in bytes: [UInt8]) -> Int {
        let needle = Array(text.utf8)
        let found = (0...(bytes.count - needle.count)).first { Array(bytes[$0..<($0 + needle.count)]) == needle }
        XCTAssertNotNil(found, "\(text) is in the cache")
        return found ?? 0
    }

    /// Rewrites the trailing CRC-32 so that the file is checksummed as the cache writes it.
    func withValidChecksum(_ cache: [UInt8]) -> [UInt8] {
        var body = Array(cache.dropLast(4))
        let crc = UInt32(truncatingIfNeeded: body.withUnsafeBufferPointer { crc32_z(0, $0.baseAddress, $0.count) })
        withUnsafeBytes(of: crc.littleEndian) { body += $0 }
        return body
    }

    func load(_ name: String = "set") throws -> ImageDataset { try ImageDataset.load(path(name), preprocessing: settings) }

    // MARK: 18.9 the cache

    /// A flipped bit, a NaN and a 1e30 written into the cached pixels were loaded silently while
    /// the summary said "values in [−1, 1]". The checksum finds each; the set is decoded again.
    func testBitFlipsNaNAndHugeValuesInTheCacheAreFoundAndRebuilt() throws {
        let (first, cacheFile) = try facesWithCache()
        let pristine = [UInt8](try Data(contentsOf: URL(fileURLWithPath: cacheFile)))
        let start = dataOffset(pristine)
        let edits: [(String, ([UInt8]) -> [UInt8])] = [
            ("a flipped bit", { var c = $0; c[start + 1000] ^= 0x04; return c }),
            ("a NaN", { var c = $0; withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { c.replaceSubrange((start + 40)..<(start + 44), with: $0) }; return c }),
            ("1e30", { var c = $0; withUnsafeBytes(of: Float(1e30).bitPattern.littleEndian) { c.replaceSubrange((start + 40)..<(start + 44), with: $0) }; return c }),
            ("a flipped bit in a name", { var c = $0; c[self.offset(of: "\"names\":[\"000001.png\",\"000002", in: c) + 28] ^= 0x01; return c }),
            ("a flipped bit in the fingerprint", { var c = $0; c[self.offset(of: "000002.png:", in: c) + 5] ^= 0x01; return c }),
        ]
        for (what, edit) in edits {
            try Data(edit(pristine)).write(to: URL(fileURLWithPath: cacheFile))
            let again = try load()
            XCTAssertEqual(again.images.scalars, first.images.scalars, what)
            XCTAssertEqual(again.warnings.count, 1, "\(what): \(again.warnings)")
            XCTAssertTrue(again.warnings.first?.hasPrefix("the cache \(cacheFile) was damaged (") ?? false, "\(what): \(again.warnings)")
            XCTAssertTrue(again.warnings.first?.hasSuffix("; it is rebuilt") ?? false, "\(what): \(again.warnings)")
            XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: cacheFile))), pristine, "\(what): the rebuilt cache is the original")
            XCTAssertTrue(try load().warnings.isEmpty, "\(what): the rebuilt cache is a hit")
        }
        XCTAssertTrue(first.summary.contains("values in [-"), first.summary)
    }

    /// The issue's forged headers, with a correct checksum so that only the checks of each
    /// field stand between them and an overflow: refused, rebuilt, no trap.
    func testForgedCacheHeadersAreRefusedWithCheckedArithmetic() throws {
        let (first, cacheFile) = try facesWithCache()
        let pristine = [UInt8](try Data(contentsOf: URL(fileURLWithPath: cacheFile)))
        let magic = ImageCache.magic.count
        let start = dataOffset(pristine)
        let header = String(decoding: pristine[(magic + 8)..<start], as: UTF8.self)
        func forged(header text: String) -> [UInt8] {
            let json = Array(text.utf8)
            var bytes = Array(pristine[0..<magic])
            withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes += $0 }
            return withValidChecksum(bytes + json + pristine[start...])
        }
        var hugeLength = pristine
        withUnsafeBytes(of: UInt64(0x7fff_ffff_ffff_ffff).littleEndian) { hugeLength.replaceSubrange(magic..<(magic + 8), with: $0) }
        let cases: [(String, [UInt8], String)] = [
            ("shape [49, 3, 3037000500, 3037000500]", forged(header: header.replacingOccurrences(of: "\"shape\":[6,3,8,8]", with: "\"shape\":[49,3,3037000500,3037000500]")),
             "its shape [49, 3, 3037000500, 3037000500] is not [6, 3, 8, 8]"),
            ("header length 0x7fffffffffffffff", withValidChecksum(hugeLength), "its header length 9223372036854775807 does not fit in \(pristine.count) bytes"),
            ("header length 2⁶⁴ − 1", withValidChecksum({ var c = pristine; c.replaceSubrange(magic..<(magic + 8), with: [UInt8](repeating: 0xFF, count: 8)); return c }()),
             "its header length 18446744073709551615 does not fit in \(pristine.count) bytes"),
            ("data cut short", withValidChecksum(Array(pristine.dropLast(40))), "its data holds 4568 bytes where its shape needs 4608"),
            ("not a cache", Array("hello".utf8), "not a Normlab image cache"),
        ]
        XCTAssertTrue(header.contains("\"shape\":[6,3,8,8]"), header)
        for (what, bytes, reason) in cases {
            try Data(bytes).write(to: URL(fileURLWithPath: cacheFile))
            let again = try load()
            XCTAssertEqual(again.images.scalars, first.images.scalars, what)
            XCTAssertEqual(again.warnings, ["the cache \(cacheFile) was damaged (\(reason)); it is rebuilt"], what)
        }
    }

    /// `.normlab-cache` as a symbolic link: not read, not written through.
    func testTheCacheFolderIsNotUsedThroughASymbolicLink() throws {
        let (images, attributes) = try syntheticFaces(count: 4, size: 8, seed: 1)
        try writeCelebALayout(images: images, attributes: attributes, to: path("set"))
        try FileManager.default.createDirectory(atPath: path("elsewhere"), withIntermediateDirectories: true)
        XCTAssertEqual(symlink(path("elsewhere"), path("set") + "/.normlab-cache"), 0)
        let set = try load()
        XCTAssertEqual(set.count, 4)
        XCTAssertEqual(set.warnings, ["the cache is not used: \(path("set"))/.normlab-cache is a symbolic link, which the cache does not follow"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("elsewhere")), [])
    }

    // MARK: 18.9 skipped files

    /// Skipped files are counted by reason, a few named, and all listed in a file.
    func testSkippedFilesAreCountedByReasonNamedAndListed() throws {
        let folder = path("photos")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for i in 0..<3 { try savePNG(Tensor.rand([3, 8, 8]), to: folder + "/good\(i).png") }
        let good = try Data(contentsOf: URL(fileURLWithPath: folder + "/good0.png"))
        for i in 0..<5 { try good.prefix(good.count / 2).write(to: URL(fileURLWithPath: folder + "/cut\(i).png")) }
        try Data("text".utf8).write(to: URL(fileURLWithPath: folder + "/notes.jpg"))
        XCTAssertEqual(mkfifo(folder + "/pipe.png", 0o600), 0)
        let set = try ImageDataset.load(folder, preprocessing: settings)
        XCTAssertEqual(set.count, 3)
        XCTAssertEqual(set.skipped.count, 7)
        let list = try XCTUnwrap(set.warnings.first?.components(separatedBy: "; all of them, with the reasons, in ").last)
        XCTAssertEqual(set.warnings.first, "skipped 7 of 10 files: 5 damaged (cut0.png, cut1.png, cut2.png, …), 1 not a supported image (notes.jpg), "
                       + "1 unreadable (pipe.png); all of them, with the reasons, in \(list)")
        let lines = try String(contentsOfFile: list, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 7)
        XCTAssertTrue(lines.contains { $0.hasPrefix("pipe.png\tunreadable\tcannot read \(folder)/pipe.png: it is a named pipe (FIFO)") }, "\(lines)")
        // A second load, from the cache, says the same.
        XCTAssertEqual(try ImageDataset.load(folder, preprocessing: settings).warnings, set.warnings)
    }

    func testAFolderOfOnlyBrokenImagesSaysWhy() throws {
        let folder = path("broken")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: folder + "/a.png"))
        XCTAssertThrowsError(try ImageDataset.load(folder, preprocessing: settings)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(folder): no image could be decoded: skipped 1 of 1 files: 1 not a supported image (a.png)"), "\(error)")
        }
    }

    // MARK: 18.12, 18.14 the folder itself

    /// `dataset("/etc/hostname")` said "no such file" for a file that exists.
    func testAFileIsNotADataset() throws {
        try Data("host\n".utf8).write(to: URL(fileURLWithPath: path("hostname")))
        XCTAssertThrowsError(try ImageDataset.load(path("hostname"))) { error in
            XCTAssertEqual("\(error)", "\(self.path("hostname")) is a file; a dataset is a folder of PNG/JPEG images, or a CelebA folder with img_align_celeba/")
        }
        XCTAssertThrowsError(try ImageDataset.load(path("absent"))) { XCTAssertEqual("\($0)", "\(self.path("absent")): no such file or folder") }
        XCTAssertThrowsError(try ImageDataset.load("/dev/null")) { XCTAssertEqual("\($0)", "/dev/null is not a folder; a dataset is a folder of PNG/JPEG images, or a CelebA folder with img_align_celeba/") }
    }

    /// The issue's failing suite: 44 stale faces beside a list written for 4 gave an internal
    /// shape error. Images without a row are now named.
    func testImagesWithoutAnAttributeRowAreNamed() throws {
        let (images, attributes) = try syntheticFaces(count: 4, size: 8, seed: 2)
        try writeCelebALayout(images: images, attributes: attributes, to: path("set"))
        for i in 5...8 { try savePNG(images[0], to: path("set") + String(format: "/img_align_celeba/%06d.png", i)) }
        XCTAssertThrowsError(try load()) { error in
            XCTAssertEqual("\(error)", "\(self.path("set"))/list_attr_celeba.txt has no row for 4 of the 8 images (000005.png, 000006.png, 000007.png, …; "
                           + "it lists 4): the attribute list and the images do not belong together (remove the list, or write the whole folder again)")
        }
    }

    /// save_faces over an earlier set replaces it whole: no stale image stays beside the new list.
    func testWritingFacesOverAnEarlierSetReplacesItWhole() throws {
        let many = try syntheticFaces(count: 44, size: 8, seed: 0)
        try writeCelebALayout(images: many.images, attributes: many.attributes, to: path("faces"))
        XCTAssertEqual(try load("faces").count, 44)
        let few = try syntheticFaces(count: 4, size: 8, seed: 0)
        try writeCelebALayout(images: few.images, attributes: few.attributes, to: path("faces"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("faces") + "/img_align_celeba").count, 4)
        let set = try load("faces")
        XCTAssertEqual(set.count, 4)
        XCTAssertEqual(set.attributes ?? [], few.attributes.map(\.labels))
    }

    /// …and a folder that holds anything else is refused, its files untouched.
    func testWritingFacesIntoAFolderWithOtherFilesIsRefused() throws {
        let (images, attributes) = try syntheticFaces(count: 2, size: 8, seed: 0)
        try FileManager.default.createDirectory(atPath: path("docs"), withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: URL(fileURLWithPath: path("docs") + "/notes.txt"))
        XCTAssertThrowsError(try writeCelebALayout(images: images, attributes: attributes, to: path("docs"))) { error in
            XCTAssertEqual("\(error)", "\(self.path("docs")) already holds files that save_faces did not write (notes.txt): choose an empty or new folder")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("docs")), ["notes.txt"])
        // A CelebA download (JPEG images) is not mistaken for an earlier set.
        try FileManager.default.createDirectory(atPath: path("celeba/img_align_celeba"), withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: path("celeba/img_align_celeba/000001.jpg")))
        XCTAssertThrowsError(try writeCelebALayout(images: images, attributes: attributes, to: path("celeba")))
        XCTAssertThrowsError(try writeCelebALayout(images: images, attributes: attributes, to: path("docs") + "/notes.txt")) { error in
            XCTAssertEqual("\(error)", "\(self.path("docs"))/notes.txt is a file; a dataset is a folder of PNG/JPEG images, or a CelebA folder with img_align_celeba/")
        }
    }

    // MARK: 18.2, 18.3 counts and sizes

    func testCountsAndSizesNoTensorCanHoldAreErrors() throws {
        XCTAssertThrowsError(try syntheticFaces(count: 1_000_000_000, size: 8)) { error in
            XCTAssertEqual("\(error)", "syntheticFaces: a tensor of shape [1000000000, 3, 8, 8] needs 715.3 GiB, over the allocation limit of 4.0 GiB (Runtime.allocationLimit)")
        }
        XCTAssertThrowsError(try syntheticFaces(count: 4_444_444_444, size: 64))
        XCTAssertThrowsError(try syntheticFaces(count: -1, size: 8))
        var rng = RandomGenerator(seed: 0)
        XCTAssertThrowsError(try ToyDistribution.eightGaussians.sample(-1, generator: &rng)) {
            XCTAssertEqual("\($0)", "toy: the count must be ≥ 0, got -1")
        }
        XCTAssertThrowsError(try ToyDistribution.swissRoll.sample(1 << 40, generator: &rng)) {
            XCTAssertEqual("\($0)", "toy: a tensor of shape [1099511627776, 2] needs 8.0 TiB, over the allocation limit of 4.0 GiB (Runtime.allocationLimit)")
        }
        XCTAssertEqual(try ToyDistribution.eightGaussians.sample(0, generator: &rng).shape, [0, 2])
        let (images, attributes) = try syntheticFaces(count: 2, size: 8, seed: 0)
        try writeCelebALayout(images: images, attributes: attributes, to: path("set"))
        XCTAssertThrowsError(try ImageDataset.load(path("set"), preprocessing: Preprocessing(size: 100_000))) {
            XCTAssertEqual("\($0)", "dataset: a tensor of shape [2, 3, 100000, 100000] needs 223.5 GiB, over the allocation limit of 4.0 GiB (Runtime.allocationLimit)")
        }
        XCTAssertThrowsError(try ImageDataset.load(path("set"), preprocessing: Preprocessing(size: -3))) {
            XCTAssertEqual("\($0)", "dataset: the size must be at least 1 pixel, got -3")
        }
    }

    /// A trillion pairs asked for: every distinct pair once, exactly, instead of hours of sampling.
    func testMorePairsThanThereAreMeasuresEveryPairOnce() throws {
        // Three images at 0, 0.5 and 2 everywhere: pair distances 0.5, 2 and 1.5.
        let images = try Tensor.concat([Tensor.zeros([1, 2, 2]), Tensor.full([1, 2, 2], value: 0.5), Tensor.full([1, 2, 2], value: 2)])
        XCTAssertEqual(try meanPairDistance(images, pairs: 1_000_000_000_000), 4.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(try meanPairDistance(images, pairs: 3), 4.0 / 3, accuracy: 1e-12)
        XCTAssertThrowsError(try meanPairDistance(images, pairs: 0))
    }
}
