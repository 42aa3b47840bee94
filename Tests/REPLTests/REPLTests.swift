import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The built `normlab`, beside this test bundle.
let normlab = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("normlab").path
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Runs normlab with `input` on a pipe (not a terminal): its output and exit status; standard
/// error is in the output too, unless `separatingErrors` asks for it in `errors`.
func runPiped(_ arguments: [String], input: String, path: String? = nil, separatingErrors: Bool = false) throws -> (output: String, status: Int32, errors: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: normlab)
    process.arguments = arguments
    process.currentDirectoryURL = packageRoot
    var environment = ProcessInfo.processInfo.environment
    environment["HOME"] = FileManager.default.temporaryDirectory.path
    if let path { environment["PATH"] = path }
    process.environment = environment
    let stdin = Pipe(), stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    // Standard error apart goes to a file: a second pipe could fill while the first is read.
    let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("normlab-stderr-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: errorFile) }
    if separatingErrors {
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errorFile)
    } else {
        process.standardError = stdout
    }
    try process.run()
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    let data = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let errors = separatingErrors ? try String(contentsOf: errorFile, encoding: .utf8) : ""
    return (String(decoding: data, as: UTF8.self), process.terminationStatus, errors)
}

final class ScriptedREPLTests: XCTestCase {
    func testPipedInputRunsPlainLinesAndStrictStopsOnTheFirstError() throws {
        let ok = try runPiped(["repl"], input: "let x = tensor([1, 2])\nx * 3\nfunc twice(_ v: Float) -> Float {\n  return v * 2\n}\ntwice(21)\n")
        XCTAssertEqual(ok.status, 0)
        XCTAssertTrue(ok.output.contains("[3. 6.]") && ok.output.contains("42"), ok.output)
        XCTAssertFalse(ok.output.contains("\u{1B}"), "no escape codes when not on a terminal")
        XCTAssertFalse(ok.output.contains("normlab>"), "no prompts when not on a terminal")

        let strict = try runPiped(["repl", "--strict"], input: "let y = 1\ny + zz\nprint(\"not reached\")\n")
        XCTAssertEqual(strict.status, 1)
        XCTAssertTrue(strict.output.contains("error: 'zz' is not defined"), strict.output)
        XCTAssertFalse(strict.output.contains("not reached"))

        let lenient = try runPiped(["repl"], input: "y + zz\nprint(\"still here\")\n")
        XCTAssertEqual(lenient.status, 1, "a script with an error fails, at the end")
        XCTAssertTrue(lenient.output.contains("still here"), "the session survives an error")
    }

