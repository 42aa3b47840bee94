import Foundation
import XCTest
import Engine
import Library
import Preview
import Script
@testable import Notebook

let fixtureLesson = """
    # A small lesson

    Some prose, then a cell.

    ```swift
    let a = tensor([1, 2, 3])
    a * 2
    ```

    ## A picture

    ```swift
    show(ones(3, 4, 4))
    ```

    A check that fails:

    ```swift
    check(a.sum().item() == 7, "the sum is seven")
    ```

    The end.
    """

final class NotebookTests: XCTestCase {
    var directory: URL!
    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("normlab-notebook-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try fixtureLesson.write(to: directory.appendingPathComponent("lesson.md"), atomically: true, encoding: .utf8)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func testParsingFindsCellsProseAndLines() {
        let lesson = Lesson(path: "lesson.md", text: fixtureLesson)
        XCTAssertEqual(lesson.title, "A small lesson")
        XCTAssertEqual(lesson.cells.count, 3)
        XCTAssertEqual(lesson.cells[0].code, "let a = tensor([1, 2, 3])\na * 2")
        XCTAssertEqual(lesson.cells[0].line, 6)
        XCTAssertTrue(lesson.cells[1].prose.contains("## A picture"))
        XCTAssertEqual(lesson.epilogue, "The end.")
    }

    /// Issue 18, item 11: a cell of 100,000 lines once took 38.7 s to load (each line copied the
    /// lines before it). Its lines all arrive, in order, and the cell after it too.
    func testALongCellLoadsWhole() {
        let lines = (0..<100_000).map { "let v\($0) = \($0)" }
        let lesson = Lesson(path: "long.md", text: "# Long\n\n```swift\n" + lines.joined(separator: "\n") + "\n```\n\n```swift\nv99999\n```\n")
        XCTAssertEqual(lesson.cells.count, 2)
        XCTAssertEqual(lesson.cells[0].code.split(separator: "\n").count, 100_000)
        XCTAssertTrue(lesson.cells[0].code.hasSuffix("let v99999 = 99999"))
        XCTAssertEqual(lesson.cells[1].line, 100_007)
    }

    /// Issue 17 item 12: `:reload` after a cell was inserted above the place keeps the place by
    /// the cells' code, so Enter does not run again a cell that already ran.
    func testReloadKeepsThePlaceByTheCellsCode() throws {
        let path = directory.appendingPathComponent("lesson.md").path
        let notebook = Notebook(session: Session(output: { _ in }), write: { _ in })
        try notebook.load(path)
        XCTAssertEqual(notebook.runNext(), .ok)
        XCTAssertEqual(notebook.position, 1, "next: the picture cell")
        let inserted = fixtureLesson.replacingOccurrences(of: "Some prose, then a cell.", with: "A new cell first:\n\n```swift\nlet z = 0\n```\n\nSome prose, then a cell.")
        try inserted.write(toFile: path, atomically: true, encoding: .utf8)
        try notebook.reload()
        XCTAssertEqual(notebook.lesson?.cells[notebook.position].code, "show(ones(3, 4, 4))", "still the picture cell, now the third")
        // The next cell edited: the place is after the cell that ran last.
        try inserted.replacingOccurrences(of: "show(ones(3, 4, 4))", with: "show(ones(3, 8, 8))").write(toFile: path, atomically: true, encoding: .utf8)
        try notebook.reload()
        XCTAssertEqual(notebook.lesson?.cells[notebook.position].code, "show(ones(3, 8, 8))")
    }

