import Engine
import Preview
import XCTest
@testable import Library

/// Records what a session sends to its front end, in order.
final class CapturingFrontEnd: FrontEnd {
    enum Event: Equatable {
        case text(String), result(String), picture([Int], DisplayID?), progress(Int, Int, DisplayID), finish(DisplayID)
    }
    var events: [Event] = []
    var pictures: [Picture] = []
    var colorMode: ColorMode { .ascii }
    func text(_ text: String) { events.append(.text(text)) }
    func result(_ text: String) { events.append(.result(text)) }
    func show(_ picture: Picture, display: DisplayID?) { events.append(.picture(picture.pixels.shape.dims, display)); pictures.append(picture) }
    func progress(_ bar: ProgressBar, display: DisplayID) { events.append(.progress(bar.done, bar.total, display)) }
    func finish(_ display: DisplayID) { events.append(.finish(display)) }
}

final class FrontEndTests: XCTestCase {
    func testTextAndResultsAreTold() throws {
        let frontEnd = CapturingFrontEnd()
        let session = Session(frontEnd: frontEnd)
        try session.run("print(\"a\", 1)\n2 + 3\nlet x = 1")
        XCTAssertEqual(frontEnd.events, [.text("a 1"), .result("5")])
    }

    func testProgressShowsItsFirstStateAtOnceAndEndsOnce() {
        let frontEnd = CapturingFrontEnd()
        let session = Session(frontEnd: frontEnd)
        let bar = session.progress("work", total: 3)
        bar.update(2)
        bar.finish()
        bar.finish()
        guard case .progress(0, 3, let display) = frontEnd.events.first else { return XCTFail("\(frontEnd.events)") }
        XCTAssertEqual(frontEnd.events, [.progress(0, 3, display), .progress(2, 3, display), .finish(display)])
    }

    /// A terminal draws a batch to fill the width it has within the height it has.
    func testTheTerminalSizesABatchToItsWindow() throws {
        var written: [String] = []
        let terminal = TerminalFrontEnd(colorMode: .truecolor, write: { written.append($0) }, size: { (120, 40) }, progress: nil)
        terminal.show(try Picture.batch(try Tensor.rand([16, 3, 32, 32]), rows: 2), display: nil)
        let lines = written.joined().split(separator: "\n")
        XCTAssertLessThanOrEqual(lines.count, 37)
        XCTAssertEqual(lines[0].components(separatedBy: "▀").count - 1, 6 * 18, "six faces of 18 columns a row")
    }

    /// A batch's pixels (a notebook's PNG, a saved transcript) are in the rows a terminal of the
    /// standard size draws: three images were a 2×2 grid with a blank quarter in Jupyter, one
    /// row in the REPL.
    func testABatchHasTheTerminalsRowsInPixelsToo() throws {
        var written = ""
        let terminal = TerminalFrontEnd(colorMode: .ascii, write: { written = $0 }, size: { standardTerminal }, progress: nil)
        for (count, side) in [(3, 48), (1, 32), (2, 8), (4, 32), (5, 16), (16, 32), (64, 8), (7, 64), (3, 4), (40, 16)] {
            let picture = try Picture.batch(try Tensor.rand([count, 3, side, side]))
            terminal.show(picture, display: nil)
            // The first line of indices under the images: one number for each image of a row.
            let labels = written.split(separator: "\n").first { $0.contains(where: \.isNumber) && $0.allSatisfy { $0.isNumber || $0 == " " } }
            let perRow = try XCTUnwrap(labels?.split(separator: " ").count, written)
            let rows = (count + perRow - 1) / perRow
            XCTAssertEqual(picture.pixels.shape.dims, [3, rows * (side + 2) + 2, perRow * (side + 2) + 2], "\(count) images of \(side)×\(side)")
        }
        let three = try Picture.batch(try Tensor.rand([3, 3, 48, 48]))
        XCTAssertEqual(three.pixels.shape.dims, [3, 52, 152], "lesson 3's picture: one row of three")
        XCTAssertEqual(try Picture.batch(try Tensor.rand([3, 3, 48, 48]), columns: 40).pixels.shape.dims, [3, 102, 102],
                       "show(…, columns: 40) makes the pixels narrower too")
        XCTAssertEqual(try Picture.batch(try Tensor.rand([16, 3, 8, 8]), rows: 2).pixels.shape.dims, [3, 22, 82], "rows given: as given")
    }

    /// A live display's pictures go where a pager lets them through (present mode), a picture
    /// shown once where text goes: a training run must not wait for a key at each redraw.
    func testLiveDisplaysGoToTheirOwnWriter() throws {
        var written: [String] = [], live: [String] = []
        let terminal = TerminalFrontEnd(colorMode: .ascii, write: { written.append($0) }, live: { live.append($0) }, size: { (80, 24) }, progress: nil)
        let picture = try Picture.batch(try Tensor.rand([1, 3, 4, 4]), rows: 1)
        terminal.show(picture, display: nil)
        terminal.show(picture, display: DisplayID())
        XCTAssertEqual([written.count, live.count], [1, 1])
        XCTAssertEqual(written, live, "the same drawing either way")
    }

    /// Training shows its bar before anything else (the faces are made meanwhile), updates it
    /// every iteration, and redraws one display of 16 samples; the bar ends once.
    func testTrainingReportsProgressAndRedrawsItsSamples() throws {
        let frontEnd = CapturingFrontEnd()
        let session = Session(frontEnd: frontEnd)
        try session.run("let run = train_gan(\"sn\", iterations: 4, size: 8, width: 16, faces: 16, every: 2)")
        guard case .progress(0, 4, let bar) = frontEnd.events.first else { return XCTFail("\(frontEnd.events)") }
        XCTAssertEqual(frontEnd.events.filter { if case .progress(_, _, bar) = $0 { return true } else { return false } }.count, 5)
        XCTAssertEqual(frontEnd.events.last, .finish(bar))
        let pictures = frontEnd.events.compactMap { event -> DisplayID?? in if case .picture(_, let display) = event { return display } else { return nil } }
        XCTAssertEqual(pictures.count, 2)
        XCTAssertNotNil(pictures[0] ?? nil)
        XCTAssertEqual(Set(pictures.map { $0 }).count, 1, "one display, shown again")
        // 16 samples of 8×8 in 2 rows of 8 with 2 pixels between and around them.
        XCTAssertEqual(frontEnd.pictures[0].pixels.shape, [3, 2 * 10 + 2, 8 * 10 + 2])
        XCTAssertEqual(frontEnd.pictures[0].range, .symmetric)
    }

    func testTheToyAndTheClassifierReportProgress() throws {
        let frontEnd = CapturingFrontEnd()
        let session = Session(frontEnd: frontEnd)
        try session.run("train_toy(\"8gaussians\", iterations: 4, hidden: 8, every: 2)")
        XCTAssertEqual(frontEnd.events.compactMap { if case .progress(let done, 4, _) = $0 { return done } else { return nil } }, [0, 1, 2, 3, 4])
        XCTAssertEqual(frontEnd.pictures.map(\.description), ["8gaussians, iteration 2", "8gaussians, iteration 4"])
        XCTAssertEqual(frontEnd.pictures[0].pixels.shape, [3, 560, 560])
        frontEnd.events = []
        try session.run("attribute_classifier(size: 8, faces: 32, steps: 3)")
        XCTAssertEqual(frontEnd.events.compactMap { if case .progress(let done, 3, _) = $0 { return done } else { return nil } }, [0, 1, 2, 3])
    }
}