    /// Issue 17 item 6: an error in piped input names its real line (not `<input>:1`), and a
    /// script with any error exits non-zero once its input ends.
    func testPipedErrorsGiveTheRealLineAndTheScriptFailsAtTheEnd() throws {
        let result = try runPiped(["repl"], input: "let a = 1\n\nlet b = [1,\n  2]\nb + zz\nprint(\"after\")\n")
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.output.contains("--> <stdin>:5:5\n5 │ b + zz\n  │     ^"), result.output)
        XCTAssertTrue(result.output.contains("after"), "the rest of the script still runs")
        let clean = try runPiped(["repl"], input: "let a = 1\nprint(a)\n")
        XCTAssertEqual(clean.status, 0, clean.output)
    }

    /// `normlab run` names the file and the line in it.
    func testRunNamesTheFileAndLineOfAnError() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("erring-\(UUID().uuidString).md").path
        try "# E\n\n```swift\nlet a = 1\n\nprint(a + zz)\n```\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try runPiped(["run", file], input: "")
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.output.contains("--> \(file):6:11\n5 │ \n6 │ print(a + zz)"), result.output)
    }

    /// Issue 17 item 6: what does not exist is an error, with a message and a failing status.
    func testMissingLessonsAndFilesExitNonZero() throws {
        for (arguments, message) in [(["lesson", "99"], "there is no lesson 99"), (["lesson", "abc"], "there is no lesson file 'abc'"),
                                     (["run", "missing.md"], "missing.md: cannot read the lesson missing.md (no such file)")] {
            let result = try runPiped(arguments, input: "")
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertTrue(result.output.contains(message), result.output)
        }
    }

    /// `normlab run`'s failures and their summary go to standard error, its lessons' output to
    /// standard output; the exit status is 1.
    func testRunWritesItsFailuresToStandardError() throws {
        let result = try runPiped(["run", "/nonexistent/missing.md"], input: "", separatingErrors: true)
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.output, "", "nothing on standard output")
        XCTAssertTrue(result.errors.hasSuffix("\n1 lesson(s) failed:\n  /nonexistent/missing.md: cannot read the lesson /nonexistent/missing.md (no such file)\n"),
                      result.errors)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("failing-\(UUID().uuidString).md").path
        try "# F\n\n```swift\nprint(\"shown\")\nlet a = zz\n```\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let failing = try runPiped(["run", file], input: "", separatingErrors: true)
        XCTAssertEqual(failing.status, 1)
        XCTAssertTrue(failing.output.contains("shown") && failing.output.contains("error: 'zz' is not defined"), "the lesson's own output: \(failing.output)")
        XCTAssertFalse(failing.output.contains("failed"), failing.output)
        XCTAssertTrue(failing.errors.hasPrefix("✗ \(file): cell 1 (line 4): 'zz' is not defined\n"), failing.errors)
    }

    /// `normlab version` names every C library the binary links, each by its own version call.
    func testVersionNamesEveryLinkedLibrary() throws {
        let result = try runPiped(["version"], input: "")
        XCTAssertEqual(result.status, 0, result.output)
        for pattern in ["libpng [0-9]+\\.[0-9]+", "libjpeg API [0-9]+", "libedit [0-9]+\\.[0-9]+", "ZeroMQ [0-9]+\\.[0-9]+\\.[0-9]+", "OpenSSL [0-9]+\\.[0-9]+"] {
            XCTAssertNotNil(result.output.range(of: pattern, options: .regularExpression), "\(pattern): \(result.output)")
        }
    }

    /// The student's path through lesson 2: from cell 7 to the end. Cell 10 names the skipped
    /// cell that defines `estimate` and, as cells 1–6 have not run, to run them from cell 1
    /// (running cell 2 alone failed on `W` of cell 1, then cell 10 on `M` of cell 3); the end
    /// comes right after cell 10, says what did not run or failed, and points to lesson 3;
    /// Enter at [done] does not say it again; `:prev` runs cell 10 again; following the hint,
    /// the lesson runs to its end without an error.
    func testSkippingAheadToTheEndOfLesson2() throws {
        let result = try runPiped(["lesson", "2"], input: ":goto 7\n\n\n\n\n:prev\n:goto 1\n" + String(repeating: "\n", count: 9))
        XCTAssertTrue(result.output.contains("hint: 'estimate' is defined in cell 2; cells 1–6 have not run: :goto 1, then Enter runs them in order"),
                      result.output)
        let ending = "End of the lesson (cells 1–6 did not run; cell 10 stopped at an error).\n\nNext: `:load 3` opens Lesson 3: AdaIN, formula (2).\n"
        let end = try XCTUnwrap(result.output.range(of: "runs them in order\n" + ending), "the end, right after cell 10's error: \(result.output)")
        let after = result.output[end.upperBound...]
        XCTAssertTrue(after.hasPrefix("The lesson is done: `:goto N` runs cell N again, `:load 3` opens the next.\n"), "Enter at [done]: \(after)")
        let again = after[..<(after.range(of: "End of the lesson")?.lowerBound ?? after.endIndex)]
        XCTAssertTrue(again.contains("── cell 10 of 10") && !again.contains("── cell 9 of 10"), ":prev, the last cell again: \(after)")
        let rerun = try XCTUnwrap(result.output.range(of: "── cell 1 of 10", options: .backwards), result.output)
        let followed = result.output[rerun.lowerBound...]
        XCTAssertFalse(followed.contains("\nerror: "), "following the hint, nothing fails: \(followed)")
        XCTAssertTrue(followed.hasSuffix("End of the lesson.\n\nNext: `:load 3` opens Lesson 3: AdaIN, formula (2).\n"), String(followed.suffix(300)))
    }

    /// The student's transcript: lesson 1, then lesson 2 from cell 7. Lesson 2's cells come
    /// under its own heading (written with cell 1's prose, which did not run), in Markdown and
    /// in Jupyter.
    func testATranscriptOfALessonStartedFurtherOnHasItsHeading() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("transcript-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (markdown, ipynb) = (folder.appendingPathComponent("t.md").path, folder.appendingPathComponent("t.ipynb").path)
        let result = try runPiped(["repl"], input: ":load 1\n:run\n:load 2\n:goto 7\n:save \(markdown)\n:save \(ipynb)\n")
        XCTAssertEqual(result.status, 0, result.output)
        let text = try String(contentsOfFile: markdown, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("# Transcript: Lessons 1–2\n"), text)
        let lesson1 = try XCTUnwrap(text.range(of: "\n# Lesson 1: "), text)
        let lesson2 = try XCTUnwrap(text.range(of: "\n# Lesson 2: "), text)
        let cell7 = try XCTUnwrap(text.range(of: "var drifting = randn(48, 24)"), text)
        XCTAssertTrue(lesson1.upperBound < lesson2.lowerBound && lesson2.upperBound < cell7.lowerBound, text)
        XCTAssertFalse(text[lesson1.upperBound..<lesson2.lowerBound].contains("var drifting"), "no cell of lesson 2 under lesson 1: \(text)")

        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: ipynb))) as? [String: Any]
        let sources = (json?["cells"] as? [[String: Any]] ?? []).map { ($0["source"] as? [String] ?? []).joined() }
        let heading2 = try XCTUnwrap(sources.firstIndex { $0.hasPrefix("# Lesson 2: ") }, "\(sources)")
        let code7 = try XCTUnwrap(sources.firstIndex { $0.contains("var drifting = randn(48, 24)") }, "\(sources)")
        XCTAssertEqual(heading2, code7 - 1, "the heading opens the Markdown cell just before cell 7")
    }

    /// Issue 17 item 6 and 18 item 10: into a pipe, each line is written when it is printed,
    /// not when normlab exits, so `normlab | tee log` shows it and a kill cannot lose it.
    func testPipedOutputArrivesLineByLine() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: normlab)
        process.arguments = ["repl"]
        process.currentDirectoryURL = packageRoot
        let stdin = Pipe(), stdout = Pipe()
        (process.standardInput, process.standardOutput) = (stdin, stdout)
        try process.run()
        stdin.fileHandleForWriting.write(Data("print(\"first\")\nwhile true { }\n".utf8))
        var received = ""
        let deadline = Date().addingTimeInterval(20)
        var buffer = [UInt8](repeating: 0, count: 256)
        let fd = stdout.fileHandleForReading.fileDescriptor
        while !received.contains("first") && Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 100) > 0 {
                let n = read(fd, &buffer, buffer.count)
                if n <= 0 { break }
                received += String(decoding: buffer[0..<n], as: UTF8.self)
            }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertTrue(received.contains("first"), "the line printed before the endless loop arrived while it ran: \(received.debugDescription)")
    }

    /// Issue 17, item 1: input that ends inside an open bracket is an error naming where it was
    /// opened, with a non-zero exit, in plain and strict piped mode.
    func testInputEndingInsideABracketIsAnError() throws {
        for arguments in [["repl", "--strict"], ["repl"]] {
            let result = try runPiped(arguments, input: "print(\"x\")\nlet t = tensor([1, 2\nprint(\"y\")\n")
            XCTAssertEqual(result.status, 1, "\(arguments): \(result.output)")
            XCTAssertTrue(result.output.hasPrefix("x\n"), result.output)
            XCTAssertTrue(result.output.contains("error: the input ended inside the '[' opened at line 2, column 16\n--> <stdin>:2:16\n2 │ let t = tensor([1, 2"), result.output)
            XCTAssertTrue(result.output.contains("hint: close it with ']'"), result.output)
        }
    }

    /// Issue 17, item 2: an escaped backslash before the closing quote ends the string.
    func testAnEscapedBackslashDoesNotSwallowTheNextLine() throws {
        let result = try runPiped(["repl", "--strict"], input: "print(\"a\\\\\")\nprint(\"b\")\n")
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertEqual(result.output, "a\\\nb\n")
    }

    /// Issue 17 item 12, each of the small ones that a script can show.
    func testSmallThingsAStudentMeets() throws {
        let result = try runPiped(["repl"], input: "exit\nquit()\n:seed\n:seed 42\n:seed\nseed(7)\n:seed\nhelp(adain)\npower_iteration?\n")
        XCTAssertTrue(result.output.contains("To leave, type :quit or press Ctrl-D."), result.output)
        XCTAssertFalse(result.output.contains("not defined"), result.output)
        XCTAssertTrue(result.output.contains("seed: 0 (the last one set"), result.output)
        XCTAssertTrue(result.output.contains("seed: 42 (the last one set"), result.output)
        XCTAssertTrue(result.output.contains("seed: 7 (the last one set"), result.output)
        XCTAssertTrue(result.output.contains("adain(_ x: Tensor, style y: Tensor"), result.output)
        XCTAssertTrue(result.output.contains("order: \"classic\" or \"parametrization\""), result.output)
        XCTAssertEqual(result.status, 0, result.output)
    }

    func testCommandsWithoutATerminal() throws {
        let result = try runPiped(["repl"], input: ":load 1\n\n:cells\n:vars\n:backend reference\n:time ones(4) + 1\n:backend simd\n:nope\n")
        XCTAssertTrue(result.output.contains("Loaded Lesson 1"), result.output)
        XCTAssertTrue(result.output.contains("cell 1 of"), result.output)
        XCTAssertTrue(result.output.contains("▶ 2"), result.output)
        XCTAssertTrue(result.output.contains("a             Tensor      [2, 3]"), result.output)
        XCTAssertTrue(result.output.contains("backend: reference"), result.output)
        XCTAssertTrue(result.output.contains("median of"), result.output)
        XCTAssertTrue(result.output.contains("unknown command ':nope'"), result.output)
    }

    /// Issue 17 item 9: without a terminal nothing pages or waits for a key, even presenting.
    func testPresentingWithoutATerminalNeitherPagesNorWaits() throws {
        let result = try runPiped(["lesson", "2", "--present"], input: "\n:help\n")
        XCTAssertTrue(result.output.contains("✓ the longest stretch is σ(W)"), result.output)
        XCTAssertTrue(result.output.contains(":quit"), "the whole help: \(result.output)")
        XCTAssertFalse(result.output.contains("-- more"), result.output)
        XCTAssertFalse(result.output.contains("Enter runs this cell"), result.output)
        XCTAssertFalse(result.output.contains("\u{1B}[2J"), "no screen is cleared")
        XCTAssertEqual(result.status, 0, result.output)
    }

    /// `normlab run --check` on every lesson: each runs and every claim it checks holds.
    func testEveryLessonPassesItsChecks() throws {
        let lessons = try FileManager.default.contentsOfDirectory(atPath: packageRoot.appendingPathComponent("Lessons").path)
            .filter { $0.hasSuffix(".md") && $0.first?.isNumber == true }.sorted().map { "Lessons/" + $0 }
        XCTAssertFalse(lessons.isEmpty)
        let result = try runPiped(["run", "--check", "--quiet"] + lessons, input: "")
        XCTAssertEqual(result.status, 0, result.output)
    }

    /// The committed results of the comparison are quoted, row for row, by lesson 5 and the
    /// README: a rerun that changes Assets/experiment/metrics.md must update both.
    func testLessonAndReadmeQuoteTheCommittedResults() throws {
        let table = try String(contentsOf: packageRoot.appendingPathComponent("Assets/experiment/metrics.md"), encoding: .utf8)
        let rows = table.split(separator: "\n").filter { $0.hasPrefix("| ") }
        XCTAssertGreaterThan(rows.count, 4)
        for quoting in ["Lessons/05-the-study.md", "README.md"] {
            let text = try String(contentsOf: packageRoot.appendingPathComponent(quoting), encoding: .utf8)
            for row in rows { XCTAssertTrue(text.contains(row), "\(quoting) does not quote the row: \(row)") }
        }
    }

    func testRunCheckFailsNamingFileCellAndLine() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("failing-\(UUID().uuidString).md").path
        try "# F\n\n```swift\nlet a = 1\n```\n\n```swift\ncheck(a == 2, \"a is two\")\n```\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try runPiped(["run", "--check", file], input: "")
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.output.contains("\(file): cell 2 (line 8): check failed: a is two"), result.output)
    }
}

