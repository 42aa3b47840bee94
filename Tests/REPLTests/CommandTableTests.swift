import Library
import XCTest
@testable import REPL

final class CommandTableTests: XCTestCase {
    /// The shared table names the terminal-only commands; the REPL has a body for each of them,
    /// and for nothing else (a missing one would answer with the notebook's error).
    func testTheREPLRunsEveryTerminalOnlyCommand() {
        XCTAssertEqual(Set(REPL.lessonCommands.keys), Set(Command.all.filter(\.isTerminalOnly).map(\.name)))
    }

    /// The REPL reads `?` and `:help name` through the same table as the kernel.
    func testHelpFormsInTheREPL() throws {
        let result = try runPiped(["repl"], input: "let w = ones(2)\nw?\n? w\n:help w\n?\n")
        XCTAssertEqual(result.output.components(separatedBy: "w: Tensor [2]").count - 1, 3, result.output)
        XCTAssertTrue(result.output.contains(":next (or Enter)") && result.output.contains("Tensor properties and methods"), result.output)
        XCTAssertEqual(result.status, 0, result.output)
    }
}
