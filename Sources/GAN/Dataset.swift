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

/// A file a load could not use: its name, the kind of failure (for counting) and the message.
public struct SkippedFile: Hashable, Sendable {
    public let name: String
    public let reason: String
    public let message: String
    public init(name: String, reason: String, message: String) { (self.name, self.reason, self.message) = (name, reason, message) }
}

/// Images as one tensor `[N, 3, S, S]` in [−1, 1], with their names and (when known) attributes.
public struct ImageDataset {
    public let images: Tensor
    public let names: [String]
    public let attributeNames: [String]
    public let attributes: [[Int]]?
    /// Files that could not be decoded (skipped), with the reason.
    public let skipped: [SkippedFile]
    /// What the user should hear about this load: skipped files counted by reason, a damaged
    /// cache that was rebuilt, a cache that could not be written.
    public let warnings: [String]

    public var count: Int { images.shape[0] }

    /// `count, shape, range, mean/std per channel` for printing; the range is measured, not assumed.
    public var summary: String {
        guard count > 0 else { return "0 images" }
        let mean = (try? images.mean(axes: [0, 2, 3]).scalars) ?? []
        let std = (try? images.std(axes: [0, 2, 3]).scalars) ?? []
        let (low, high) = images.withUnsafeBufferPointer { ($0.min() ?? 0, $0.max() ?? 0) }
        func list(_ v: [Float]) -> String { "[" + v.map { String(format: "%.3f", $0) }.joined(separator: ", ") + "]" }
        return "\(count) images of shape \(Shape(Array(images.shape.dims.dropFirst()))), values in [\(String(format: "%.3f", low)), \(String(format: "%.3f", high))]; "
            + "mean per channel \(list(mean)), std \(list(std))" + (attributes != nil ? "; \(attributeNames.count) attributes" : "")
    }

