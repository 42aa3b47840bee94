import CZlib
import Engine
import Foundation

/// The preprocessed set in one file, so that a second load starts at once:
///
///     "NORMLAB-IMAGES-2\n" | header length (UInt64, little-endian) | JSON header | Float32 data | CRC-32
///
/// The header holds the fingerprint of the files and settings, the image names, the skipped
/// files and the shape; the CRC-32 (zlib's) covers every byte before it, so a flipped bit, a
/// NaN or a 1e30 written into the file by anything but the cache itself is found, and the set is
/// decoded again. Every header field is checked with overflow-reporting arithmetic before
/// anything is allocated for it. The folder and the files are never used through a symbolic link.
struct ImageCache {
    static let magic = Array("NORMLAB-IMAGES-2\n".utf8)

    let folder: String
    let name: String

    var path: String { folder + "/" + name + ".cache" }

    enum Lookup {
        case hit(images: Tensor, names: [String], skipped: [SkippedFile])
        /// No cache for these files and settings (never written, or written for others).
        case absent
        /// A cache file that is not what the cache writes; why, in words.
        case damaged(String)
    }

    /// Why the cache folder cannot be used (it is a symbolic link or not a folder), or nil.
    var folderProblem: String? {
        var status = stat()
        guard lstat(folder, &status) == 0 else { return nil }   // made on the first write
        switch status.st_mode & S_IFMT {
        case S_IFDIR: return nil
        case S_IFLNK: return "\(printable(folder)) is a symbolic link, which the cache does not follow"
        default: return "\(printable(folder)) is not a folder"
        }
    }

    func read(fingerprint: String, size: Int) -> Lookup {
        var status = stat()
        guard folderProblem == nil, lstat(path, &status) == 0 else { return .absent }
        do {
            let fd = try openRegularFile(path, followLinks: false)
            defer { close(fd) }
            return try read(fd, fingerprint: fingerprint, size: size)
        } catch let error as CacheProblem {
            return .damaged(error.reason)
        } catch let error as FileError {
            return .damaged(error.reason)
        } catch {
            return .damaged("\(error)")
        }
    }

    struct CacheProblem: Error { let reason: String }

    private func read(_ fd: Int32, fingerprint: String, size: Int) throws -> Lookup {
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw FileError(path: path, writing: false, errno: errno) }
        let fileSize = Int(status.st_size)
        var crc = crc32_z(0, nil, 0)
        func bytes(_ count: Int, checksummed: Bool = true) throws -> [UInt8] {
            var buffer = [UInt8](repeating: 0, count: count)
            try buffer.withUnsafeMutableBytes { try readExactly(fd, into: $0, path: path) }
            if checksummed { crc = buffer.withUnsafeBufferPointer { crc32_z(crc, $0.baseAddress, $0.count) } }
            return buffer
        }
        let prefix = Self.magic.count + 8
        guard fileSize >= prefix + 4, try bytes(Self.magic.count) == Self.magic else { throw CacheProblem(reason: "not a Normlab image cache") }
        let length = try bytes(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length > 0, length <= UInt64(fileSize - prefix - 4) else { throw CacheProblem(reason: "its header length \(length) does not fit in \(fileSize) bytes") }
        guard let header = try? JSONSerialization.jsonObject(with: Data(try bytes(Int(length)))) as? [String: Any] else {
            throw CacheProblem(reason: "its header is not readable")
        }
        // The file's name is a 64-bit hash of the fingerprint: another fingerprint means damage.
        guard header["fingerprint"] as? String == fingerprint else { throw CacheProblem(reason: "it was written for other files or settings") }
        guard let names = header["names"] as? [String], let skippedFields = header["skipped"] as? [[String]],
              skippedFields.allSatisfy({ $0.count == 3 }), let dims = header["shape"] as? [Int] else {
            throw CacheProblem(reason: "its header lacks names, skipped files or the shape")
        }
        guard dims == [names.count, 3, size, size] else {
            throw CacheProblem(reason: "its shape \(dims) is not [\(names.count), 3, \(size), \(size)]")
        }
        let shape = try Shape(dims).validated(op: "dataset cache")
        let (dataBytes, overflow) = shape.count.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        guard !overflow, fileSize - prefix - Int(length) - 4 == dataBytes else {
            throw CacheProblem(reason: "its data holds \(fileSize - prefix - Int(length) - 4) bytes where its shape needs \(overflow ? "more than can exist" : String(dataBytes))")
        }
        try Runtime.checkAllocation(shape, op: "dataset cache")
        var images = try Tensor.zeros(shape)
        try images.withUnsafeMutableBufferPointer { buffer in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            try readExactly(fd, into: raw, path: path)
            crc = crc32_z(crc, raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count)
        }
        let stored = try bytes(4, checksummed: false).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard stored == UInt64(crc) else {
            throw CacheProblem(reason: "its checksum does not match its contents")
        }
        let skipped = skippedFields.map { SkippedFile(name: $0[0], reason: $0[1], message: $0[2]) }
        return .hit(images: images, names: names, skipped: skipped)
    }

    /// Writes the set (through a temporary file and a rename; never through a link).
    func write(fingerprint: String, images: Tensor, names: [String], skipped: [SkippedFile]) throws {
        if let problem = folderProblem { throw FileError(path: folder, writing: true, reason: problem) }
        try createFolder(folder)
        let header: [String: Any] = ["fingerprint": fingerprint, "names": names, "skipped": skipped.map { [$0.name, $0.reason, $0.message] },
                                     "shape": images.shape.dims]
        let json = try JSONSerialization.data(withJSONObject: header, options: .sortedKeys)
        try writeFileAtomically(to: path) { write in
            var crc = crc32_z(0, nil, 0)
            func checksummed(_ bytes: UnsafeRawBufferPointer) throws {
                crc = crc32_z(crc, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
                try write(bytes)
            }
            try Self.magic.withUnsafeBytes(checksummed)
            try withUnsafeBytes(of: UInt64(json.count).littleEndian, checksummed)
            try json.withUnsafeBytes(checksummed)
            try images.withUnsafeBufferPointer { try checksummed(UnsafeRawBufferPointer($0)) }
            try withUnsafeBytes(of: UInt32(truncatingIfNeeded: crc).littleEndian, write)
        }
    }

    /// Writes the skipped files, one per line with the reason, beside the cache (or in the
    /// temporary folder when the cache folder cannot be used); the path, or nil when neither works.
    func writeSkippedList(_ skipped: [SkippedFile]) -> String? {
        let text = skipped.map { "\($0.name)\t\($0.reason)\t\($0.message)\n" }.joined()
        let beside = folder + "/" + name + ".skipped.txt"
        if folderProblem == nil, (try? createFolder(folder)) != nil, (try? writeFileAtomically(Data(text.utf8), to: beside)) != nil { return beside }
        let elsewhere = FileManager.default.temporaryDirectory.appendingPathComponent("normlab-\(name).skipped.txt").path
        return (try? writeFileAtomically(Data(text.utf8), to: elsewhere)) != nil ? elsewhere : nil
    }
}