/// A pseudo-terminal session: what a student types, and what the screen shows.
class TerminalSession: XCTestCase {
    var master: Int32 = -1
    var pid: pid_t = 0
    var screen = ""

    func spawn(_ arguments: [String], environment: [String: String], rows: UInt16 = 40, columns: UInt16 = 100) throws {
        var slave: Int32 = -1
        var name = [CChar](repeating: 0, count: 256)
        var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        guard openpty(&master, &slave, &name, nil, &size) == 0 else { throw XCTSkip("no pseudo-terminal available") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addclose(&actions, master)
        posix_spawn_file_actions_addclose(&actions, slave)
        // Opened after setsid, the terminal becomes the child's controlling terminal, so Ctrl-C
        // typed into it sends SIGINT, as in a real session.
        posix_spawn_file_actions_addopen(&actions, 0, name, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        posix_spawnattr_setflags(&attributes, Int16(0x80))   // POSIX_SPAWN_SETSID
        let argv = ([normlab] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        let status = posix_spawn(&pid, normlab, &actions, &attributes, argv, envp)
        close(slave)
        posix_spawn_file_actions_destroy(&actions)
        posix_spawnattr_destroy(&attributes)
        guard status == 0 else { throw XCTSkip("cannot spawn normlab: \(status)") }
    }

    /// Types like a person: a moment after the prompt appears (libedit flushes input typed
    /// while it switches the terminal mode), then the keys.
    func type(_ text: String) {
        Thread.sleep(forTimeInterval: 0.3)
        _ = text.utf8CString.withUnsafeBufferPointer { write(master, $0.baseAddress, $0.count - 1) }
    }

    /// Reads the screen until `text` appears (or fails after `seconds`).
    @discardableResult
    func waitFor(_ text: String, seconds: Double = 20, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            if screen.contains(text) { return true }
            var poller = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 100) > 0 {
                let n = read(master, &buffer, buffer.count)
                if n <= 0 {
                    var status: Int32 = 0
                    let exited = waitpid(pid, &status, WNOHANG)
                    screen += "\n[read returned \(n), errno \(errno); waitpid \(exited), status \(status)]"
                    break
                }
                screen += String(decoding: buffer[0..<n], as: UTF8.self)
            }
        }
        if screen.contains(text) { return true }
        XCTFail("waited for \(text.debugDescription); the screen shows:\n\(screen.suffix(1500))", file: file, line: line)
        return false
    }

    override func tearDown() {
        if pid > 0 { kill(pid, SIGKILL); var status: Int32 = 0; waitpid(pid, &status, 0) }
        if master >= 0 { close(master) }
    }
}

final class TerminalREPLTests: TerminalSession {
    /// Issue 17, item 2: in a terminal, Enter on an empty line inside an unfinished statement
    /// says how to get out, and a second empty line discards it.
    func testTwoEmptyLinesLeaveAnUnfinishedStatement() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("normlab-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        try spawn(["repl"], environment: ["TERM": "xterm-256color", "HOME": home.path, "NO_COLOR": "1", "COLUMNS": "100", "PATH": "/usr/bin:/bin"])
        guard waitFor("normlab> ") else { return }
        type("let t = tensor([1, 2\r")
        guard waitFor("...> ") else { return }
        type("\r")
        guard waitFor("press Enter again to discard the unfinished statement") else { return }
        type("\r")
        guard waitFor("(discarded the unfinished statement)") else { return }
        screen = ""
        type("print(\"back\")\r")
        waitFor("back")
        type(":quit\r")
    }

