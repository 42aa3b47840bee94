import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Files a user names (images, datasets, caches, lessons, checkpoints) are read and written
// through these few functions, so that every layer refuses the same things (a folder, a FIFO,
// a device) with the same clear words, and no message prints a name raw.

/// `text` safe to print inside a message: control characters (which could move the cursor,
/// recolour or clear a terminal, or fake a new line) and the invisible bidirectional overrides
/// are written as Swift escapes (`\u{1B}`, `\n`); everything else, a tab too, as it is. A
/// whole message whose lines are its own keeps its line breaks with `keepingNewlines`.
public func printable(_ text: String, keepingNewlines: Bool = false) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\n" where keepingNewlines: out += "\n"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\t"
        case _ where scalar.properties.generalCategory == .control || (0x202A...0x202E).contains(scalar.value)
            || (0x2066...0x2069).contains(scalar.value):
            out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}

/// A file or folder that could not be read or written, and why, in words.
public struct FileError: Error, CustomStringConvertible, Equatable, Sendable {
    public let path: String
    public let writing: Bool
    public let reason: String

    public init(path: String, writing: Bool, reason: String) { (self.path, self.writing, self.reason) = (path, writing, reason) }

    /// The reason for a failed system call on `path` from its errno.
    public init(path: String, writing: Bool, errno code: Int32) {
        self.init(path: path, writing: writing, reason: FileError.reason(errno: code, path: path, writing: writing))
    }

    public var description: String { "cannot \(writing ? "write" : "read") \(printable(path)): \(reason)" }

    static func reason(errno code: Int32, path: String, writing: Bool) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        switch code {
        case ENOENT: return writing ? "the folder \(printable(folder.isEmpty ? "." : folder)) does not exist" : "no such file"
        case ENOTDIR: return "a part of the path before the last is not a folder"
        case EACCES, EPERM: return "permission denied"
        case EROFS: return "the file system is read-only"
        case ENOSPC, EDQUOT: return "no space left on the device"
        case EISDIR: return "it is a folder"
        case ELOOP: return "it is a symbolic link, which is not followed here"
        case ENAMETOOLONG: return "the name is too long"
        default: return String(cString: strerror(code)).lowercased()
        }
    }
}

/// Opens `path` for reading if it is a regular file (following a symbolic link unless
/// `followLinks` is false) and returns the descriptor, which the caller closes. A folder, FIFO,
/// socket or device is refused; the open itself never blocks (O_NONBLOCK, so a FIFO with no
/// writer cannot hang the session).
public func openRegularFile(_ path: String, followLinks: Bool = true) throws -> Int32 {
    let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (followLinks ? 0 : O_NOFOLLOW))
    guard fd >= 0 else { throw FileError(path: path, writing: false, errno: errno) }
    var status = stat()
    guard fstat(fd, &status) == 0 else {
        let code = errno
        close(fd)
        throw FileError(path: path, writing: false, errno: code)
    }
    guard status.st_mode & S_IFMT == S_IFREG else {
        close(fd)
        throw FileError(path: path, writing: false, reason: "it is \(fileKind(status.st_mode)), not a regular file")
    }
    // Reads of a regular file do not block anyway; clear the flag so they behave as usual.
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
    return fd
}

func fileKind(_ mode: mode_t) -> String {
    switch mode & S_IFMT {
    case S_IFDIR: return "a folder"
    case S_IFIFO: return "a named pipe (FIFO)"
    case S_IFSOCK: return "a socket"
    case S_IFCHR, S_IFBLK: return "a device"
    case S_IFLNK: return "a symbolic link"
    default: return "not a regular file"
    }
}

/// The whole contents of the regular file at `path`; a file larger than `limit` bytes is
/// refused before it is read (a damaged or hostile file can be any size).
public func readRegularFile(_ path: String, followLinks: Bool = true, limit: Int = Int.max) throws -> Data {
    let fd = try openRegularFile(path, followLinks: followLinks)
    defer { close(fd) }
    var status = stat()
    _ = fstat(fd, &status)
    guard Int(status.st_size) <= limit else {
        throw FileError(path: path, writing: false, reason: "it holds \(formatBytes(Int(status.st_size))), more than the \(formatBytes(limit)) expected")
    }
    var data = Data()
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = try retryingInterrupts(path, writing: false) { chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
        if n == 0 { return data }
        guard data.count + n <= limit else { throw FileError(path: path, writing: false, reason: "it grew past \(formatBytes(limit)) while being read") }
        data.append(contentsOf: chunk[0..<n])
    }
}

