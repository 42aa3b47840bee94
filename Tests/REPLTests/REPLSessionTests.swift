import Foundation
import Library
import Notebook
@testable import REPL
import Script
import XCTest

/// The REPL's own state, driven without a process: the prompt, `:prev`, the welcome screen.
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

    /// The end of the lesson comes right after the last cell's output, not at one more Enter;
    /// Enter at [done] then only reminds, and `:prev` (the last cell again) ends it again.
    func testTheEndComesWithTheLastCell() throws {
        let repl = try repl()
        try repl.handle("")
        XCTAssertFalse(shown.contains("End of the lesson."), "\(shown)")
        try repl.handle("")
        XCTAssertEqual(Array(shown.suffix(2)), ["two", "End of the lesson."])
        XCTAssertEqual(repl.prompt, "normlab [done]> ")
        try repl.handle("")
        XCTAssertEqual(shown.last, "The lesson is done: `:goto N` runs cell N again.")
        XCTAssertEqual(shown.filter { $0 == "End of the lesson." }.count, 1, "\(shown)")
        try repl.handle(":goto 2")
        XCTAssertEqual(Array(shown.suffix(2)), ["two", "End of the lesson."], "cell 1 ran before: \(shown)")
    }

    /// The welcome screen's two columns of keys line up, within 80 columns.
    func testTheWelcomeScreenIsAlignedWithin80Columns() {
        let lines = REPL.welcomeText.split(separator: "\n", omittingEmptySubsequences: false)
        for line in lines { XCTAssertLessThanOrEqual(line.count, 80, String(line)) }
        let rows = lines.filter { $0.hasPrefix("  ") }
        XCTAssertEqual(rows.count, 5, REPL.welcomeText)
        // Where each key and description starts: after two spaces (words within one are one apart).
        func starts(_ line: Substring) -> [Int] {
            let c = Array(line)
            return c.indices.filter { $0 >= 2 && c[$0] != " " && c[$0 - 1] == " " && c[$0 - 2] == " " }
        }
        let columns = rows.map(starts)
        XCTAssertTrue(columns.allSatisfy { $0.count == columns[0].count || $0.count == 4 }, "\(columns)")
        let twoColumn = columns.filter { $0.count == 4 }
        XCTAssertEqual(twoColumn.count, 4, "\(columns)")
        XCTAssertEqual(Set(twoColumn).count, 1, "every column starts where the others do: \(columns)")
        XCTAssertEqual(columns[0], Array(twoColumn[0].prefix(2)))
    }
}
