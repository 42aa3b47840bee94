import XCTest
import Engine
import Preview

final class ProgressTests: XCTestCase {
    let training = ProgressBar(label: "train sn", done: 420, total: 1000, elapsed: 70.2,
                               values: [.init("W", 0.8704), .init("gp", 0.12345), .init("d_loss", -1.2345), .init("g_loss", 12.5)])

    /// tqdm's layout: label, percentage, bar in eighths, counts, elapsed<left, rate, values.
    func testTqdmLayout() {
        XCTAssertEqual(training.line(), "train sn: 42%|████████▍           | 420/1000 [01:10<01:36, 5.98it/s, W=0.87, gp=0.123, d_loss=-1.23, g_loss=12.5]")
        let slow = ProgressBar(label: "decoding", done: 2, total: 3, elapsed: 5)
        XCTAssertEqual(slow.line(), "decoding: 66%|█████████████▎      | 2/3 [00:05<00:02, 2.50s/it]")
        let starting = ProgressBar(label: "train plain", done: 0, total: 150, elapsed: 0.01)
        XCTAssertEqual(starting.line(), "train plain: 0%|                    | 0/150 [00:00<?, ?it/s]")
        XCTAssertEqual(ProgressBar(label: "long", done: 1, total: 10, elapsed: 4000).line(width: nil).contains("[1:06:40<10:00:00,"), true)
    }

    /// A line wider than the terminal wraps, and `\r` then redraws only its last row: every
    /// width gets a line that fits, and the values are the last thing to go.
    func testLinesFitTheTerminalAndKeepTheValues() {
        for width in [120, 100, 80, 72, 66] {
            let line = training.line(width: width)
            XCTAssertLessThanOrEqual(line.count, width, "\(width): \(line)")
            XCTAssertTrue(line.hasSuffix("W=0.87, gp=0.123, d_loss=-1.23, g_loss=12.5]"), "\(width): \(line)")
            XCTAssertTrue(line.contains("420/1000") && line.contains("<01:36"), "\(width): \(line)")
        }
        XCTAssertEqual(training.line(width: 120).count, 120, "the bar takes the room there is")
        XCTAssertTrue(training.line(width: 120).contains("|█"), "a bar at 120 columns")
        XCTAssertEqual(training.line(width: 79), "train sn: 42% 420/1000 [<01:36, W=0.87, gp=0.123, d_loss=-1.23, g_loss=12.5]")
        XCTAssertEqual(training.line(width: 60).count, 60, "cut only when nothing else can go")
    }

    func testATerminalLineIsRedrawnInPlaceAndCleared() {
        var written: [String] = []
        let line = ProgressLine(terminal: true, columns: { 80 }, write: { written.append($0) })
        line.draw(ProgressBar(label: "x", done: 0, total: 4, elapsed: 0))
        line.draw(ProgressBar(label: "x", done: 1, total: 4, elapsed: 0.01))
        XCTAssertEqual(written.count, 1, "drawn at once, then at most ten times a second")
        XCTAssertTrue(written[0].hasPrefix("\r") && written[0].hasSuffix("\u{1B}[K"), written[0])
        XCTAssertLessThanOrEqual(written[0].count - 4, 79)
        line.clear()
        XCTAssertEqual(written.last, "\r\u{1B}[K")
        line.draw(ProgressBar(label: "x", done: 2, total: 4, elapsed: 0.02))
        XCTAssertTrue(written.last!.contains("2/4"), "drawn again at once after other output")
        line.finish()
        XCTAssertEqual(written.suffix(2).first.map { $0.contains("2/4") }, true)
        XCTAssertEqual(written.last, "\n")
    }

    func testPlainLinesOnlyForLongWork() {
        var written: [String] = []
        let line = ProgressLine(terminal: false, write: { written.append($0) })
        line.draw(ProgressBar(label: "x", done: 0, total: 2, elapsed: 0))
        line.draw(ProgressBar(label: "x", done: 2, total: 2, elapsed: 0.1))
        line.finish()
        XCTAssertEqual(written, [], "quick work leaves no lines in a log")
    }

    /// A batch fills the width within the height: 16 faces of 32×32 at 120×40 get 18 columns
    /// each (6 a row), at 80×24 11 columns (6 a row); without a height, the old layout.
    func testABatchUsesTheTerminalsWidthWithinItsHeight() throws {
        let faces = try Tensor.rand([16, 3, 32, 32])
        for (columns, rows, cell) in [(119, 37, 18), (79, 21, 11)] {
            let lines = try show(faces, columns: columns, rows: rows, mode: .truecolor).split(separator: "\n")
            XCTAssertLessThanOrEqual(lines.count, rows)
            let firstRow = lines[0].components(separatedBy: "▀").count - 1
            XCTAssertEqual(firstRow, 6 * cell, "\(columns)×\(rows)")
        }
    }
}
