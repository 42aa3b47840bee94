import Dispatch
import Engine
import Foundation
import Preview

/// How images become training tensors: crop, area-average resize, scale to [−1, 1].
public struct Preprocessing: Hashable, Sendable {
    public enum Crop: Hashable, Sendable {
        /// ProGAN's CelebA crop: 128×128 around (x 89, y 121) of the 178×218 aligned images.
        case celebA
        /// The largest centred square, or a centred square of this size.
        case center(Int?)
        case none
    }
    public var crop: Crop
    public var size: Int
    public init(crop: Crop = .center(nil), size: Int = 64) { (self.crop, self.size) = (crop, size) }

    var key: String {
        switch crop {
        case .celebA: return "celeba-\(size)"
        case .center(let s): return "center\(s.map(String.init) ?? "")-\(size)"
        case .none: return "none-\(size)"
        }
    }

    /// `[C, H, W]` in [0, 1] → `[3, size, size]` in [−1, 1].
    public func apply(_ image: Tensor) throws -> Tensor {
        var x = image.shape[0] == 1 ? try Tensor.concat([image, image, image]) : (image.shape[0] == 4 ? try image[0..<3] : image)
        let (h, w) = (x.shape[1], x.shape[2])
        switch crop {
        case .celebA:
            let side = min(128, h, w)
            let top = max(0, min(h - side, 121 - side / 2)), left = max(0, min(w - side, 89 - side / 2))
            x = try x[TensorIndex.all, top..<(top + side), left..<(left + side)]
        case .center(let requested):
            let side = min(requested ?? min(h, w), h, w)
            let top = (h - side) / 2, left = (w - side) / 2
            x = try x[TensorIndex.all, top..<(top + side), left..<(left + side)]
        case .none: break
        }
        return try areaResize(x, to: size) * 2 - 1
    }
}

/// Resizes `[C, H, W]` to `[C, size, size]` by area averaging: each output pixel is the mean of
/// the input area it covers (fractional pixels weighted by their overlap).
public func areaResize(_ image: Tensor, to size: Int) throws -> Tensor {
    let (c, h, w) = (image.shape[0], image.shape[1], image.shape[2])
    if h == size && w == size { return image }
    // Overlap weights along one axis: output i covers [i·n/size, (i + 1)·n/size).
    func weights(_ n: Int) -> [[(Int, Double)]] {
        (0..<size).map { i in
            let start = Double(i) * Double(n) / Double(size), end = Double(i + 1) * Double(n) / Double(size)
            return (Int(start)..<min(n, Int(end.rounded(.up)))).map { j in
                (j, (min(end, Double(j + 1)) - max(start, Double(j))) / (end - start))
            }.filter { $0.1 > 0 }
        }
    }
    let (rows, columns) = (weights(h), weights(w))
    let values = image.scalars
    var out = [Float](repeating: 0, count: c * size * size)
    for channel in 0..<c {
        for (i, rowWeights) in rows.enumerated() {
            for (j, columnWeights) in columns.enumerated() {
                var sum = 0.0
                for (y, wy) in rowWeights { for (x, wx) in columnWeights { sum += wy * wx * Double(values[(channel * h + y) * w + x]) } }
                out[(channel * size + i) * size + j] = Float(sum)
            }
        }
    }
    return try Tensor(shape: [c, size, size], elements: out)
}

/// Images as one tensor `[N, 3, S, S]` in [−1, 1], with their names and (when known) attributes.
public struct ImageDataset {
    public let images: Tensor
    public let names: [String]
    public let attributeNames: [String]
    public let attributes: [[Int]]?
    /// Files that could not be decoded (skipped).
    public let skipped: [String]

    public var count: Int { images.shape[0] }

    /// `count, shape, mean/std per channel` for printing.
    public var summary: String {
        guard count > 0 else { return "0 images" }
        let mean = (try? images.mean(axes: [0, 2, 3]).scalars) ?? []
        let std = (try? images.std(axes: [0, 2, 3]).scalars) ?? []
        func list(_ v: [Float]) -> String { "[" + v.map { String(format: "%.3f", $0) }.joined(separator: ", ") + "]" }
        return "\(count) images of shape \(Shape(Array(images.shape.dims.dropFirst()))), values in [−1, 1]; mean per channel \(list(mean)), std \(list(std))"
            + (attributes != nil ? "; \(attributeNames.count) attributes" : "")
    }

