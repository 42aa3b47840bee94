import Engine
import Foundation
import Preview

/// What can be wrong with a dataset on disk; every message names the file.
public enum DataError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    case notAFolder(String, isFile: Bool)
    case malformed(path: String, line: Int, reason: String)
    case empty(String)
    /// Images that the attribute list has no row for: the two do not belong together.
    case unlisted(attributeFile: String, images: [String], of: Int, rows: Int)
    /// None of the images could be decoded; the report says why, by reason.
    case undecodable(String, report: String)
    /// A folder to write faces into that holds files save_faces did not write.
    case notEmpty(String, others: [String])

    public var description: String {
        switch self {
        case .missing(let path): return "\(printable(path)): no such file or folder"
        case let .notAFolder(path, isFile):
            return "\(printable(path)) is \(isFile ? "a file" : "not a folder"); a dataset is a folder of PNG/JPEG images, or a CelebA folder with img_align_celeba/"
        case let .malformed(path, line, reason): return "\(printable(path)):\(line): \(reason)"
        case .empty(let path): return "\(printable(path)): no PNG or JPEG images found"
        case let .unlisted(file, images, total, rows):
            return "\(printable(file)) has no row for \(images.count) of the \(total) images (" + images.prefix(3).map { printable($0) }.joined(separator: ", ")
                + (images.count > 3 ? ", …" : "") + "; it lists \(rows)): the attribute list and the images do not belong together "
                + "(remove the list, or write the whole folder again)"
        case let .undecodable(path, report): return "\(printable(path)): no image could be decoded: \(report)"
        case let .notEmpty(path, others):
            return "\(printable(path)) already holds files that save_faces did not write (" + others.prefix(3).map { printable($0) }.joined(separator: ", ")
                + (others.count > 3 ? ", …" : "") + "): choose an empty or new folder"
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
                throw DataError.malformed(path: path, line: number, reason: "expected 'name 0|1|2', found '\(printable(line))'")
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
        guard let text = String(data: try readRegularFile(path), encoding: .utf8) else {
            throw DataError.malformed(path: path, line: 1, reason: "not UTF-8 text")
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().map { ($0.offset + 1, $0.element.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}

/// Writes faces in CelebA's layout: `img_align_celeba/000001.png` …, `list_attr_celeba.txt`,
/// and `list_eval_partition.txt` (80% train, 10% valid, 10% test), so the real loader reads them.
/// A folder that holds an earlier set written here is replaced whole (no stale image stays
/// beside the new list); a folder that holds anything else is refused, so that a mistyped path
/// cannot delete someone's files.
public func writeCelebALayout(images: Tensor, attributes: [FaceAttributes], to directory: String) throws {
    let imageDirectory = directory + "/img_align_celeba"
    try removeEarlierFaces(in: directory)
    try createFolder(imageDirectory)
    let count = images.shape[0]
    let names = (0..<count).map { String(format: "%06d.png", $0 + 1) }
    for i in 0..<count { try savePNG(images[i], to: imageDirectory + "/" + names[i]) }
    var attributeText = "\(count)\n" + FaceAttributes.names.joined(separator: " ") + "\n"
    var partitionText = ""
    for (i, name) in names.enumerated() {
        attributeText += name + " " + attributes[i].labels.map { $0 > 0 ? " 1" : "-1" }.joined(separator: " ") + "\n"
        partitionText += "\(name) \(i < count * 8 / 10 ? 0 : (i < count * 9 / 10 ? 1 : 2))\n"
    }
    try writeFileAtomically(Data(attributeText.utf8), to: directory + "/list_attr_celeba.txt")
    try writeFileAtomically(Data(partitionText.utf8), to: directory + "/list_eval_partition.txt")
}

/// Empties `directory` of an earlier writeCelebALayout (its images, lists and cache), or throws
/// when it holds anything else.
func removeEarlierFaces(in directory: String) throws {
    let ours: Set = ["img_align_celeba", "list_attr_celeba.txt", "list_eval_partition.txt", ".normlab-cache"]
    guard FileManager.default.fileExists(atPath: directory) else { return }
    try ImageDataset.requireFolder(directory)
    let entries: [String]
    do { entries = try FileManager.default.contentsOfDirectory(atPath: directory) } catch { throw FileError(error) ?? error }
    var others = entries.filter { !ours.contains($0) }.sorted()
    let imageDirectory = directory + "/img_align_celeba"
    if entries.contains("img_align_celeba") {
        let images = (try? FileManager.default.contentsOfDirectory(atPath: imageDirectory)) ?? ["(unreadable)"]
        let isFace = { (name: String) in name.count == 10 && name.hasSuffix(".png") && name.prefix(6).allSatisfy(\.isASCII) && name.prefix(6).allSatisfy(\.isNumber) }
        others += images.filter { !isFace($0) }.sorted().map { "img_align_celeba/" + $0 }
    }
    guard others.isEmpty else { throw DataError.notEmpty(directory, others: others) }
    for entry in entries {
        do { try FileManager.default.removeItem(atPath: directory + "/" + entry) } catch { throw FileError(error) ?? error }
    }
}
