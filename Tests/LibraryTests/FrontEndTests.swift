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
