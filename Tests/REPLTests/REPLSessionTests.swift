import Foundation
import Library
import Notebook
@testable import REPL
import Script
import XCTest

/// The REPL's own state, driven without a process: the prompt and `:prev`.
final class REPLSessionTests: XCTestCase {
    var file: URL!
    var shown: [String] = []

    override func setUpWithError() throws {
        file = FileManager.default.temporaryDirectory.appendingPathComponent("repl-\(UUID().uuidString).md")
        try "# Two\n\n```swift\nprint(\"one\")\n```\n\n```swift\nprint(\"two\")\n```\n".write(to: file, atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: file) }

    func repl() throws -> REPL {
        let notebook = Notebook(session: Session(output: { [unowned self] in shown.append($0) }), write: { [unowned self] in shown.append($0) })
        try notebook.load(file.path)
        return REPL(notebook: notebook, reader: PlainReader(), interactive: false, strict: false)
    }

    /// The prompt counts the next cell, and says when the last has run (it read [2/2] both
    /// before and after cell 2 ran).
    func testThePromptSaysWhenTheLessonIsDone() throws {
        let repl = try repl()
        XCTAssertEqual(repl.prompt, "normlab [1/2]> ")
        try repl.handle("")
        XCTAssertEqual(repl.prompt, "normlab [2/2]> ")
        try repl.handle("")
        XCTAssertEqual(repl.prompt, "normlab [done]> ")
        try repl.handle(":goto 1")
        XCTAssertEqual(repl.prompt, "normlab [2/2]> ")
    }

    /// `:prev` runs again the cell that ran last, as `:help` says, also after the last cell.
    func testPrevRunsAgainTheCellThatRanLast() throws {
        let repl = try repl()
        XCTAssertThrowsError(try repl.handle(":prev")) { XCTAssertEqual(($0 as? ScriptError)?.message, "no cell of the lesson has run yet") }
        try repl.handle("")
        shown = []
        try repl.handle(":prev")
        XCTAssertTrue(shown.contains("one") && !shown.contains("two"), "\(shown)")
        try repl.handle("")
        shown = []
        try repl.handle(":prev")
        XCTAssertTrue(shown.contains("two") && !shown.contains("one"), "after the last cell, the last cell: \(shown)")
        XCTAssertEqual(repl.prompt, "normlab [done]> ")
        XCTAssertEqual(Command.all.first { $0.name == "prev" }?.doc, "run again the cell that ran last", ":help says what it does")
    }

}
