import Foundation
import XCTest
@testable import Engine
import TestSupport

/// Reading only regular files, writing whole files, clear words for what fails, and names that
/// cannot drive the terminal (issue 18.4, 18.12, 18.13).
final class FileTests: ScratchDirectoryTestCase {
    func testControlCharactersInNamesAreEscaped() {
        XCTAssertEqual(printable("faces/\u{1B}[2J\u{1B}[31mx.png"), "faces/\\u{1B}[2J\\u{1B}[31mx.png")
        XCTAssertEqual(printable("a\nb\tc\r\u{7F}\u{9B}"), "a\\nb\tc\\r\\u{7F}\\u{9B}")
        XCTAssertEqual(printable("line 1\nline 2 \u{1B}[2J", keepingNewlines: true), "line 1\nline 2 \\u{1B}[2J")
        XCTAssertEqual(printable("evil\u{202E}gnp.exe"), "evil\\u{202E}gnp.exe")
        XCTAssertEqual(printable("visages/été 😀.png"), "visages/été 😀.png")
        let error = FileError(path: "\u{1B}]0;pwned\u{07}.png", writing: false, reason: "no such file")
        XCTAssertEqual(error.description, "cannot read \\u{1B}]0;pwned\\u{7}.png: no such file")
    }

    func testAFolderIsNotReadAsAFile() {
        XCTAssertThrowsError(try readRegularFile(directory.path)) { error in
            XCTAssertEqual(error as? FileError, FileError(path: directory.path, writing: false, reason: "it is a folder, not a regular file"))
        }
    }

    /// A FIFO with no writer would block `open` forever without O_NONBLOCK.
    func testAFIFOIsRefusedWithoutBlocking() throws {
        let fifo = path("x.png")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertThrowsError(try readRegularFile(fifo)) { error in
            XCTAssertEqual("\(error)", "cannot read \(fifo): it is a named pipe (FIFO), not a regular file")
        }
    }

    func testDevicesAndProcFilesAreErrors() {
        XCTAssertThrowsError(try readRegularFile("/dev/zero")) { error in
            XCTAssertEqual("\(error)", "cannot read /dev/zero: it is a device, not a regular file")
        }
        // A regular file by its mode whose reads fail (EIO): an error, not a trap.
        XCTAssertThrowsError(try readRegularFile("/proc/self/mem")) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot read /proc/self/mem: "), "\(error)")
        }
        XCTAssertThrowsError(try readRegularFile(path("missing.png"))) { error in
            XCTAssertEqual("\(error)", "cannot read \(path("missing.png")): no such file")
        }
    }

    func testSymbolicLinksAreFollowedOnlyWhenAsked() throws {
        let target = path("target"), link = path("link")
        try Data("data".utf8).write(to: URL(fileURLWithPath: target))
        XCTAssertEqual(symlink(target, link), 0)
        XCTAssertEqual(try readRegularFile(link), Data("data".utf8))
        XCTAssertThrowsError(try readRegularFile(link, followLinks: false)) { error in
            XCTAssertEqual("\(error)", "cannot read \(link): it is a symbolic link, which is not followed here")
        }
    }

    func testAFileOverTheExpectedSizeIsNotRead() throws {
        try Data(count: 2000).write(to: URL(fileURLWithPath: path("big")))
        XCTAssertEqual(try readRegularFile(path("big"), limit: 2000).count, 2000)
        XCTAssertThrowsError(try readRegularFile(path("big"), limit: 1999)) { error in
            XCTAssertEqual("\(error)", "cannot read \(path("big")): it holds 2.0 KiB, more than the 2.0 KiB expected")
        }
    }

    func testWritesAppearWholeAndFailuresSayWhy() throws {
        try writeFileAtomically(Data("one".utf8), to: path("out.md"))
        try writeFileAtomically(Data("two".utf8), to: path("out.md"))
        XCTAssertEqual(try readRegularFile(path("out.md")), Data("two".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["out.md"])
        XCTAssertThrowsError(try writeFileAtomically(Data(), to: path("missing/s.md"))) { error in
            XCTAssertEqual("\(error)", "cannot write \(path("missing/s.md")): the folder \(path("missing")) does not exist")
        }
        XCTAssertThrowsError(try writeFileAtomically(Data(), to: path("out.md/s.md"))) { error in
            XCTAssertEqual("\(error)", "cannot write \(path("out.md/s.md")): a part of the path before the last is not a folder")
        }
        XCTAssertThrowsError(try createFolder(path("out.md"))) { error in
            XCTAssertEqual("\(error)", "cannot write \(path("out.md")): it is a file, not a folder")
        }
    }

    /// Foundation's `Error Domain=NSCocoaErrorDomain Code=…` becomes words naming the file.
    func testFoundationFileErrorsAreDescribedPlainly() {
        let missing = path("nowhere/s.md")
        do {
            try "x".write(toFile: missing, atomically: true, encoding: .utf8)
            XCTFail("wrote into a missing folder")
        } catch {
            XCTAssertEqual(describe(error), "cannot write \(missing): the folder \(path("nowhere")) does not exist")
        }
        do {
            _ = try Data(contentsOf: URL(fileURLWithPath: path("absent")))
            XCTFail("read a missing file")
        } catch {
            XCTAssertEqual(describe(error), "cannot read \(path("absent")): no such file")
        }
        XCTAssertEqual(describe(EngineError.invalidArgument(op: "f", message: "m")), "f: m")
    }
}