    /// A cell marked `swift error` shows a mistake on purpose: its error is shown and the lesson
    /// goes on; if it runs without an error, that is the failure.
    func testACellMarkedErrorMustFail() throws {
        let text = "# E\n\n```swift error\nlet a = 1\na + zz\n```\n\n```swift\nprint(a)\n```\n"
        let lesson = Lesson(path: "e.md", text: text)
        XCTAssertEqual(lesson.cells.map(\.expectsError), [true, false])
        var written: [String] = []
        let notebook = Notebook(session: Session(output: { _ in }), write: { written.append($0) })
        let file = directory.appendingPathComponent("e.md")
        try text.write(to: file, atomically: true, encoding: .utf8)
        try notebook.load(file.path)
        XCTAssertEqual(notebook.runRest(), .ok)
        XCTAssertTrue(written.contains { $0.hasPrefix("error: 'zz' is not defined") }, "\(written)")
        try text.replacingOccurrences(of: "a + zz", with: "a + 1").write(to: file, atomically: true, encoding: .utf8)
        try notebook.load(file.path)
        XCTAssertEqual(notebook.runRest(), .failed("cell 1 is marked `swift error` to show an error, but it ran without one"))
        XCTAssertNil(Lesson.opensCell("```swift errors"), "only `error` marks a cell")
        // As a notebook the cell carries Jupyter's tag for an expected error, so running it goes on.
        let json = try JSONSerialization.jsonObject(with: NotebookDocument(lesson: lesson).data()) as? [String: Any]
        let code = (json?["cells"] as? [[String: Any]] ?? []).filter { $0["cell_type"] as? String == "code" }
        XCTAssertEqual(code.map { ($0["metadata"] as? [String: Any])?["tags"] as? [String] }, [["raises-exception"], nil])
    }

    func testSteppingChecksAndErrorLocations() throws {
        var screen: [String] = []
        let notebook = Notebook(session: Session(output: { screen.append($0) }), write: { screen.append($0) })
        try notebook.load(directory.appendingPathComponent("lesson.md").path)
        XCTAssertEqual(notebook.runNext(), .ok)
        XCTAssertTrue(screen.contains("[2. 4. 6.]"), screen.joined(separator: "\n"))
        XCTAssertEqual(notebook.runNext(), .ok)
        XCTAssertEqual(notebook.runNext(), .failed("check failed: the sum is seven"))
        // The error points into the lesson file, line 19, under the call; the end of the
        // lesson follows it.
        let error = screen[screen.count - 2]
        XCTAssertTrue(error.contains("lesson.md:19:6"), error)
        XCTAssertTrue(error.contains("19 │ check(a.sum().item() == 7"), error)
        XCTAssertEqual(screen.last, "The end.\n\n(In this lesson, cell 3 stopped at an error.)")
        XCTAssertTrue(notebook.outline.contains("▶") == false, "past the last cell")
        try notebook.go(to: 0)
        XCTAssertTrue(notebook.outline.hasPrefix("▶ 1"))
        XCTAssertEqual(notebook.runRest(), .failed("check failed: the sum is seven"))
        try notebook.reload()
        XCTAssertEqual(notebook.position, 3, "reload keeps the position")
    }