    func testTypingCompletionInterruptAndSaving() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("normlab-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        try spawn(["repl"], environment: ["TERM": "xterm-256color", "HOME": home.path, "NO_COLOR": "1", "COLUMNS": "100",
                                         "PATH": "/usr/bin:/bin", "NORMLAB_LESSONS": packageRoot.appendingPathComponent("Lessons").path])
        guard waitFor("normlab> ") else { return }
        screen = ""
        type("let weights = tensor([1, 2, 3])\r")
        waitFor("normlab> ", seconds: 10)
        screen = ""
        // Tab completes the method name after the dot: libedit redraws the line and adds "pe".
        type("weights.sha\t")
        guard waitFor("pe") else { return }
        type("\r")
        waitFor("[3]")
        XCTAssertFalse(screen.contains("no property"), "the completed line ran as weights.shape")
        // Ctrl-C stops a loop that would run forever; the variable keeps its last value.
        type("var i = 0\r")
        type("while true { i += 1 }\r")
        Thread.sleep(forTimeInterval: 1)
        type("\u{03}")
        guard waitFor("interrupted") else { return }
        screen = ""
        type("i > 0\r")
        waitFor("true")
        let transcript = home.appendingPathComponent("session.md").path
        type(":save \(transcript)\r")
        waitFor("Saved")
        XCTAssertTrue((try? String(contentsOfFile: transcript, encoding: .utf8))?.contains("weights.shape") ?? false)
        XCTAssertFalse(screen.contains("interrupted: interrupted"), "the interrupt is said once")
        type(":quit\r")
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(10)
        while waitpid(pid, &status, WNOHANG) == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        pid = 0
        XCTAssertTrue(FileManager.default.fileExists(atPath: home.appendingPathComponent(".normlab_history").path), "the history is kept")
    }
}

