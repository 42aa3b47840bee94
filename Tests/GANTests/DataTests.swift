import Foundation
import XCTest
import Engine
@testable import GAN
import Preview
import TestSupport

final class DataTests: ScratchDirectoryTestCase {
    func testSyntheticFacesAreDeterministicAndLabelled() throws {
        let a = try syntheticFaces(count: 12, size: 24, seed: 3), b = try syntheticFaces(count: 12, size: 24, seed: 3)
        XCTAssertEqual(a.images.scalars, b.images.scalars, "the same seed gives the same faces")
        XCTAssertNotEqual(a.images.scalars, try syntheticFaces(count: 12, size: 24, seed: 4).images.scalars)
        XCTAssertEqual(a.images.shape, [12, 3, 24, 24])
        XCTAssertGreaterThanOrEqual(try a.images.min().item(), 0)
        XCTAssertLessThanOrEqual(try a.images.max().item(), 1)
        XCTAssertTrue(a.attributes.allSatisfy { $0.labels.count == FaceAttributes.names.count })
        // Attributes vary: over 300 faces each label appears and is absent.
        let many = try syntheticFaces(count: 300, size: 8, seed: 1).attributes.map(\.labels)
        for (k, name) in FaceAttributes.names.enumerated() {
            let positives = many.filter { $0[k] == 1 }.count
            XCTAssertTrue(positives > 0 && positives < 300, "\(name): \(positives) of 300")
        }
    }

    func testCelebALayoutWrittenByTheGeneratorLoads() throws {
        let (images, attributes) = try syntheticFaces(count: 20, size: 32, seed: 5)
        try writeCelebALayout(images: images, attributes: attributes, to: path("celeba"))
        let all = try ImageDataset.load(path("celeba"), preprocessing: Preprocessing(crop: .none, size: 32), cacheDirectory: path("cache"))
        XCTAssertEqual(all.count, 20)
        XCTAssertEqual(all.names.first, "000001.png")
        XCTAssertEqual(all.attributeNames, FaceAttributes.names)
        XCTAssertEqual(all.attributes ?? [], attributes.map(\.labels))
        // PNG keeps 8 bits: the loaded images are the rendered ones to within half a step, in [−1, 1].
        assertClose(all.images, try images * 2 - 1, rtol: 0, atol: 1.01 / 255, "pixels")
        XCTAssertEqual(try ImageDataset.load(path("celeba"), preprocessing: Preprocessing(crop: .none, size: 32), split: 0, cacheDirectory: path("cache")).count, 16)
        XCTAssertEqual(try ImageDataset.load(path("celeba"), preprocessing: Preprocessing(crop: .none, size: 32), split: 2, cacheDirectory: path("cache")).count, 2)
        XCTAssertEqual(try ImageDataset.load(path("celeba"), preprocessing: Preprocessing(crop: .none, size: 16), limit: 5, cacheDirectory: path("cache")).images.shape, [5, 3, 16, 16])
        XCTAssertTrue(all.summary.hasPrefix("20 images of shape [3, 32, 32]"), all.summary)
        // Attribute filters keep the images labelled +1 (or −1 with "!").
        let smiling = attributes.filter { $0.smiling }.count
        let kept = try ImageDataset.load(path("celeba"), preprocessing: Preprocessing(crop: .none, size: 32), attribute: "Smiling", cacheDirectory: path("cache"))
        XCTAssertEqual(kept.count, smiling)
        XCTAssertTrue(kept.attributes!.allSatisfy { $0[FaceAttributes.names.firstIndex(of: "Smiling")!] == 1 })
        XCTAssertEqual(try ImageDataset.load(path("celeba"), preprocessing: Preprocessing(crop: .none, size: 32), attribute: "!Smiling", cacheDirectory: path("cache")).count, 20 - smiling)
        XCTAssertThrowsError(try ImageDataset.load(path("celeba"), attribute: "Smilling", cacheDirectory: path("cache")))
    }

