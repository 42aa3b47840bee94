import Foundation
import XCTest

/// The reproductions of issue 18 that are the files, data and allocation slice, each piped into
/// `normlab repl` as the issue ran them: each must give a message, leave the session running
/// (the line after it still runs) and exit normally.
final class HostileInputTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("normlab-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Runs `lines` and then a print; asserts the session survived to it and exited normally.
    @discardableResult
    func survives(_ lines: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try runPiped(["repl"], input: lines + "\nprint(\"still alive\")\n")
        // No crash (a signal gives 128 + n); a script with an error exits 1 at its end.
        XCTAssertLessThan(result.status, 128, result.output, file: file, line: line)
        XCTAssertTrue(result.output.contains("still alive"), result.output, file: file, line: line)
        return result.output
    }

    // MARK: 18.2 allocations

    /// Two tensors that each fit under the per-tensor limit but not together: the second is
    /// refused, naming its size, what is live and the budget (set low so the test needs little memory).
    func testTwoTensorsOverTheBudgetGiveAMessage() throws {
        let output = try survives(":memory 64MiB\nlet a = zeros(10000000)\nlet b = zeros(10000000)\n:memory")
        XCTAssertTrue(output.contains("error: full: a tensor of shape [10000000] needs 38.1 MiB and live tensors already hold 38.1 MiB: "
                                      + "over the memory budget of 64.0 MiB"), output)
        XCTAssertTrue(output.contains("tensors hold 38.1 MiB"), output)
    }

    // MARK: 18.12 file messages

    func testSavingIntoAMissingFolderSaysSo() throws {
        let output = try survives("1 + 1\n:save /nonexistent/dir/s.md")
        XCTAssertTrue(output.contains("error: cannot write /nonexistent/dir/s.md: the folder /nonexistent/dir does not exist"), output)
        XCTAssertFalse(output.contains("NSCocoaErrorDomain"), output)
        // With a picture in the session too: the pictures' folder must not make the missing one.
        let folder = NSTemporaryDirectory() + "normlab-missing-\(UUID().uuidString)"
        let drawn = try survives("show(ones(3, 4, 4))\n:save \(folder)/s.md")
        XCTAssertTrue(drawn.contains("error: cannot write \(folder)/s.md: the folder \(folder) does not exist"), drawn)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder), "the missing folder stays missing")
    }

    /// A run whose output cannot be written fails before it trains, saying why in words.
    func testTrainingIntoAnUnwritableFolderFailsAtOnceWithAMessage() throws {
        let blocker = path("file")
        try Data("x".utf8).write(to: URL(fileURLWithPath: blocker))
        let result = try runPiped(["train", "--tiny", "--out", blocker + "/run"], input: "")
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.output.contains("Error: cannot write \(blocker)/run: a part of the path before the last is not a folder"), result.output)
        XCTAssertFalse(result.output.contains("training plain"), "it must fail before training: \(result.output)")
        if geteuid() != 0 {   // root may write anywhere
            let readOnly = path("read-only")
            try FileManager.default.createDirectory(atPath: readOnly, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o555])
            let denied = try runPiped(["train", "--tiny", "--out", readOnly + "/run"], input: "")
            XCTAssertTrue(denied.output.contains("Error: cannot write \(readOnly)/run: permission denied"), denied.output)
        }
    }

    func testAGridWithAHugePaddingIsRefused() throws {
        let output = try survives("grid(rand(1, 3, 4, 4), padding: 30000)")
        XCTAssertTrue(output.contains("grid: a tensor of shape [3, 60004, 60004] needs 40.2 GiB, over the allocation limit of 4.0 GiB"), output)
    }

    // MARK: 18.3 integer conversions of non-finite and huge values

    func testPlotsOfNaNAndHugeValuesDoNotTrap() throws {
        let output = try survives("scatter(full([4, 2], value: 0/0))\nplot([1e308, -1e308])\nsparkline([1e308, -1e308])")
        XCTAssertTrue(output.contains("█▁"), output)
    }

    // MARK: 18.4 only regular files

    func testLoadingAFolderOrProcMemIsAnError() throws {
        let output = try survives("load_image(\"/tmp\")\nload_image(\"/proc/self/mem\")")
        XCTAssertTrue(output.contains("cannot read /tmp: it is a folder, not a regular file"), output)
        XCTAssertTrue(output.contains("cannot read /proc/self/mem: "), output)
        let show = try runPiped(["show", "/tmp"], input: "")
        XCTAssertEqual(show.status, 1, show.output)
        XCTAssertTrue(show.output.contains("error: cannot read /tmp: it is a folder, not a regular file"), show.output)
    }

    /// A FIFO named x.png used to block load_image and show forever.
    func testAFIFONamedLikeAnImageDoesNotBlock() throws {
        let fifo = path("x.png")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let output = try survives("load_image(\"\(fifo)\")")
        XCTAssertTrue(output.contains("cannot read \(fifo): it is a named pipe (FIFO), not a regular file"), output)
        let show = try runPiped(["show", fifo], input: "")
        XCTAssertTrue(show.output.contains("it is a named pipe (FIFO)"), show.output)
    }

    // MARK: 18.2, 18.3 counts no tensor can hold

    func testHugeAndNegativeCountsGiveMessages() throws {
        let faces = path("faces")
        let output = try survives("faces(1e9, size: 8)\nsave_faces(\"\(faces)\", count: 4444444444)\n"
                                  + "pair_distance(faces(3, size: 8), pairs: 1000000000000)\ntoy(\"8gaussians\", count: -1)")
        XCTAssertTrue(output.contains("error: syntheticFaces: a tensor of shape [1000000000, 3, 8, 8] needs 715.3 GiB, over the allocation limit"), output)
        XCTAssertTrue(output.contains("error: syntheticFaces: a tensor of shape [4444444444, 3, 64, 64] needs 198.7 TiB"), output)
        XCTAssertTrue(output.contains("error: toy: the count must be ≥ 0, got -1"), output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: faces), "nothing written for a refused count")
    }

    // MARK: 18.12, 18.14 datasets

    func testADatasetOfAFileSaysWhatItIs() throws {
        let output = try survives("dataset(\"/etc/hostname\")")
        XCTAssertTrue(output.contains("error: /etc/hostname is a file; a dataset is a folder of PNG/JPEG images, or a CelebA folder with img_align_celeba/"), output)
    }

    /// The failing test: 44 faces, then 4 into the same folder, then dataset.
    func testSavingFacesTwiceIntoOneFolderReplacesTheFirstSet() throws {
        let faces = path("faces")
        let output = try survives("save_faces(\"\(faces)\", count: 44, size: 8)\nsave_faces(\"\(faces)\", count: 4, size: 8)\n"
                                  + "dataset(\"\(faces)\", size: 8).count")
        XCTAssertFalse(output.contains("error"), output)
        XCTAssertTrue(output.split(separator: "\n").contains("4"), output)
    }

    /// Damaged images in a folder: the dataset builtin says how many were skipped and why.
    func testTheDatasetBuiltinReportsSkippedFiles() throws {
        let folder = path("photos")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: packageRoot.appendingPathComponent("Tests/PreviewTests/Fixtures/rose.png").path, toPath: folder + "/rose.png")
        try Data("no".utf8).write(to: URL(fileURLWithPath: folder + "/\u{1B}[2Jbroken.png"))
        let output = try survives("dataset(\"\(folder)\", size: 8).count")
        XCTAssertTrue(output.contains("warning: skipped 1 of 2 files: 1 not a supported image (\\u{1B}[2Jbroken.png); all of them, with the reasons, in "), output)
        XCTAssertFalse(output.contains("\u{1B}"), "no raw escape reaches the terminal")
    }

    // MARK: 18.13 names that would drive the terminal

    /// A path typed (or pasted) with an escape sequence in it comes back escaped in the message.
    func testEscapeSequencesInMessagesAreEscaped() throws {
        let output = try survives("load_image(\"\u{1B}[2J\u{1B}]0;pwned\u{07}x.png\")")
        let message = try XCTUnwrap(output.split(separator: "\n").first { $0.hasPrefix("error:") })
        XCTAssertEqual(message, "error: cannot read \\u{1B}[2J\\u{1B}]0;pwned\\u{7}x.png: no such file")
    }
}