/// Tab completion of paths, the history file, and what a terminal session keeps.
final class TerminalCompletionAndHistoryTests: TerminalSession {
    func home() throws -> URL {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("normlab-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: home) }
        return home
    }

    func environment(_ home: URL) -> [String: String] {
        ["TERM": "xterm-256color", "HOME": home.path, "NO_COLOR": "1", "COLUMNS": "100", "PATH": "/usr/bin:/bin",
         "NORMLAB_LESSONS": packageRoot.appendingPathComponent("Lessons").path]
    }

    /// Issue 17 item 8: `:load Lessons/03` + Tab gave `:load Lessons/03ssons/03-adain.md`.
    func testTabCompletesPathsAfterLoadAndInStrings() throws {
        try spawn(["repl"], environment: environment(try home()))
        guard waitFor("normlab> ") else { return }
        screen = ""
        // libedit moves the cursor back before the inserted text: "03", an escape code, "-adain.md".
        type(":load \(packageRoot.path)/Lessons/03\t")
        guard waitFor("-adain.md") else { return }
        type("\r")
        guard waitFor("Loaded Lesson 3") else { return }
        XCTAssertFalse(screen.contains("03ssons"), screen)
        screen = ""
        type("print(\"\(packageRoot.path)/Ass\t")
        guard waitFor("ets/") else { return }
        type("adain.png\")\r")
        waitFor("/Assets/adain.png\r\n")
    }

    /// Issue 17 item 12: a `func` typed over several lines is one history entry; issue 18 item
    /// 13: the history file is not written through a symbolic link, and is the owner's only.
    func testHistoryKeepsStatementsWholeAndFollowsNoLink() throws {
        let home = try home()
        let target = home.appendingPathComponent("target")
        try "precious\n".write(to: target, atomically: true, encoding: .utf8)
        let history = home.appendingPathComponent(".normlab_history")
        try FileManager.default.createSymbolicLink(at: history, withDestinationURL: target)
        try spawn(["repl"], environment: environment(home))
        guard waitFor("is a symbolic link, which Normlab does not follow") else { return }
        type("1 + 1\r")
        waitFor("2")
        type(":quit\r")
        finish()
        XCTAssertEqual(try String(contentsOf: target, encoding: .utf8), "precious\n", "the link's target is untouched")

        try FileManager.default.removeItem(at: history)
        try spawn(["repl"], environment: environment(home))
        guard waitFor("normlab> ") else { return }
        for line in ["func twice(_ v: Float) -> Float {", "  return v * 2", "}"] { type(line + "\r") }
        type("twice(4)\r")
        guard waitFor("8") else { return }
        type(":quit\r")
        finish()
        let saved = try String(contentsOf: history, encoding: .utf8)
        XCTAssertTrue(saved.split(separator: "\n").contains { $0.hasPrefix("func") && $0.contains("return") && $0.hasSuffix("}") }, saved)
        let mode = try FileManager.default.attributesOfItem(atPath: history.path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
    }

    /// Issue 17 item 9: at 80×24 a slide shows the prose and code a screen at a time, wrapped
    /// at words, and the cell runs only when Enter says so.
    func testPresentingFitsAProjector() throws {
        var environment = environment(try home())
        environment["COLUMNS"] = nil
        try spawn(["lesson", "2", "--present"], environment: environment, rows: 24, columns: 80)
        guard waitFor("Press Enter to run the first") else { return }
        screen = ""
        type("\r")
        guard waitFor("Space shows them, q stops") else { return }
        XCTAssertTrue(screen.contains("The critic of a WGAN must be 1-Lipschitz"), screen)
        type(" ")
        guard waitFor("Enter runs this cell") else { return }
        let slide = screen.replacingOccurrences(of: "\u{1B}\\[[0-9;?]*[A-Za-z]", with: "", options: .regularExpression)
        XCTAssertFalse(slide.contains("✓"), "the cell has not run yet")
        for line in slide.components(separatedBy: "\r\n") { XCTAssertLessThanOrEqual(line.count, 80, "no line wraps: \(line)") }
        XCTAssertTrue(slide.contains("      unit vector per column"), "a long code line continues at a word, indented: \(slide)")
        type("\r")
        // The code and the chart below it do not fit: the output waits for a key.
        guard waitFor("-- more output: Space shows it") else { return }
        XCTAssertFalse(screen.contains("✓ the longest stretch"), "the output stops where the screen is full")
        type(" ")
        guard waitFor("✓ the longest stretch is σ(W)") else { return }
        // :help is about 175 lines: it pages, wrapped at words.
        screen = ""
        type(":help\r")
        guard waitFor("-- more: lines 24–") else { return }
        type("q")
        waitFor("normlab [2/10]> ")
    }

    /// In a terminal all text wraps at words, a column short of the width: the usage a wrong
    /// call of grad shows broke inside "allowUnused" at the terminal's edge. The hint goes on
    /// inside the error's gutter.
    func testLongErrorsWrapAtWordsInATerminal() throws {
        var environment = environment(try home())
        environment["COLUMNS"] = nil
        try spawn(["repl"], environment: environment, rows: 24, columns: 80)
        guard waitFor("normlab> ") else { return }
        screen = ""
        type("grad(ones(3).sum(), ones(3))\r")
        guard waitFor("or [Tensor]") else { return }
        // The next prompt comes after the whole error, hint lines included.
        if let message = screen.range(of: "or [Tensor]"), !screen[message.upperBound...].contains("normlab> ") {
            let head = screen
            screen = ""
            guard waitFor("normlab> ") else { return }
            screen = head + screen
        }
        let lines = screen.replacingOccurrences(of: "\u{1B}\\[[0-9;?]*[A-Za-z]", with: "", options: .regularExpression).components(separatedBy: "\r\n")
        for line in lines { XCTAssertLessThanOrEqual(line.count, 79, line) }
        XCTAssertTrue(lines.joined(separator: "\n").contains("allowUnused: Bool"), screen)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  │ hint: usage: grad(") }, screen)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  │   ") }, "the hint goes on inside the gutter: \(screen)")
        type(":quit\r")
    }