    /// A name a skipped cell defines: the error says which cell, and how to run it (the
    /// student's `:goto 7` in lesson 2 left `estimate` of cell 2 undefined in cell 10).
    func testAnUndefinedNameNamesTheSkippedCellThatDefinesIt() throws {
        let text = "# D\n\n```swift\nlet a = 1\n```\n\n```swift\nfunc est(_ x: Float) -> Float {\n    let inner = 2\n    return x * inner\n}\n```\n\n"
            + "```swift\nlet b = est(a)\n```\n\n```swift\nlet c = 3\n```\n"
        let file = directory.appendingPathComponent("d.md")
        try text.write(to: file, atomically: true, encoding: .utf8)
        var written: [String] = []
        let notebook = Notebook(session: Session(output: { _ in }), write: { written.append($0) })
        try notebook.load(file.path)
        try notebook.go(to: 2)
        XCTAssertEqual(notebook.runNext(), .failed("'est' is not defined"))
        // Cell 1 has not run either: running cell 2 alone would fail on `a`.
        XCTAssertTrue(written.last?.hasSuffix("hint: 'est' is defined in cell 2; cells 1–2 have not run: :goto 1, then Enter runs them in order") ?? false,
                      written.last ?? "")
        notebook.execute("a")
        XCTAssertTrue(written.last?.hasSuffix("hint: 'a' is defined in cell 1; cells 1–2 have not run: :goto 1, then Enter runs them in order") ?? false,
                      "typed: \(written.last ?? "")")
        notebook.execute("c")
        XCTAssertTrue(written.last?.hasSuffix("hint: 'c' is defined in cell 4, further on in the lesson") ?? false, written.last ?? "")
        notebook.execute("inner")
        XCTAssertFalse(written.last?.contains("defined in cell") ?? true, "a local of a function's body is not the lesson's: \(written.last ?? "")")
        notebook.execute("esst")
        XCTAssertFalse(written.last?.contains("defined in cell") ?? true, "no cell defines a typo")
        // Once the cell has run, its names are defined; with only the defining cell missing,
        // the hint is to run it; a cell that stopped at an error says so.
        try notebook.go(to: 0)
        XCTAssertEqual(notebook.runNext(), .ok)
        try notebook.go(to: 2)
        XCTAssertEqual(notebook.runNext(), .failed("'est' is not defined"))
        XCTAssertTrue(written.last?.hasSuffix("hint: 'est' is defined in cell 2, which has not run: :goto 2 runs it, then :goto 3 runs this cell again") ?? false,
                      written.last ?? "")
        try text.replacingOccurrences(of: "func est", with: "zz\nfunc est").write(to: file, atomically: true, encoding: .utf8)
        try notebook.reload()
        try notebook.go(to: 1)
        XCTAssertNotEqual(notebook.runNext(), .ok)
        notebook.execute("est(1)")
        XCTAssertTrue(written.last?.hasSuffix("hint: 'est' is defined in cell 2, which stopped at an error: :goto 2 runs it") ?? false, written.last ?? "")
        // A variable forgotten by :reset is back to not run.
        notebook.reset()
        try notebook.go(to: 1)
        notebook.execute("a")
        XCTAssertTrue(written.last?.hasSuffix("hint: 'a' is defined in cell 1, which has not run: :goto 1 runs it") ?? false, written.last ?? "")

        XCTAssertEqual(["let est = 1", "var est=1", "func est(", "let  est"].map { Lesson.Cell(prose: "", code: $0, line: 1).defines("est") }, [true, true, true, true])
        XCTAssertEqual(["let estimate = 1", "  let est = 1", "print(est)", "// let est", "let e = est"].map { Lesson.Cell(prose: "", code: $0, line: 1).defines("est") },
                       [false, false, false, false, false])
    }

    /// The student's chain: after `:goto 7` in lesson 2, cell 10 failed on `estimate` (cell 2),
    /// `:goto 2` then on `W` (cell 1), `:goto 10` on `M` (cell 3). With cells before the
    /// defining one not run, the hint runs them all from the first, and following it works.
    func testAHintForASkippedCellLeadsToAStateThatWorks() throws {
        let text = "# Chain\n\n```swift\nlet w = 2\n```\n\n```swift\nfunc est() -> Int { return w * 3 }\n```\n\n```swift\nlet m = 4\n```\n\n"
            + "```swift\nlet other = 5\n```\n\n```swift\nprint(est() + m)\n```\n"
        let file = directory.appendingPathComponent("chain.md")
        try text.write(to: file, atomically: true, encoding: .utf8)
        var written: [String] = []
        let notebook = Notebook(session: Session(output: { written.append($0) }), write: { written.append($0) })
        try notebook.load(file.path)
        try notebook.go(to: 3)
        XCTAssertEqual(notebook.runNext(), .ok)
        XCTAssertEqual(notebook.runNext(), .failed("'est' is not defined"))
        XCTAssertTrue(written.contains { $0.hasSuffix("hint: 'est' is defined in cell 2; cells 1–3 have not run: :goto 1, then Enter runs them in order") },
                      written.joined(separator: "\n"))
        // Following the hint: :goto 1, then Enter to the end; nothing fails.
        try notebook.go(to: 0)
        XCTAssertEqual(notebook.runRest(), .ok)
        XCTAssertTrue(written.contains("10"), written.joined(separator: "\n"))
        // The cells not run need not be next to each other.
        notebook.reset()
        try notebook.load(file.path)
        try notebook.go(to: 2)
        XCTAssertEqual(notebook.runNext(), .ok)
        try notebook.go(to: 4)
        XCTAssertEqual(notebook.runNext(), .failed("'est' is not defined"))
        XCTAssertTrue(written.contains { $0.hasSuffix("hint: 'est' is defined in cell 2; cells 1–2, 4 have not run: :goto 1, then Enter runs them in order") },
                      written.joined(separator: "\n"))
        XCTAssertEqual(cellList([0, 1, 2, 5, 7, 8]), "cells 1–3, 6, 8–9")
        XCTAssertEqual(cellList([4]), "cell 5")
    }