    func testCelebATextFiles() throws {
        // CelebA pads the attribute table with runs of spaces.
        try "3\nSmiling  Male\n000001.jpg  1 -1\n000002.jpg -1  1\n000003.jpg  1  1\n".write(toFile: path("attr.txt"), atomically: true, encoding: .utf8)
        let parsed = try CelebAFiles.attributes(path("attr.txt"))
        XCTAssertEqual(parsed.names, ["Smiling", "Male"])
        XCTAssertEqual(parsed.labels["000002.jpg"], [-1, 1])
        try "5\nSmiling  Male\n000001.jpg  1 -1\n000002.jpg -1  1\n".write(toFile: path("cut.txt"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CelebAFiles.attributes(path("cut.txt"))) {
            XCTAssertEqual("\($0)", "\(self.path("cut.txt")):5: the file announces 5 images and lists 2 (truncated?)")
        }
        try "000001.jpg   0\n000002.jpg 7\n".write(toFile: path("part.txt"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CelebAFiles.partition(path("part.txt"))) {
            XCTAssertEqual("\($0)", "\(self.path("part.txt")):2: expected 'name 0|1|2', found '000002.jpg 7'")
        }
        XCTAssertThrowsError(try ImageDataset.load(path("nowhere"))) { XCTAssertEqual("\($0)", "\(self.path("nowhere")): no such file or folder") }
    }

    func testCropAndAreaResizeByHand() throws {
        let ramp = try Tensor.arange(0, 16).reshaped([1, 4, 4])
        XCTAssertEqual(try areaResize(ramp, to: 2).scalars, [2.5, 4.5, 10.5, 12.5], "each output averages a 2×2 block")
        // 3 → 2: each output covers 1.5 pixels: (0·1 + 3·0.5)/1.5 = 1 and (3·0.5 + 6·1)/1.5 = 5.
        let row = try Tensor([0, 3, 6]).reshaped([1, 1, 3]) * Tensor.ones([1, 3, 1])
        XCTAssertEqual(try areaResize(row, to: 2).scalars, [1, 5, 1, 5])
        // ProGAN's CelebA crop of a 178×218 image: 128×128 from x 25, y 57.
        let columns = try (Tensor.arange(0, 178) / 255).reshaped([1, 1, 178]) * Tensor.ones([3, 218, 1])
        let rows = try (Tensor.arange(0, 218) / 255).reshaped([1, 218, 1]) * Tensor.ones([3, 1, 178])
        let x = try Preprocessing(crop: .celebA, size: 128).apply(columns)
        let y = try Preprocessing(crop: .celebA, size: 128).apply(rows)
        XCTAssertEqual(try x[0, 0, 0].item(), 25.0 / 255 * 2 - 1, accuracy: 1e-6)
        XCTAssertEqual(try y[0, 0, 0].item(), 57.0 / 255 * 2 - 1, accuracy: 1e-6)
        XCTAssertEqual(try Preprocessing(crop: .center(nil), size: 8).apply(rows).shape, [3, 8, 8])
    }

    func testCacheHitMissAndCorruption() throws {
        let (images, attributes) = try syntheticFaces(count: 6, size: 16, seed: 6)
        try writeCelebALayout(images: images, attributes: attributes, to: path("set"))
        let settings = Preprocessing(crop: .none, size: 16)
        let first = try ImageDataset.load(path("set"), preprocessing: settings, cacheDirectory: path("cache"))
        let cacheFiles = try FileManager.default.contentsOfDirectory(atPath: path("cache"))
        XCTAssertEqual(cacheFiles.count, 1)
        // A hit reads the cache, not the images: garble an image but keep its size and date, so
        // the fingerprint is unchanged; decoding it now would fail and drop it.
        let cacheFile = path("cache") + "/" + cacheFiles[0]
        let image = path("set") + "/img_align_celeba/000002.png"
        let original = try FileManager.default.attributesOfItem(atPath: image)
        let size = (original[.size] as? NSNumber)?.intValue ?? 0
        let pristine = try Data(contentsOf: URL(fileURLWithPath: image))
        try Data(repeating: 0x42, count: size).write(to: URL(fileURLWithPath: image))
        try FileManager.default.setAttributes([.modificationDate: original[.modificationDate]!], ofItemAtPath: image)
        let second = try ImageDataset.load(path("set"), preprocessing: settings, cacheDirectory: path("cache"))
        XCTAssertEqual(second.count, 6, "served from the cache")
        XCTAssertEqual(second.images.scalars, first.images.scalars)
        try pristine.write(to: URL(fileURLWithPath: image))
        try FileManager.default.setAttributes([.modificationDate: original[.modificationDate]!], ofItemAtPath: image)
        // A damaged cache is rebuilt, never trusted.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: cacheFile))
        bytes = bytes.prefix(bytes.count - 100)
        try bytes.write(to: URL(fileURLWithPath: cacheFile))
        XCTAssertEqual(try ImageDataset.load(path("set"), preprocessing: settings, cacheDirectory: path("cache")).images.scalars, first.images.scalars)
        // Other settings, or a changed file, are a miss.
        _ = try ImageDataset.load(path("set"), preprocessing: Preprocessing(crop: .none, size: 8), cacheDirectory: path("cache"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("cache")).count, 2)
        try savePNG(Tensor.zeros([3, 16, 16]), to: path("set") + "/img_align_celeba/000001.png")
        let changed = try ImageDataset.load(path("set"), preprocessing: settings, cacheDirectory: path("cache"))
        XCTAssertEqual(try changed.images[0].max().item(), -1, "the changed image is read again")
    }

    func testAnyFolderOfPhotographsAndUnreadableFiles() throws {
        let folder = path("photos")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let fixtures = packageRoot.appendingPathComponent("Tests/PreviewTests/Fixtures")
        for name in ["rose.jpg", "rose_progressive.jpg", "rose_gray.jpg", "rose.png"] {
            try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent(name).path, toPath: folder + "/" + name)
        }
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: folder + "/broken.jpg"))
        let set = try ImageDataset.load(folder, preprocessing: Preprocessing(crop: .center(nil), size: 32), cacheDirectory: path("cache"))
        XCTAssertEqual(set.count, 4)
        XCTAssertEqual(set.skipped.map(\.name), ["broken.jpg"])
        XCTAssertNil(set.attributes)
        XCTAssertEqual(set.images.shape, [4, 3, 32, 32], "gray photographs become three equal channels")
    }

    func testToyDistributions() throws {
        var rng = RandomGenerator(seed: 9)
        for toy in [ToyDistribution.eightGaussians, .twentyFiveGaussians] {
            let points = try toy.sample(4000, generator: &rng).scalars
            var covered = Set<Int>(), good = 0
            for i in 0..<4000 {
                let (x, y) = (Double(points[2 * i]), Double(points[2 * i + 1]))
                let distances = toy.centers.map { hypot($0.0 - x, $0.1 - y) }
                let nearest = distances.indices.min { distances[$0] < distances[$1] }!
                if distances[nearest] < 3 * toy.modeStd { good += 1; covered.insert(nearest) }
            }
            XCTAssertEqual(covered.count, toy.centers.count, "\(toy): every mode is sampled")
            XCTAssertGreaterThan(Double(good) / 4000, 0.98, "\(toy): samples lie within 3σ of a mode")
        }
        let roll = try ToyDistribution.swissRoll.sample(4000, generator: &rng)
        XCTAssertLessThan(try abs(roll).max().item(), 2.5)
        XCTAssertEqual(try roll.mean(axes: [0]).norm().item(), 0, accuracy: 0.3)
    }

    func testBatchIterator() {
        var iterator = BatchIterator(count: 10, batchSize: 3, dropLast: true, seed: 1)
        let epoch = iterator.epoch()
        XCTAssertEqual(epoch.map(\.count), [3, 3, 3])
        XCTAssertEqual(Set(epoch.flatMap { $0 }).count, 9)
        XCTAssertNotEqual(iterator.epoch(), epoch, "each epoch is shuffled anew")
        var again = BatchIterator(count: 10, batchSize: 3, dropLast: true, seed: 1)
        XCTAssertEqual(again.epoch(), epoch, "the same seed gives the same order")
        var keep = BatchIterator(count: 10, batchSize: 3, dropLast: false)
        XCTAssertEqual(keep.epoch().map(\.count), [3, 3, 3, 1])
    }
}