    /// Loads a CelebA directory (`img_align_celeba/`, with `list_eval_partition.txt` and
    /// `list_attr_celeba.txt` when present) or any folder of PNG/JPEG images. `split` picks
    /// 0 (train), 1 (valid) or 2 (test) when there is a partition file. The result is cached in
    /// `cacheDirectory` (default: `.normlab-cache` inside the data directory) keyed by the files
    /// and the settings; a stale or damaged cache is rebuilt.
    /// `attribute` keeps only the images labelled +1 for it ("Smiling"), or −1 with a "!" ("!Eyeglasses").
    public static func load(_ path: String, preprocessing: Preprocessing = Preprocessing(), split: Int? = nil, attribute: String? = nil, limit: Int? = nil,
                            cacheDirectory: String? = nil, progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> ImageDataset {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { throw DataError.missing(path) }
        let celebA = path + "/img_align_celeba"
        let imageDirectory = FileManager.default.fileExists(atPath: celebA) ? celebA : path
        var files = ((try? FileManager.default.contentsOfDirectory(atPath: imageDirectory)) ?? [])
            .filter { ["png", "jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
        if let split, FileManager.default.fileExists(atPath: path + "/list_eval_partition.txt") {
            let partition = try CelebAFiles.partition(path + "/list_eval_partition.txt")
            files = files.filter { partition[$0] == split }
        }
        var attributeNames: [String] = [], attributeTable: [String: [Int]]?
        if FileManager.default.fileExists(atPath: path + "/list_attr_celeba.txt") {
            let parsed = try CelebAFiles.attributes(path + "/list_attr_celeba.txt")
            (attributeNames, attributeTable) = (parsed.names, parsed.labels)
        }
        if let attribute {
            let name = attribute.hasPrefix("!") ? String(attribute.dropFirst()) : attribute
            guard let table = attributeTable, let column = attributeNames.firstIndex(of: name) else {
                throw DataError.malformed(path: path + "/list_attr_celeba.txt", line: 2,
                                          reason: "no attribute '\(name)'" + (attributeNames.isEmpty ? " (the file is missing)" : "; the attributes: " + attributeNames.joined(separator: " ")))
            }
            let wanted = attribute.hasPrefix("!") ? -1 : 1
            files = files.filter { table[$0]?[column] == wanted }
        }
        if let limit { files = Array(files.prefix(max(0, limit))) }
        guard !files.isEmpty else { throw DataError.empty(imageDirectory) }

        // The cache key: the settings, and each file's name, size and modification time.
        var fingerprint = preprocessing.key + "|\(split.map(String.init) ?? "all")|\(attribute ?? "")"
        for file in files {
            let attributes = try? FileManager.default.attributesOfItem(atPath: imageDirectory + "/" + file)
            let size = (attributes?[.size] as? NSNumber)?.intValue ?? -1
            // Whole seconds, as make compares them: file systems and copies round the rest.
            let modified = Int((attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)
            fingerprint += "|\(file):\(size):\(modified)"
        }
        let cachePath = (cacheDirectory ?? path + "/.normlab-cache") + "/\(preprocessing.key)-\(String(stableHash(fingerprint), radix: 16)).cache"
        if let cached = try? ImageCache.read(cachePath, fingerprint: fingerprint) {
            return ImageDataset(images: cached.images, names: cached.names, attributeNames: attributeNames,
                                attributes: attributeTable.map { table in cached.names.map { table[$0] ?? [] } }, skipped: cached.skipped)
        }

        // Decode and preprocess on every core; failures are collected, not fatal.
        let s = preprocessing.size
        let results = ResultSlots(count: files.count)
        let done = Counter()
        let total = files.count
        let fileList = files
        DispatchQueue.concurrentPerform(iterations: max(1, min(total, Runtime.threads * 4))) { worker in
            let workers = max(1, min(total, Runtime.threads * 4))
            for i in stride(from: worker, to: total, by: workers) {
                results.set(i, try? preprocessing.apply(loadImage(imageDirectory + "/" + fileList[i])))
                let n = done.increment()
                if let progress, n % 64 == 0 || n == total { progress(n, total) }
            }
        }
        var kept: [Tensor] = [], names: [String] = [], skipped: [String] = []
        for (i, file) in files.enumerated() {
            if let image = results.get(i), image.shape == Shape([3, s, s]) { kept.append(image); names.append(file) } else { skipped.append(file) }
        }
        guard !kept.isEmpty else { throw DataError.empty(imageDirectory) }
        let images = try Tensor.stack(kept)
        try? ImageCache.write(cachePath, fingerprint: fingerprint, images: images, names: names, skipped: skipped)
        return ImageDataset(images: images, names: names, attributeNames: attributeNames,
                            attributes: attributeTable.map { table in names.map { table[$0] ?? [] } }, skipped: skipped)
    }
}

/// FNV-1a: a hash that is the same in every run (Swift's Hasher is seeded per process).
func stableHash(_ text: String) -> UInt64 {
    text.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
}

final class ResultSlots: @unchecked Sendable {
    private var slots: [Tensor?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: Tensor?) { lock.lock(); slots[i] = value; lock.unlock() }
    func get(_ i: Int) -> Tensor? { lock.lock(); defer { lock.unlock() }; return slots[i] }
}

final class Counter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func increment() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
}

/// The preprocessed set in one file: a magic line, a JSON header (fingerprint, names, shape,
/// skipped files) and the float32 data. Anything that does not match exactly is a miss.
enum ImageCache {
    static let magic = "NORMLAB-IMAGES-1\n"

    static func write(_ path: String, fingerprint: String, images: Tensor, names: [String], skipped: [String]) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let header: [String: Any] = ["fingerprint": fingerprint, "names": names, "skipped": skipped, "shape": images.shape.dims]
        var data = Data(magic.utf8)
        let json = try JSONSerialization.data(withJSONObject: header)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        images.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
        let temporary = path + ".tmp-\(getpid())"
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else { try? FileManager.default.removeItem(atPath: temporary); return }
    }

    static func read(_ path: String, fingerprint: String) throws -> (images: Tensor, names: [String], skipped: [String]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let magicBytes = Data(magic.utf8)
        guard data.count > magicBytes.count + 8, data.prefix(magicBytes.count) == magicBytes else { throw DataError.missing(path) }
        var offset = magicBytes.count
        let length = data.subdata(in: offset..<(offset + 8)).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        offset += 8
        guard length > 0, offset + length <= data.count,
              let header = try JSONSerialization.jsonObject(with: data.subdata(in: offset..<(offset + length))) as? [String: Any],
              header["fingerprint"] as? String == fingerprint, let names = header["names"] as? [String],
              let skipped = header["skipped"] as? [String], let dims = header["shape"] as? [Int] else { throw DataError.missing(path) }
        offset += length
        let shape = Shape(dims)
        guard dims.count == 4, dims[0] == names.count, data.count - offset == shape.count * 4 else { throw DataError.missing(path) }
        let values = data.subdata(in: offset..<data.count).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return (try Tensor(shape: shape, elements: values), names, skipped)
    }
}

/// Batches of a dataset for training: shuffled by a seeded generator each epoch, the last
/// short batch dropped or kept.
public struct BatchIterator {
    public let count: Int
    public let batchSize: Int
    public let dropLast: Bool
    /// The shuffling stream: saved with a checkpoint, so a resumed run shuffles the same way.
    public var generator: RandomGenerator

    public init(count: Int, batchSize: Int, dropLast: Bool = true, seed: UInt64 = 0) {
        (self.count, self.batchSize, self.dropLast) = (count, max(1, batchSize), dropLast)
        generator = RandomGenerator(seed: seed)
    }

    /// One epoch: lists of indices, every index once (but the dropped remainder).
    public mutating func epoch() -> [[Int]] {
        var order = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) { order.swapAt(i, Int(generator.next() % UInt64(i + 1))) }
        var batches = stride(from: 0, to: count, by: batchSize).map { Array(order[$0..<min(count, $0 + batchSize)]) }
        if dropLast, let last = batches.last, last.count < batchSize { batches.removeLast() }
        return batches
    }
}

extension Tensor {
    /// The rows of the first axis at `indices`, stacked.
    public func gather(_ indices: [Int]) throws -> Tensor { try Tensor.stack(indices.map { try self[$0] }) }
}

/// What a training run reads: images `[N, 3, S, S]` in [−1, 1] and, where the data has them,
/// attribute labels (±1) with their names.
public struct TrainingData {
    public let images: Tensor
    public let labels: Tensor?
    public let names: [String]
    public let skipped: [String]