/// Fills `buffer` from `fd`, retrying short reads; a file that ends first is an error.
public func readExactly(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws {
    guard let base = buffer.baseAddress else { return }
    var offset = 0
    while offset < buffer.count {
        let n = try retryingInterrupts(path, writing: false) { read(fd, base + offset, buffer.count - offset) }
        guard n > 0 else { throw FileError(path: path, writing: false, reason: "it ends after \(offset) of \(buffer.count) expected bytes") }
        offset += n
    }
}

/// A read or write (`call`) repeated while a signal interrupts it (EINTR); its byte count, or
/// its error in words.
private func retryingInterrupts(_ path: String, writing: Bool, _ call: () -> Int) throws -> Int {
    while true {
        let n = call()
        if n >= 0 { return n }
        if errno != EINTR { throw FileError(path: path, writing: writing, errno: errno) }
    }
}

/// Writes `data` to `path` so that the file appears whole or not at all (see the other form).
public func writeFileAtomically(_ data: Data, to path: String) throws {
    try writeFileAtomically(to: path) { write in try data.withUnsafeBytes { try write($0) } }
}

/// Writes a file that appears whole or not at all: `body` passes its contents, in as many
/// pieces as it likes, to the function it is given, which writes them into a new temporary
/// file beside `path` (never through a symbolic link); that is flushed to disk and renamed
/// over `path`. Nothing is left behind when `body` or a write throws, and temporaries that
/// killed processes left beside `path` are removed.
public func writeFileAtomically(to path: String, _ body: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw FileError(path: path, writing: true, errno: errno) }
    do {
        defer { close(fd) }
        try body { bytes in
            guard let base = bytes.baseAddress else { return }
            var offset = 0
            while offset < bytes.count {
                offset += try retryingInterrupts(path, writing: true) { write(fd, base + offset, bytes.count - offset) }
            }
        }
        guard fsync(fd) == 0 else { throw FileError(path: path, writing: true, errno: errno) }
    } catch {
        unlink(temporary)
        throw error
    }
    guard rename(temporary, path) == 0 else {
        let code = errno
        unlink(temporary)
        throw FileError(path: path, writing: true, errno: code)
    }
    removeStaleTemporaries(of: path)
}

/// Removes the temporaries of `path` that processes no longer running left behind (a kill -9
/// between writing and renaming); a live process's temporary is left alone. Returns their names.
@discardableResult
public func removeStaleTemporaries(of path: String) -> [String] {
    let url = URL(fileURLWithPath: path)
    let folder = url.deletingLastPathComponent().path, prefix = ".\(url.lastPathComponent).tmp-"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    return names.filter { name in
        guard name.hasPrefix(prefix), let pid = pid_t(name.dropFirst(prefix.count)), pid > 0 else { return false }
        guard pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { return false }
        return unlink(folder + "/" + name) == 0
    }
}

/// Creates the folder `path` and the folders above it that are missing; a clear error when a
/// file is in the way or the place cannot be written.
public func createFolder(_ path: String) throws {
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
        guard isFolder.boolValue else { throw FileError(path: path, writing: true, reason: "it is a file, not a folder") }
        return
    }
    do {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
        throw FileError(error) ?? FileError(path: path, writing: true, reason: "\(error)")
    }
}

/// Creates the folder `path` if needed and checks that files can be made in it, so that a long
/// run fails at its start, not at its first checkpoint, when its output folder is read-only.
public func prepareOutputFolder(_ path: String) throws {
    try createFolder(path)
    guard access(path, W_OK) == 0 else { throw FileError(path: path, writing: true, errno: errno) }
}

extension FileError {
    /// Foundation's file errors (`Error Domain=NSCocoaErrorDomain Code=…`) in these words; nil
    /// for an error that is not about a file.
    public init?(_ error: any Error) {
        if let error = error as? FileError { self = error; return }
        let error = error as NSError
        guard error.domain == NSCocoaErrorDomain, let path = error.userInfo[NSFilePathErrorKey] as? String
                ?? (error.userInfo[NSURLErrorKey] as? URL)?.path else { return nil }
        // Code 4 (no such file) comes from writes into a missing folder; reads report 260.
        let writing = error.code == CocoaError.Code.fileNoSuchFile.rawValue
            || (CocoaError.Code.fileWriteUnknown.rawValue...CocoaError.Code.fileWriteVolumeReadOnly.rawValue).contains(error.code)
        if let underlying = error.userInfo[NSUnderlyingErrorKey] as? any Error, (underlying as NSError).domain == NSPOSIXErrorDomain {
            self.init(path: path, writing: writing, errno: Int32(truncatingIfNeeded: (underlying as NSError).code))
            return
        }
        let reasons: [CocoaError.Code: String] = [.fileNoSuchFile: FileError.reason(errno: ENOENT, path: path, writing: true),
                                                   .fileReadNoSuchFile: "no such file", .fileReadNoPermission: "permission denied",
                                                   .fileWriteNoPermission: "permission denied", .fileWriteVolumeReadOnly: "the file system is read-only",
                                                   .fileWriteOutOfSpace: "no space left on the device"]
        self.init(path: path, writing: writing, reason: reasons[CocoaError.Code(rawValue: error.code)] ?? "error \(error.code)")
    }
}

/// An error as the user should read it: file errors from Foundation in plain words, the rest
/// as they describe themselves, with no control character left to reach the terminal.
public func describe(_ error: any Error) -> String {
    FileError(error)?.description ?? printable("\(error)", keepingNewlines: true)
}
