import Engine
import Foundation
import Preview

/// What can be wrong with a dataset on disk; every message names the file.
public enum DataError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    case malformed(path: String, line: Int, reason: String)
    case empty(String)

    public var description: String {
        switch self {
        case .missing(let path): return "\(path): no such file or directory"
        case let .malformed(path, line, reason): return "\(path):\(line): \(reason)"
        case .empty(let path): return "\(path): no PNG or JPEG images found"
        }
    }
}

/// CelebA's text files: whitespace-separated (runs of spaces occur), one image per line.
public enum CelebAFiles {
    /// `list_eval_partition.txt`: image name → 0 (train), 1 (valid) or 2 (test).
    public static func partition(_ path: String) throws -> [String: Int] {
        var result: [String: Int] = [:]
        for (number, line) in try lines(path) where !line.isEmpty {
            let fields = line.split(whereSeparator: \.isWhitespace)
            guard fields.count == 2, let split = Int(fields[1]), (0...2).contains(split) else {
                throw DataError.malformed(path: path, line: number, reason: "expected 'name 0|1|2', found '\(line)'")
            }
            result[String(fields[0])] = split
        }
        return result
    }

    /// `list_attr_celeba.txt`: a count, the attribute names, then `name ±1 …` per image.
    public static func attributes(_ path: String) throws -> (names: [String], labels: [String: [Int]]) {
        let all = try lines(path)
        guard all.count >= 2, let count = Int(all[0].1.trimmingCharacters(in: .whitespaces)) else {
            throw DataError.malformed(path: path, line: 1, reason: "expected the number of images on the first line")
        }
        let names = all[1].1.split(whereSeparator: \.isWhitespace).map(String.init)
        var labels: [String: [Int]] = [:]
        for (number, line) in all.dropFirst(2) where !line.isEmpty {
            let fields = line.split(whereSeparator: \.isWhitespace)
            let values = fields.dropFirst().compactMap { Int($0) }
            guard fields.count == names.count + 1, values.count == names.count, values.allSatisfy({ $0 == 1 || $0 == -1 }) else {
                throw DataError.malformed(path: path, line: number, reason: "expected a name and \(names.count) values of ±1")
            }
            labels[String(fields[0])] = values
        }
        guard labels.count == count else {
            throw DataError.malformed(path: path, line: all.count, reason: "the file announces \(count) images and lists \(labels.count) (truncated?)")
        }
        return (names, labels)
    }

    static func lines(_ path: String) throws -> [(Int, String)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw DataError.missing(path) }
        return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().map { ($0.offset + 1, $0.element.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}

/// Writes faces in CelebA's layout: `img_align_celeba/000001.png` …, `list_attr_celeba.txt`,
/// and `list_eval_partition.txt` (80% train, 10% valid, 10% test), so the real loader reads them.
public func writeCelebALayout(images: Tensor, attributes: [FaceAttributes], to directory: String) throws {
    let imageDirectory = directory + "/img_align_celeba"
    try FileManager.default.createDirectory(atPath: imageDirectory, withIntermediateDirectories: true)
    let count = images.shape[0]
    let names = (0..<count).map { String(format: "%06d.png", $0 + 1) }
    for i in 0..<count { try savePNG(images[i], to: imageDirectory + "/" + names[i]) }
    var attributeText = "\(count)\n" + FaceAttributes.names.joined(separator: " ") + "\n"
    var partitionText = ""
    for (i, name) in names.enumerated() {
        attributeText += name + " " + attributes[i].labels.map { $0 > 0 ? " 1" : "-1" }.joined(separator: " ") + "\n"
        partitionText += "\(name) \(i < count * 8 / 10 ? 0 : (i < count * 9 / 10 ? 1 : 2))\n"
    }
    try attributeText.write(toFile: directory + "/list_attr_celeba.txt", atomically: true, encoding: .utf8)
    try partitionText.write(toFile: directory + "/list_eval_partition.txt", atomically: true, encoding: .utf8)
}