    /// "synth" gives `count` synthetic faces of seed 0 (every run sees the same faces); a
    /// CelebA directory gives its training split with ProGAN's crop; any other folder its images
    /// centre-cropped, at most `count`.
    public static func load(_ data: String, count: Int, size: Int, progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> TrainingData {
        if data == "synth" {
            let faces = try syntheticFaces(count: count, size: size, seed: 0)
            let labels = try Tensor(shape: [count, FaceAttributes.names.count], elements: faces.attributes.flatMap { $0.labels.map(Float.init) })
            return TrainingData(images: try faces.images * 2 - 1, labels: labels, names: FaceAttributes.names, skipped: [])
        }
        let celebA = FileManager.default.fileExists(atPath: data + "/img_align_celeba")
        let set = try ImageDataset.load(data, preprocessing: Preprocessing(crop: celebA ? .celebA : .center(nil), size: size), split: celebA ? 0 : nil,
                                        limit: count, progress: progress)
        guard let attributes = set.attributes, !set.attributeNames.isEmpty, attributes.allSatisfy({ $0.count == set.attributeNames.count }) else {
            return TrainingData(images: set.images, labels: nil, names: [], skipped: set.skipped)
        }
        let labels = try Tensor(shape: [set.count, set.attributeNames.count], elements: attributes.flatMap { $0.map(Float.init) })
        return TrainingData(images: set.images, labels: labels, names: set.attributeNames, skipped: set.skipped)
    }
}
