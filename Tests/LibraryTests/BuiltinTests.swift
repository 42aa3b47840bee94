import Foundation
import XCTest
@testable import Library
import Script

final class BuiltinTests: XCTestCase {
    var directory: URL!
    var previous: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("normlab-builtins-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        previous = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(directory.path)
    }

    override func tearDownWithError() throws {
        FileManager.default.changeCurrentDirectoryPath(previous)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Every example in the table runs in a fresh session.
    func testEveryBuiltinExampleRuns() throws {
        for builtin in builtins {
            var output: [String] = []
            let session = Session(output: { output.append($0) })
            XCTAssertNoThrow(try session.run(builtin.example), "the example of \(builtin.name): \(builtin.example)")
        }
        for member in tensorMembers {
            let session = Session(output: { _ in })
            XCTAssertNoThrow(try session.run(member.example), "the example of .\(member.name): \(member.example)")
        }
    }

    func testEveryBuiltinHasHelpAndIsOnTheReferencePage() {
        let session = Session(output: { _ in })
        let page = referencePage()
        for b in builtins {
            XCTAssertTrue(session.help(b.name).hasPrefix(b.signature), b.name)
            XCTAssertTrue(page.contains("### `\(b.name)`"), b.name)
            XCTAssertFalse(b.doc.isEmpty || b.example.isEmpty, b.name)
        }
        for m in tensorMembers { XCTAssertTrue(page.contains("### `.\(m.name)`"), m.name) }
        XCTAssertEqual(session.help("adian"), "no builtin, method or variable named 'adian' (did you mean 'adain'?); `:help` lists them all")
        XCTAssertEqual(Set(builtins.map(\.name)).count, builtins.count, "names are unique")
    }

    func testResultsAndMessages() throws {
        var output: [String] = []
        let session = Session(output: { output.append($0) })
        try session.run("let r = power_iteration(tensor([[3, 0], [0, 1]]), iters: 30)\nr.sigma\nsigma_max(tensor([[3, 0], [0, 1]]))")
        XCTAssertEqual(output, ["3", "3"])
        XCTAssertThrowsError(try session.run("zeros(2, 3).mean(axis: [1])")) {
            let e = $0 as! ScriptError
            XCTAssertEqual(e.message, "mean: no argument labelled 'axis:'")
            XCTAssertEqual(e.hint, "did you mean 'axes:'?")
        }
        XCTAssertThrowsError(try session.run("check(close(tensor([1]), tensor([1.1])), \"nearly one\")")) {
            let e = $0 as! ScriptError
            XCTAssertEqual(e.kind, .check)
            XCTAssertTrue(e.message.hasPrefix("nearly one: max |a − b| = 0.1"), e.message)
        }
        XCTAssertThrowsError(try session.run("zeros(2, 3) + zeros(4)")) {
            XCTAssertEqual(($0 as! ScriptError).message, "add: shapes [2, 3] and [4] do not fit: cannot broadcast: axis -1 has sizes 3 and 4")
        }
        // A convolution's bias, one value per output channel, in the REPL as in the engine.
        output = []
        try session.run("conv2d(ones(1, 1, 3, 3), ones(2, 1, 3, 3), bias: tensor([0.5, -1]))[0, 1, 0, 0]")
        try session.run("conv_transpose2d(ones(1, 1, 1, 1), ones(1, 2, 1, 1), bias: tensor([1, 2]))[0, 1, 0, 0]")
        XCTAssertEqual(output, ["8.0", "3.0"])
        XCTAssertThrowsError(try session.run("conv2d(ones(1, 1, 3, 3), ones(2, 1, 3, 3), bias: tensor([1]))")) {
            XCTAssertEqual(($0 as! ScriptError).message,
                           "conv2d: shapes [1, 2, 1, 1] and [1] do not fit: the bias must have one element per output channel, [2]")
        }
    }

    func testCompletionsDrawFromTheTables() throws {
        let session = Session(output: { _ in })
        try session.run("let weights = zeros(2)")
        XCTAssertEqual(session.completions(for: "wei", afterDot: false), ["weights"])
        XCTAssertEqual(session.completions(for: "sha", afterDot: true), ["shape"])
        XCTAssertTrue(session.completions(for: "power", afterDot: false).contains("power_iteration"))
    }
}

/// The committed reference page is the one the table generates now.
final class ReferencePageTests: XCTestCase {
    func testLessonsReferenceIsCurrent() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let committed = try String(contentsOf: root.appendingPathComponent("Lessons/reference.md"), encoding: .utf8)
        XCTAssertEqual(committed, referencePage(), "Lessons/reference.md is stale: run `swift run normlab docs --out Lessons/reference.md`")
    }
}