    /// Loads a CelebA directory (`img_align_celeba/`, with `list_eval_partition.txt` and
    /// `list_attr_celeba.txt` when present) or any folder of PNG/JPEG images. `split` picks
    /// 0 (train), 1 (valid) or 2 (test) when there is a partition file. The result is cached in
    /// `cacheDirectory` (default: `.normlab-cache` inside the data directory, never through a
    /// symbolic link) keyed by the files and the settings, with a checksum: a stale or damaged
    /// cache is rebuilt. `attribute` keeps only the images labelled +1 for it ("Smiling"), or −1
    /// with a "!" ("!Eyeglasses"). Files that cannot be decoded are skipped and counted by reason
    /// in `warnings`, with the whole list written to a file.
    public static func load(_ path: String, preprocessing: Preprocessing = Preprocessing(), split: Int? = nil, attribute: String? = nil, limit: Int? = nil,
                            cacheDirectory: String? = nil, progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> ImageDataset {
        let s = preprocessing.size
        guard s >= 1 else { throw EngineError.invalidArgument(op: "dataset", message: "the size must be at least 1 pixel, got \(s)") }
        if let split, !(0...2).contains(split) { throw EngineError.invalidArgument(op: "dataset", message: "split is 0 (train), 1 (valid) or 2 (test), got \(split)") }
        try requireFolder(path)
        let celebA = path + "/img_align_celeba"
        let imageDirectory = FileManager.default.fileExists(atPath: celebA) ? celebA : path
        try requireFolder(imageDirectory)
        let listing: [String]
        do { listing = try FileManager.default.contentsOfDirectory(atPath: imageDirectory) } catch { throw FileError(error) ?? error }
        var files = listing.filter { ["png", "jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
        if let split, FileManager.default.fileExists(atPath: path + "/list_eval_partition.txt") {
            let partition = try CelebAFiles.partition(path + "/list_eval_partition.txt")
            files = files.filter { partition[$0] == split }
        }
        var attributeNames: [String] = [], attributeTable: [String: [Int]]?
        let attributeFile = path + "/list_attr_celeba.txt"
        if FileManager.default.fileExists(atPath: attributeFile) {
            let parsed = try CelebAFiles.attributes(attributeFile)
            (attributeNames, attributeTable) = (parsed.names, parsed.labels)
            // An image the list does not know means the two do not belong together (a folder written twice).
            let unlisted = files.filter { parsed.labels[$0] == nil }
            if !unlisted.isEmpty { throw DataError.unlisted(attributeFile: attributeFile, images: unlisted, of: files.count, rows: parsed.labels.count) }
        }
        if let attribute {
            let name = attribute.hasPrefix("!") ? String(attribute.dropFirst()) : attribute
            guard let table = attributeTable, let column = attributeNames.firstIndex(of: name) else {
                throw DataError.malformed(path: attributeFile, line: 2,
                                          reason: "no attribute '\(printable(name))'" + (attributeNames.isEmpty ? " (the file is missing)" : "; the attributes: " + attributeNames.map { printable($0) }.joined(separator: " ")))
            }
            let wanted = attribute.hasPrefix("!") ? -1 : 1
            files = files.filter { table[$0]?[column] == wanted }
        }
        if let limit { files = Array(files.prefix(max(0, limit))) }
        guard !files.isEmpty else { throw DataError.empty(imageDirectory) }
        // The whole set is one tensor: refuse a size or count it cannot have before decoding any.
        try Runtime.checkAllocation([files.count, 3, s, s], op: "dataset")

        // The cache key: the settings, and each file's name, size and modification time.
        var fingerprint = preprocessing.key + "|\(split.map(String.init) ?? "all")|\(attribute ?? "")"
        for file in files {
            let attributes = try? FileManager.default.attributesOfItem(atPath: imageDirectory + "/" + file)
            let size = (attributes?[.size] as? NSNumber)?.intValue ?? -1
            // Whole seconds, as make compares them: file systems and copies round the rest.
            let modified = Int((attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)
            fingerprint += "|\(file):\(size):\(modified)"
        }
        var warnings: [String] = []
        let cache = ImageCache(folder: cacheDirectory ?? path + "/.normlab-cache", name: "\(preprocessing.key)-\(String(stableHash(fingerprint), radix: 16))")
        func dataset(_ images: Tensor, _ names: [String], _ skipped: [SkippedFile]) -> ImageDataset {
            if let report = skipReport(skipped, of: files.count, listedIn: skipped.isEmpty ? nil : cache.writeSkippedList(skipped)) { warnings.insert(report, at: 0) }
            return ImageDataset(images: images, names: names, attributeNames: attributeNames,
                                attributes: attributeTable.map { table in names.map { table[$0] ?? [] } }, skipped: skipped, warnings: warnings)
        }
        switch cache.read(fingerprint: fingerprint, size: s) {
        case .hit(let images, let names, let skipped): return dataset(images, names, skipped)
        case .damaged(let reason): warnings.append("the cache \(printable(cache.path)) was damaged (\(reason)); it is rebuilt")
        case .absent: break
        }
        if let problem = cache.folderProblem { warnings.append("the cache is not used: \(problem)") }

        // Decode and preprocess on every core, each image into its row of the set; failures
        // are collected with their reasons, not fatal.
        let total = files.count
        var all = try Tensor.zeros([total, 3, s, s])
        let failures = FailureSlots(count: total)
        let done = Counter()
        let fileList = files
        try all.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            let rows = SendableBuffer(base)
            let workers = max(1, min(total, Runtime.threads * 4))
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                for i in stride(from: worker, to: total, by: workers) {
                    do {
                        let image = try preprocessing.apply(loadImage(imageDirectory + "/" + fileList[i]))
                        guard image.shape == Shape([3, s, s]) else {
                            throw EngineError.invalidShape(op: "dataset", shape: image.shape, reason: "preprocessing should give [3, \(s), \(s)]")
                        }
                        image.withUnsafeBufferPointer { (rows.pointer + i * 3 * s * s).update(from: $0.baseAddress!, count: 3 * s * s) }
                    } catch {
                        failures.set(i, error)
                    }
                    let n = done.increment()
                    if let progress, n % 64 == 0 || n == total { progress(n, total) }
                }
            }
        }
        var kept: [Int] = [], skipped: [SkippedFile] = []
        for (i, file) in files.enumerated() {
            if let error = failures.get(i) {
                skipped.append(SkippedFile(name: file, reason: (error as? PreviewError)?.kind ?? "unreadable", message: "\(error)"))
            } else {
                kept.append(i)
            }
        }
        guard !kept.isEmpty else { throw DataError.undecodable(imageDirectory, report: skipReport(skipped, of: total, listedIn: cache.writeSkippedList(skipped)) ?? "") }
        let images = kept.count == total ? all : try all.gather(kept)
        let names = kept.map { files[$0] }
        if cache.folderProblem == nil {
            do { try cache.write(fingerprint: fingerprint, images: images, names: names, skipped: skipped) } catch {
                warnings.append("the cache could not be written (\(describe(error))); the next load decodes again")
            }
        }
        return dataset(images, names, skipped)
    }

    /// "skipped 393 of 5000 files: 390 damaged (000012.jpg, 000045.jpg, 000101.jpg, …),
    /// 3 unreadable (x.png); all of them, with the reasons, in …/skipped.txt"
    static func skipReport(_ skipped: [SkippedFile], of total: Int, listedIn list: String?) -> String? {
        guard !skipped.isEmpty else { return nil }
        let byReason = Dictionary(grouping: skipped, by: \.reason).sorted { ($0.value.count, $1.key) > ($1.value.count, $0.key) }
        let parts = byReason.map { reason, files in
            "\(files.count) \(reason) (" + files.prefix(3).map { printable($0.name) }.joined(separator: ", ") + (files.count > 3 ? ", …" : "") + ")"
        }
        return "skipped \(skipped.count) of \(total) files: " + parts.joined(separator: ", ")
            + (list.map { "; all of them, with the reasons, in \(printable($0))" } ?? "")
    }

    /// Throws a clear error unless `path` is a folder (a file, or nothing there, is named as such).
    static func requireFolder(_ path: String) throws {
        var status = stat()
        guard stat(path, &status) == 0 else { throw DataError.missing(path) }
        guard status.st_mode & S_IFMT == S_IFDIR else { throw DataError.notAFolder(path, isFile: status.st_mode & S_IFMT == S_IFREG) }
    }
}

/// FNV-1a: a hash that is the same in every run (Swift's Hasher is seeded per process).
func stableHash(_ text: String) -> UInt64 {
    text.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
}

/// Why each image of a parallel load failed, by index.
final class FailureSlots: @unchecked Sendable {
    private var slots: [(any Error)?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ error: any Error) { lock.lock(); slots[i] = error; lock.unlock() }
    func get(_ i: Int) -> (any Error)? { lock.lock(); defer { lock.unlock() }; return slots[i] }
}

final class Counter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func increment() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
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
    /// What the load has to tell the user (skipped files, the cache), as ImageDataset.warnings.
    public let warnings: [String]

    /// "synth" gives `count` synthetic faces of seed 0 (every run sees the same faces); a
    /// CelebA directory gives its training split with ProGAN's crop; any other folder its images
    /// centre-cropped, at most `count`.
    public static func load(_ data: String, count: Int, size: Int, progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> TrainingData {
        if data == "synth" {
            let faces = try syntheticFaces(count: count, size: size, seed: 0)
            let labels = try Tensor(shape: [count, FaceAttributes.names.count], elements: faces.attributes.flatMap { $0.labels.map(Float.init) })
            return TrainingData(images: try faces.images * 2 - 1, labels: labels, names: FaceAttributes.names, warnings: [])
        }
        let celebA = FileManager.default.fileExists(atPath: data + "/img_align_celeba")
        let set = try ImageDataset.load(data, preprocessing: Preprocessing(crop: celebA ? .celebA : .center(nil), size: size), split: celebA ? 0 : nil,
                                        limit: count, progress: progress)
        guard let attributes = set.attributes, !set.attributeNames.isEmpty, attributes.allSatisfy({ $0.count == set.attributeNames.count }) else {
            return TrainingData(images: set.images, labels: nil, names: [], warnings: set.warnings)
        }
        let labels = try Tensor(shape: [set.count, set.attributeNames.count], elements: attributes.flatMap { $0.map(Float.init) })
        return TrainingData(images: set.images, labels: labels, names: set.attributeNames, warnings: set.warnings)
    }
}
