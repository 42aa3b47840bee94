import XCTest
@testable import Script

/// The language says whether input is whole (issue 17, items 1 and 2): the REPL asks it after
/// each line instead of counting brackets with rules of its own.
final class CompletenessTests: XCTestCase {
    func testAnEscapedBackslashBeforeTheQuoteEndsTheString() {
        XCTAssertEqual(Parser.completeness(of: #"print("a\\")"#), .complete)
        XCTAssertEqual(Parser.completeness(of: #"print("\"(")"#), .complete, "an escaped quote and a bracket inside a string")
        XCTAssertEqual(Parser.completeness(of: "print(1) // (unclosed in a comment"), .complete)
    }

    func testAnOpenBracketNamesWhereItWasOpened() {
        guard case .incomplete(let opening) = Parser.completeness(of: "print(\"x\")\nlet t = tensor([1, 2") else {
            return XCTFail("expected incomplete")
        }
        XCTAssertEqual(opening, Opening(bracket: .leftBracket, location: Location(line: 2, column: 16)))
        XCTAssertEqual(opening.unfinished.message, "the input ended inside the '[' opened at line 2, column 16")
        XCTAssertEqual(opening.unfinished.location, Location(line: 2, column: 16))
        XCTAssertEqual(opening.unfinished.hint, "close it with ']'")
        guard case .incomplete(let block) = Parser.completeness(of: "func f() {\n  if true {\n  }") else { return XCTFail("expected incomplete") }
        XCTAssertEqual(block.description, "the block opened at line 1, column 10")
    }

    func testClosedAcrossLinesIsComplete() {
        XCTAssertEqual(Parser.completeness(of: "let xs = [1,\n  2]\nfunc f() {\n  return 1\n}"), .complete)
        XCTAssertEqual(Parser.completeness(of: ""), .complete)
    }

    func testWhatNoLineCanRepairIsInvalid() {
        guard case .invalid(let string) = Parser.completeness(of: "let s = \"abc\nlet t = 1") else { return XCTFail("expected invalid") }
        XCTAssertEqual(string.message, "this string has no closing quote")
        guard case .invalid(let mismatch) = Parser.completeness(of: "func f() {\n  g(1]") else { return XCTFail("expected invalid") }
        XCTAssertEqual(mismatch.message, "expected ')' to close the argument list, found ']'", "the parser's own message")
        XCTAssertEqual(mismatch.location, Location(line: 2, column: 6))
    }

    func testPendingInputReadsEachLineOnce() {
        var input = PendingInput(firstLine: 7)
        XCTAssertEqual(input.append("for i in 0..<3 {"), .incomplete(Opening(bracket: .leftBrace, location: Location(line: 7, column: 16))))
        for _ in 0..<10_000 { XCTAssertEqual(input.append("  print(i)"), .incomplete(Opening(bracket: .leftBrace, location: Location(line: 7, column: 16)))) }
        XCTAssertEqual(input.append("}"), .complete)
        XCTAssertEqual(input.lines.count, 10_002)
        XCTAssertNil(input.opening)
    }
}