    /// The end of a lesson is said as its last cell finishes, with the cells that did not run
    /// or stopped at an error; Enter after it is a short reminder, not the ending again.
    func testTheEndOfALessonSaysWhatDidNotRunOrFailed() throws {
        var written: [String] = []
        let notebook = Notebook(session: Session(output: { _ in }), write: { written.append($0) })
        try notebook.load(directory.appendingPathComponent("lesson.md").path)
        try notebook.go(to: 1)
        XCTAssertEqual(notebook.runNext(), .ok)
        XCTAssertFalse(written.contains { $0.contains("The end.") }, "not before the last cell")
        XCTAssertNotEqual(notebook.runNext(), .ok)
        XCTAssertEqual(written.last, "The end.\n\n(In this lesson, cell 1 did not run; cell 3 stopped at an error.)", "right after the last cell")
        XCTAssertEqual(notebook.runNext(), .ok)
        XCTAssertEqual(written.last, "The lesson is done: `:goto N` runs cell N again.")
        XCTAssertEqual(written.filter { $0.contains("The end.") }.count, 1, "said once")
        // Without closing prose; a cell that shows an error on purpose is not a failure.
        let text = "# E\n\n```swift\nlet a = 1\n```\n\n```swift error\na + zz\n```\n\n```swift\nlet b = 2\n```\n\n```swift\nprint(b)\n```\n"
        let file = directory.appendingPathComponent("e.md")
        try text.write(to: file, atomically: true, encoding: .utf8)
        try notebook.load(file.path)
        try notebook.go(to: 1)
        XCTAssertEqual(notebook.runRest(), .ok)
        XCTAssertEqual(written.last, "End of the lesson (cell 1 did not run).")
        try notebook.go(to: 0)
        XCTAssertEqual(notebook.runRest(), .ok)
        XCTAssertEqual(written.last, "End of the lesson.")
        XCTAssertEqual(notebook.runRest(), .ok, ":run at the end")
        XCTAssertEqual(written.last, "The lesson is done: `:goto N` runs cell N again.")
    }

