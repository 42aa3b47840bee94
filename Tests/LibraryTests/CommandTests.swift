import Engine
import Script
import XCTest
@testable import Library

/// A notebook's side of the commands: what the kernel is, without its sockets.
final class NotebookHost: CommandHost {
    let frontEnd = CapturingFrontEnd()
    lazy var session = Session(frontEnd: frontEnd)
    var isTerminal: Bool { false }
    var said: [String] = []
    var pages: [String] = []
    func say(_ text: String) { said.append(text) }
    func page(_ text: String) { pages.append(text) }
    func resetVariables() { session.interpreter.reset() }

    func run(_ line: String) throws {
        guard let (command, argument) = try Command.parse(line) else { return XCTFail("'\(line)' is not a command") }
        try command.run(in: self, argument: argument)
    }
}

final class CommandTests: XCTestCase {
    func testLinesAreReadAsTheREPLReadsThem() throws {
        func parsed(_ line: String) throws -> [String]? { try Command.parse(line).map { [$0.command.name, $0.argument] } }
        XCTAssertEqual(try parsed("adain?"), ["help", "adain"])
        XCTAssertEqual(try parsed("  ?adain "), ["help", "adain"])
        XCTAssertEqual(try parsed("? adain"), ["help", "adain"])
        XCTAssertEqual(try parsed(".mean?"), ["help", ".mean"])
        XCTAssertEqual(try parsed("?"), ["help", ""], "? alone is :help")
        XCTAssertEqual(try parsed(" :help  adain "), ["help", "adain"])
        XCTAssertEqual(try parsed(":time P @ Q"), ["time", "P @ Q"])
        XCTAssertEqual(try parsed(":v"), ["vars", ""], "an unambiguous prefix")
        XCTAssertNil(try parsed("1 + 1"))
        XCTAssertNil(try parsed("x[0]?"), "not a name: code, whose error the parser gives")
        XCTAssertThrowsError(try parsed(":s")) { XCTAssertEqual(($0 as? ScriptError)?.hint, "did you mean :seed or :save?") }
        XCTAssertThrowsError(try parsed(":")) { XCTAssertEqual(($0 as? ScriptError)?.hint, ":help lists the commands") }
        XCTAssertThrowsError(try parsed(":nope")) { XCTAssertEqual(($0 as? ScriptError)?.message, "unknown command ':nope'") }
        XCTAssertTrue(Command.isCommand(":nope"), "it runs, to say that it is unknown")
        XCTAssertTrue(Command.isCommand("x?"))
        XCTAssertFalse(Command.isCommand("let x = 1"))
    }

    func testANotebookRunsTheSessionCommands() throws {
        let host = NotebookHost()
        try host.session.run("let P = ones(4, 4)\nlet Q = ones(4, 4)\nlet n = 3")
        try host.run("adain?")
        try host.run(":help P")
        XCTAssertEqual(host.pages, [host.session.help("adain"), "P: Tensor [4, 4]"])
        try host.run(":vars")
        XCTAssertEqual(host.said.last, "P             Tensor      [4, 4]\nQ             Tensor      [4, 4]\nn             Number      ")
        try host.run(":time P @ Q")
        XCTAssertTrue(host.said.last?.contains("median of") == true, "\(host.said)")
        XCTAssertEqual(host.frontEnd.events, [], ":time shows nothing of the runs")
        try host.run(":seed 7")
        try host.run(":seed")
        XCTAssertEqual(host.said.suffix(2), ["seed: 7", "seed: 7 (the last one set; :seed N or seed(N) restarts the stream)"])
        try host.run(":memory")
        XCTAssertTrue(host.said.last?.hasPrefix("tensors hold") == true)
        try host.run(":reset")
        XCTAssertNil(host.session.interpreter.variable("P"))
        XCTAssertThrowsError(try host.run(":time")) { XCTAssertTrue("\($0)".contains(":time needs an expression")) }
    }

    func testANotebookSaysWhatToDoInsteadOfATerminalCommand() throws {
        let host = NotebookHost()
        let terminal = Command.all.filter(\.isTerminalOnly).map(\.name)
        XCTAssertEqual(terminal, ["next", "prev", "goto", "cells", "run", "load", "reload", "save", "quit"])
        for name in terminal {
            XCTAssertThrowsError(try host.run(":\(name) 1")) { error in
                let error = error as? ScriptError
                XCTAssertEqual(error?.message, ":\(name) is a terminal command: it works in the REPL (normlab repl), not in a notebook")
                XCTAssertTrue(error?.hint?.hasPrefix("in a notebook, ") == true, "\(String(describing: error))")
            }
        }
    }

    func testHelpAndCompletionOfferTheCommandsThereAre() throws {
        let host = NotebookHost()
        try host.run(":help")
        let help = try XCTUnwrap(host.pages.first)
        XCTAssertTrue(help.contains(":time EXPR") && help.contains(":vars") && help.contains("adain"), help)
        XCTAssertFalse(help.contains(":next (or Enter)"), help)
        XCTAssertTrue(help.contains("In the terminal's REPL only: :next :prev :goto :cells :run :load :reload :save :quit"), help)
        XCTAssertTrue(Command.help(terminal: true).contains(":next (or Enter)"))
        XCTAssertEqual(Command.completions(of: ":r", terminal: false)?.candidates, [":reset"])
        XCTAssertEqual(Command.completions(of: ":r", terminal: true)?.candidates, [":run", ":reload", ":reset"])
        XCTAssertNil(Command.completions(of: ":time x", terminal: false))
    }
}
