import XCTest
@testable import REPL

/// Issue 17 item 9: what a pager shows on each screen.
final class PagerTests: XCTestCase {
    func testScreensHoldTheHeightAndNoScreenOfOneLine() {
        XCTAssertEqual(Pager.screens(lines: 0, height: 5), [])
        XCTAssertEqual(Pager.screens(lines: 5, height: 5), [0..<5])
        XCTAssertEqual(Pager.screens(lines: 6, height: 5), [0..<6], "one line more fits in the question's row")
        XCTAssertEqual(Pager.screens(lines: 7, height: 5), [0..<5, 5..<7])
        XCTAssertEqual(Pager.screens(lines: 90, height: 22), [0..<22, 22..<44, 44..<66, 66..<88, 88..<90])
        for lines in 0..<60 {
            let screens = Pager.screens(lines: lines, height: 7)
            XCTAssertEqual(screens.flatMap { Array($0) }, Array(0..<lines), "every line once, in order")
            XCTAssertTrue(screens.dropLast().allSatisfy { $0.count == 7 }, "a question after each full screen")
        }
    }

    func testFittingUsesAColumnLessThanTheTerminal() {
        let pager = Pager(color: false, rows: { 24 }, columns: { 30 })
        XCTAssertEqual(pager.height(), 23)
        XCTAssertEqual(pager.height(reserving: 1), 22)
        XCTAssertEqual(pager.fit("the quick brown fox jumps over the lazy dog"), "the quick brown fox jumps\n  over the lazy dog", "29 columns: a line as wide as the terminal wraps on some")
    }
}