    /// Waits for the session to end after `:quit`.
    func finish() {
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(10)
        while waitpid(pid, &status, WNOHANG) == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        pid = 0
        close(master)
        master = -1
    }
}

/// `normlab bench` in a small configuration: its JSON, and the side-by-side NumPy timings where
/// python3 has NumPy (the figures themselves are for `swift run -c release normlab bench`).
final class BenchCommandTests: XCTestCase {
    func testBenchReportsRowsAndNumPyTimesSideBySide() throws {
        let numpy = Process()
        numpy.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        numpy.arguments = ["python3", "-c", "import numpy"]
        numpy.standardError = FileHandle.nullDevice
        let hasNumPy = (try? numpy.run()) != nil && { numpy.waitUntilExit(); return numpy.terminationStatus == 0 }()
        let arguments = ["bench", "--quick", "--only", "im2col", "--repeats", "1", "--threads", "1", "--json"] + (hasNumPy ? ["--compare-numpy"] : [])
        let result = try runPiped(arguments, input: "")
        XCTAssertEqual(result.status, 0, result.output)
        // The debug build warns on stderr first; the JSON is the rest.
        let json = try XCTUnwrap(result.output.firstIndex(of: "{").map { String(result.output[$0...]) }, result.output)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let rows = try XCTUnwrap(report["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["shape"] as? String }, ["16384×48×64", "4096×1024×128", "1024×2048×256"])
        for row in rows {
            XCTAssertGreaterThan(row["simd_seconds"] as? Double ?? 0, 0)
            if hasNumPy { XCTAssertGreaterThan(row["numpy_seconds"] as? Double ?? 0, 0, "\(row)") }
        }
        if !hasNumPy { throw XCTSkip("python3 with NumPy is not available: the bench ran without --compare-numpy") }
    }

    /// Settings that leave nothing to measure are refused before anything runs.
    func testBenchRefusesZeroRepeatsAndThreads() throws {
        for (option, name) in [("--repeats", "repeats"), ("--threads", "threads")] {
            let result = try runPiped(["bench", "--quick", "--only", "im2col", option, "0"], input: "")
            XCTAssertNotEqual(result.status, 0)
            XCTAssertTrue(result.output.contains("--\(name) must be at least 1, got 0"), result.output)
        }
    }

    /// A peer that cannot start (no python3 on PATH) is a clear error, not a crash (SIGPIPE).
    func testAMissingPeerIsAnErrorMessage() throws {
        let result = try runPiped(["bench", "--quick", "--only", "im2col", "--repeats", "1", "--compare-pytorch"], input: "",
                                  path: "/nonexistent")
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("--compare-pytorch needs python3 with PyTorch"), result.output)
    }
}