    /// A lesson's heading precedes the first of its cells in the transcript, whichever that
    /// is: lesson 2 started at cell 2 after lesson 1 was under lesson 1's heading. Markdown and
    /// Jupyter alike.
    func testEachLessonsCellsInTheTranscriptAreUnderItsHeading() throws {
        for (name, title) in [("01-first.md", "Lesson 1: First"), ("02-second.md", "Lesson 2: Second")] {
            try "# \(title)\n\nIntro.\n\n```swift\nprint(\"\(name) one\")\n```\n\nMiddle.\n\n```swift\nprint(\"\(name) two\")\n```\n"
                .write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let notebook = Notebook(session: Session(output: { _ in }), write: { _ in })
        try notebook.load(directory.appendingPathComponent("01-first.md").path)
        XCTAssertEqual(notebook.runRest(), .ok)
        try notebook.load(directory.appendingPathComponent("02-second.md").path)
        try notebook.go(to: 1)
        XCTAssertEqual(notebook.runNext(), .ok)
        notebook.execute("print(\"typed\")")
        // Back to lesson 1, from its second cell: a new section under its heading.
        try notebook.load(directory.appendingPathComponent("01-first.md").path)
        try notebook.go(to: 1)
        XCTAssertEqual(notebook.runNext(), .ok)

        let markdown = directory.appendingPathComponent("t.md").path
        try notebook.save(to: markdown)
        let text = try String(contentsOfFile: markdown, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("# Transcript: Lessons 1–2\n"), text)
        let order = ["# Lesson 1: First", "Intro.", "01-first.md one", "Middle.", "01-first.md two",
                     "# Lesson 2: Second\n\nMiddle.", "02-second.md two", "typed", "# Lesson 1: First\n\nMiddle.", "01-first.md two"]
        var rest = text[...]
        for piece in order {
            guard let found = rest.range(of: piece) else { return XCTFail("\(piece) not in order in:\n\(text)") }
            rest = rest[found.upperBound...]
        }
        XCTAssertEqual(text.components(separatedBy: "# Lesson 1: First").count - 1, 2, "once for each section: \(text)")

        let ipynb = directory.appendingPathComponent("t.ipynb").path
        try notebook.save(to: ipynb)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: ipynb))) as? [String: Any]
        let cells = (json?["cells"] as? [[String: Any]] ?? []).map { ($0["cell_type"] as? String ?? "", ($0["source"] as? [String] ?? []).joined()) }
        let second = try XCTUnwrap(cells.firstIndex { $0 == ("code", "print(\"02-second.md two\")") }, "\(cells)")
        XCTAssertEqual(cells[second - 1].0, "markdown")
        XCTAssertTrue(cells[second - 1].1.hasPrefix("# Lesson 2: Second\n"), "\(cells)")
    }

    /// The end of a lesson points to the next lesson, drawn from the lesson files; the last
    /// lesson points nowhere. Numbers come from the files' names.
    func testTheEndOfALessonPointsToTheNext() throws {
        for (name, title) in [("01-first.md", "Lesson 1: First"), ("02-second.md", "Lesson 2: Second")] {
            try "# \(title)\n\n```swift\nlet x = 1\n```\n".write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        var written: [String] = []
        let notebook = Notebook(session: Session(output: { _ in }), write: { written.append($0) })
        try notebook.load(directory.appendingPathComponent("01-first.md").path)
        XCTAssertEqual(notebook.runRest(), .ok)
        XCTAssertEqual(written.last, "End of the lesson.\n\nNext: `:load 2` opens Lesson 2: Second.")
        try notebook.load(directory.appendingPathComponent("02-second.md").path)
        XCTAssertEqual(notebook.runRest(), .ok)
        XCTAssertEqual(written.last, "End of the lesson.", "the last lesson")
        try notebook.load(directory.appendingPathComponent("lesson.md").path)
        XCTAssertEqual(notebook.lesson?.number, nil)
        XCTAssertNil(notebook.lesson?.next, "a lesson without a number has no next")

        XCTAssertEqual(["Lessons/02-spectral-norm.md", "12-x.md", "2-x.md", "02x.md", "02-x.txt", "x-02.md", "-1-x.md"].map(Lesson.number(ofFile:)),
                       [2, 12, 2, nil, nil, nil, nil])
        XCTAssertEqual(Lesson.numberedFiles(in: directory.path).map(\.number), [1, 2])
    }

    /// A transcript is titled by the lessons it ran cells of, not by the lesson loaded last.
    func testTheTranscriptIsTitledByTheLessonsItCovered() throws {
        for (name, title) in [("01-first.md", "Lesson 1: First"), ("02-second.md", "Lesson 2: Second"), ("03-third.md", "Lesson 3: Third")] {
            try "# \(title)\n\n```swift\nlet x = 1\n```\n".write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let notebook = Notebook(session: Session(output: { _ in }), write: { _ in })
        func title() throws -> String? {
            let path = directory.appendingPathComponent("t.md").path
            try notebook.save(to: path)
            return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").first.map(String.init)
        }
        try notebook.load(directory.appendingPathComponent("01-first.md").path)
        XCTAssertEqual(try title(), "# Transcript", "no cell has run")
        notebook.runNext()
        XCTAssertEqual(try title(), "# Transcript: Lesson 1: First")
        try notebook.load(directory.appendingPathComponent("02-second.md").path)
        XCTAssertEqual(try title(), "# Transcript: Lesson 1: First", "lesson 2 is loaded but none of its cells ran")
        notebook.runNext()
        XCTAssertEqual(try title(), "# Transcript: Lessons 1–2")
        try notebook.load(directory.appendingPathComponent("lesson.md").path)
        notebook.runNext()
        XCTAssertEqual(try title(), "# Transcript: Lesson 1: First; Lesson 2: Second; A small lesson")
        notebook.reset()
        for name in ["03-third.md", "01-first.md"] {
            try notebook.load(directory.appendingPathComponent(name).path)
            notebook.runNext()
        }
        XCTAssertEqual(try title(), "# Transcript: Lessons 1, 3", "in order, and only what ran since the reset")
    }

    func testTranscriptsAsMarkdownAndJupyter() throws {
        let notebook = Notebook(session: Session(output: { _ in }), write: { _ in })
        try notebook.load(directory.appendingPathComponent("lesson.md").path)
        notebook.runNext()
        notebook.runNext()
        notebook.execute("let mine = a.mean()\nmine")
        let markdown = directory.appendingPathComponent("session.md").path
        try notebook.save(to: markdown)
        let text = try String(contentsOfFile: markdown, encoding: .utf8)
        XCTAssertTrue(text.contains("```swift\nlet a = tensor([1, 2, 3])\na * 2\n```"))
        XCTAssertTrue(text.contains("```text\n[2. 4. 6.]\n```"))
        XCTAssertTrue(text.contains("show(ones(3, 4, 4))\n```\n\n![output 1](session-images/image-1.png)"),
                      "the picture alone, without its terminal characters: \(text)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("session-images/image-1.png").path))
        XCTAssertTrue(text.contains("let mine = a.mean()"))

        let ipynb = directory.appendingPathComponent("session.ipynb").path
        try notebook.save(to: ipynb)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: ipynb))) as! [String: Any]
        XCTAssertEqual(json["nbformat"] as? Int, 4)
        XCTAssertEqual(((json["metadata"] as? [String: Any])?["kernelspec"] as? [String: Any])?["name"] as? String, "normlab", "reopens runnable")
        let cells = json["cells"] as! [[String: Any]]
        let code = cells.filter { $0["cell_type"] as? String == "code" }
        XCTAssertEqual(code.count, 3)
        let outputs = code[1]["outputs"] as! [[String: Any]]
        let image = outputs.first { $0["output_type"] as? String == "display_data" }
        let png = (image?["data"] as? [String: Any])?["image/png"] as? String
        XCTAssertNotNil(png.flatMap { Data(base64Encoded: $0) }.map { $0.starts(with: [0x89, 0x50, 0x4E, 0x47]) }, "an embedded PNG")
    }

    /// The transcript keeps a picture's pixels, not its terminal drawing; a display shown
    /// again replaces its picture; a progress display is kept as its last line.
    func testTheTranscriptKeepsPixelsAndTheLastStateOfEachDisplay() throws {
        var screen: [String] = []
        let session = Session(output: { screen.append($0) })
        let recorder = Recorder(forwardingTo: session.frontEnd)
        let display = DisplayID()
        recorder.show(try .image(try Tensor.zeros([3, 2, 2])), display: display)
        recorder.text("between")
        recorder.show(try .image(try Tensor.ones([3, 4, 4])), display: display)
        let bar = ProgressBar(label: "work", done: 3, total: 3, elapsed: 1)
        recorder.progress(bar, display: DisplayID())
        recorder.finish(DisplayID())
        XCTAssertEqual(recorder.outputs.count, 2, "an unknown display leaves nothing")
        guard case .image(let pixels, _) = recorder.outputs[0], case .text("between") = recorder.outputs[1] else { return XCTFail() }
        XCTAssertEqual(pixels.shape, [3, 4, 4], "the later picture replaced the first")
        XCTAssertEqual(screen.filter { $0.contains("between") }.count, 1)
        XCTAssertEqual(screen.count, 3, "both pictures and the text reached the screen")
        let progress = DisplayID()
        recorder.progress(bar, display: progress)
        recorder.finish(progress)
        guard case .text(let line) = recorder.outputs.last else { return XCTFail() }
        XCTAssertEqual(line, bar.line())
    }

    /// `normlab notebook`: prose becomes Markdown cells, code becomes unexecuted code cells, and
    /// the notebook names the Normlab kernel; a saved session names it too.
    func testALessonAsAJupyterNotebook() throws {
        let data = try NotebookDocument(lesson: Lesson(path: "lesson.md", text: fixtureLesson)).data()
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let cells = try XCTUnwrap(json["cells"] as? [[String: Any]])
        XCTAssertEqual(cells.map { $0["cell_type"] as? String }, ["markdown", "code", "markdown", "code", "markdown", "code", "markdown"])
        XCTAssertEqual(cells[0]["source"] as? [String], ["# A small lesson\n", "\n", "Some prose, then a cell."])
        XCTAssertEqual(cells[1]["source"] as? [String], ["let a = tensor([1, 2, 3])\n", "a * 2"])
        XCTAssertTrue(cells[1]["execution_count"] is NSNull)
        XCTAssertEqual((cells[1]["outputs"] as? [Any])?.count, 0)
        XCTAssertEqual(cells[6]["source"] as? [String], ["The end."])
        let metadata = try XCTUnwrap(json["metadata"] as? [String: Any])
        XCTAssertEqual((metadata["kernelspec"] as? [String: Any])?["name"] as? String, "normlab")
        XCTAssertEqual((metadata["language_info"] as? [String: Any])?["name"] as? String, "swift")
        XCTAssertEqual(json["nbformat"] as? Int, 4)
    }

    func testProseRendering() {
        XCTAssertEqual(renderProse("# Title\n\nA long line of words that wraps.", width: 12, color: false),
                       "Title\n═════\n\nA long line\nof words\nthat wraps.")
        XCTAssertEqual(renderProse("Formula:\n\n    W_SN = W / σ(W)      (1)", width: 12, color: false),
                       "Formula:\n\n    W_SN = W / σ(W)      (1)", "indented formulas keep their spacing")
        XCTAssertEqual(renderProse("Results:\n\n| variant | SWD |\n|---|---|\n| sn | 87.6 |\n| sn+adain | 82.8 |\n\nDone.", width: 12, color: false),
                       "Results:\n\nvariant   SWD\n────────  ────\nsn        87.6\nsn+adain  82.8\n\nDone.", "tables become aligned columns")
    }

    /// Issue 17 item 9: text on a projector breaks at spaces, never inside a word.
    func testWrappingBreaksAtWordsOnly() {
        XCTAssertEqual(wrapLine("one two three four", width: 9, continuation: "  "), ["one two", "  three", "  four"])
        XCTAssertEqual(wrapLine("short", width: 9, continuation: "  "), ["short"])
        XCTAssertEqual(wrapLine("a incomprehensibilities b c", width: 9, continuation: ""), ["a", "incomprehensibilities", "b c"],
                       "a word longer than the width stays whole, on a piece of its own, and the rest still wraps")
        XCTAssertEqual(wrapLine("    let x = 1 + 2", width: 12, continuation: "      "), ["    let x =", "      1 + 2"],
                       "indentation is not a place to break, and the code keeps it")
        XCTAssertEqual(wrapLine("\u{1B}[36mab cd\u{1B}[0m", width: 5, continuation: ""), ["\u{1B}[36mab cd\u{1B}[0m"], "escape codes take no width")
        XCTAssertEqual(wrapLine("ab cd ef", width: 4, continuation: "      "), ["ab", "cd", "ef"], "no continuation wider than half the line")
        XCTAssertEqual(wrapText("  conv2d    2-D convolution of a batch\nshort", width: 30),
                       "  conv2d    2-D convolution of\n            a batch\nshort", "a two-column line continues under its second column")
        XCTAssertEqual(wrapLine("x = [1,2,3,4]", width: 10, continuation: "  "), ["x = [1,2,", "  3,4]"], "after a comma with no space")
        XCTAssertEqual(wrapLine("f(a, b)", width: 5, continuation: ""), ["f(a,", "b)"])
        XCTAssertEqual(wrapText("12 │ let x = 1 + 2\n   │ hint: a hint in words", width: 16),
                       "12 │ let x = 1 +\n   │   2\n   │ hint: a\n   │   hint in\n   │   words", "an error's gutter goes on beside its lines")
        XCTAssertEqual(wrapText("50 │ check(abs(estimate(W, from: u0)) - s) < 1e-4 * s\n   │                    ^\n   │ hint: h", width: 30),
                       "50 │ check(abs(estimate(W,\n   │                    ^\n   │   from: u0)) - s) < 1e-4\n   │   * s\n   │ hint: h",
                       "the caret goes under the row that holds its column")
        XCTAssertEqual(wrapText("50 │ check(abs(estimate(W, from: u0)) - s) < 1e-4 * s\n   │                             ^", width: 30),
                       "50 │ check(abs(estimate(W,\n   │   from: u0)) - s) < 1e-4\n   │         ^\n   │   * s", "also in a later row")
        XCTAssertEqual(wrapText("  \u{1B}[2m│\u{1B}[0m hint: two words", width: 13),
                       "  \u{1B}[2m│\u{1B}[0m hint: two\n  \u{1B}[2m│\u{1B}[0m   words", "a dim gutter stays dim")
        // The usage a wrong call of grad shows (it broke in "allowUnused" at the terminal's edge),
        // at every width: each line fits, and every word is whole.
        let session = Session(output: { _ in })
        var usage = ""
        do { try session.run("grad(ones(3).sum(), ones(3))") } catch let error as ScriptError { usage = error.rendered(source: "grad(ones(3).sum(), ones(3))") } catch {}
        XCTAssertTrue(usage.contains("allowUnused: Bool"), usage)
        for width in 40...130 {
            let wrapped = wrapText(usage, width: width)
            for line in wrapped.split(separator: "\n") { XCTAssertLessThanOrEqual(line.count, width, String(line)) }
            let words = { (text: String) in text.split(whereSeparator: { " \n│".contains($0) }).map(String.init) }
            XCTAssertEqual(words(wrapped), words(usage), "at \(width) columns")
        }

        // Every line of a long cell shown at 40 columns fits, and its words are whole.
        let notebook = Notebook(session: session, width: 40, write: { _ in })
        let path = NSTemporaryDirectory() + "wrap-\(UUID().uuidString).md"
        let prose = "A paragraph of prose that is much longer than forty columns, so that it wraps."
        let code = "let errors = [abs(sigma - estimate(M, from: start, steps: 1)) / sigma, 0.5]  // the first step"
        XCTAssertNoThrow(try "# T\n\n\(prose)\n\n```swift\n\(code)\n```\n".write(toFile: path, atomically: true, encoding: .utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertNoThrow(try notebook.load(path))
        guard let slide = notebook.nextCell else { return XCTFail("the lesson has a cell") }
        let lines = slide.split(separator: "\n")
        for line in lines { XCTAssertLessThanOrEqual(line.count, 40, String(line)) }
        let words = { (text: String) in text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init) }
        let codeLines = lines.drop { !$0.hasPrefix("── cell 1") }.dropFirst().prefix { !$0.hasPrefix("─") }
        XCTAssertGreaterThan(codeLines.count, 2, "the code wraps")
        XCTAssertEqual(words(codeLines.joined(separator: "\n")), words(code), "the code's words are all there, none broken")
        XCTAssertTrue(words(slide).joined(separator: " ").contains(words(prose).joined(separator: " ")), "the prose's words are whole: \(slide)")
    }
}
