import XCTest
import Engine
@testable import Preview
import TestSupport

final class RenderingTests: XCTestCase {
    func testColorModeDetection() {
        XCTAssertEqual(ColorMode.detect(explicit: .ansi256, environment: ["NO_COLOR": "1"], isTerminal: false), .ansi256)
        XCTAssertEqual(ColorMode.detect(environment: ["NO_COLOR": "1", "COLORTERM": "truecolor"], isTerminal: true), .ascii)
        XCTAssertEqual(ColorMode.detect(environment: ["NO_COLOR": "", "COLORTERM": "truecolor"], isTerminal: true), .truecolor)
        XCTAssertEqual(ColorMode.detect(environment: ["COLORTERM": "truecolor"], isTerminal: false), .ascii)
        XCTAssertEqual(ColorMode.detect(environment: ["COLORTERM": "24bit"], isTerminal: true), .truecolor)
        XCTAssertEqual(ColorMode.detect(environment: ["TERM": "xterm-256color"], isTerminal: true), .ansi256)
        XCTAssertEqual(ColorMode.detect(environment: ["TERM": "xterm"], isTerminal: true), .ascii)
    }

    func testASCIIRampSnapshot() throws {
        // A horizontal ramp from black to white, 10 columns, 4 rows of pixels → 2 text rows.
        let ramp = try Tensor.linspace(0, 1, count: 10).expanded(to: [4, 10]).reshaped([1, 4, 10])
        XCTAssertEqual(try renderImage(ramp, columns: 10, mode: .ascii), [" .:-=+*#%@", " .:-=+*#%@"])
    }

    func testTruecolorHalfBlocksSnapshot() throws {
        // Red over blue in one column: one character, foreground red, background blue.
        let image = try Tensor(shape: [3, 2, 1], elements: [1, 0, 0, 0, 0, 1])
        XCTAssertEqual(try renderImage(image, columns: 1, mode: .truecolor), ["\u{1B}[38;2;255;0;0m\u{1B}[48;2;0;0;255m▀\u{1B}[0m"])
        XCTAssertEqual(try renderImage(image, columns: 1, mode: .ansi256), ["\u{1B}[38;5;196m\u{1B}[48;5;21m▀\u{1B}[0m"])
    }

    func testAreaResamplingAveragesEveryPixel() throws {
        // A 4×4 checkerboard shrunk to one character is mid-grey (".:-=+" index 5 of 10 → "+").
        let checker = try Tensor(shape: [1, 4, 4], elements: (0..<16).map { Float(($0 / 4 + $0 % 4) % 2) })
        XCTAssertEqual(try renderImage(checker, columns: 1, mode: .ascii), ["+"])
    }

    func testShowABatchLabelsEachImage() throws {
        let batch = try Tensor.rand([3, 3, 8, 8])
        let text = try show(batch, columns: 80, mode: .ascii)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertTrue(lines.last!.contains("0") && lines.last!.contains("1") && lines.last!.contains("2"), text)
        XCTAssertFalse(text.contains("\u{1B}"), "no escape codes in ASCII mode")
        XCTAssertThrowsError(try show(Tensor.zeros([5, 5, 5])))
    }

    func testGridPlacesImagesWithPadding() throws {
        let images = try Tensor.stack([Tensor.zeros([1, 2, 2]), Tensor.ones([1, 2, 2]), Tensor.full([1, 2, 2], value: 0.5)])
        let g = try grid(images, rows: 1, padding: 1, padValue: -1)
        XCTAssertEqual(g.shape, [1, 4, 10])
        XCTAssertEqual(try g[0, 1].scalars, [-1, 0, 0, -1, 1, 1, -1, 0.5, 0.5, -1])
        XCTAssertEqual(try g[0, 0].scalars, [Float](repeating: -1, count: 10))
        XCTAssertEqual(try grid(Tensor.zeros([5, 3, 4, 4])).shape, [3, 2 * 6 + 2, 3 * 6 + 2], "as square as possible: 2 rows × 3")
    }

    func testSparkline() {
        XCTAssertEqual(sparkline([1, 2, 3, 4, 5, 6, 7, 8]), "▁▂▃▄▅▆▇█")
        XCTAssertEqual(sparkline([3, .nan, 3]), "▅ ▅")
        XCTAssertEqual(sparkline([]), "")
    }

    func testLinePlotPNGHasAxesAndSeriesColours() throws {
        let plot = LinePlot(title: "critic loss", xLabel: "iteration", yLabel: "loss", series: [
            Series("real", y: (0..<50).map { sin(Double($0) / 5) }),
            Series("fake", y: (0..<50).map { cos(Double($0) / 5) * 0.5 }),
        ])
        let canvas = plot.render(width: 400, height: 300, scale: 1)
        func count(_ color: RGB) -> Int {
            (0..<canvas.height).reduce(0) { total, y in total + (0..<canvas.width).filter { canvas[$0, y] == color }.count }
        }
        XCTAssertGreaterThan(count(RGB.palette[0]), 100, "the first series is drawn in the first palette colour")
        XCTAssertGreaterThan(count(RGB.palette[1]), 100, "the second in the second")
        // The x axis is a black horizontal line across most of the width.
        let blackRows = (0..<canvas.height).filter { y in (0..<canvas.width).filter { canvas[$0, y] == .black }.count > canvas.width / 2 }
        XCTAssertFalse(blackRows.isEmpty, "an x axis")
        let blackColumns = (0..<canvas.width).filter { x in (0..<canvas.height).filter { canvas[x, $0] == .black }.count > canvas.height / 2 }
        XCTAssertFalse(blackColumns.isEmpty, "a y axis")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("plot-\(UUID().uuidString).png").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try plot.save(to: file, width: 400, height: 300)
        XCTAssertEqual(try loadImage(file).shape, [3, 300, 400])
    }

    func testTerminalPlotSnapshot() {
        let plot = LinePlot(series: [Series("up", y: [0, 1, 2, 3])])
        let text = plot.terminal(width: 20, height: 4, colors: .ascii)
        let expected = [
            "    3.12 ┤        ⡠⠔",
            "         ┤     ⡠⠔⠉  ",
            "         ┤  ⢀⠔⠊     ",
            "       0 ┤⡠⠒⠁       ",
            "         └──────────",
            "          0        3",
            "          ━━ up",
        ]
        XCTAssertEqual(text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init), expected)
    }

    /// Issue 17 item 10: an error that is never negative gets no negative axis (it was −8.5e-03).
    func testPositiveValuesGetNoNegativeAxis() {
        XCTAssertEqual(extent([0.21, 0.1, 0]).0, 0)
        XCTAssertEqual(extent([-0.21, -0.1, 0]).1, 0)
        XCTAssertLessThan(extent([-1, 1]).0, -1, "values on both sides are padded on both sides")
        let text = LinePlot(series: [Series("error", y: [0.21, 0.05, 0.01, 0])]).terminal(width: 30, height: 6, colors: .ascii)
        XCTAssertFalse(text.contains("-"), text)
    }

    /// Found by the fuzz harness: `plot([0.5])`, one point and so a flat x range, divided by
    /// zero and stopped the REPL converting the NaN to a pixel.
    func testAPlotOfOnePointDrawsItInTheMiddle() {
        for values in [[0.5], [0], [1e-30]] {
            let plot = LinePlot(series: [Series("one", y: values)])
            XCTAssertEqual(plot.render(width: 200, height: 100, scale: 1).width, 200)
            XCTAssertFalse(plot.terminal(width: 30, height: 6, colors: .ascii).isEmpty)
        }
        XCTAssertEqual(position(3, in: (3, 3)), 0.5)
    }

    /// Issue 17 item 10: a log scale, its ticks at decades labelled with their values.
    func testLogScaleHasDecadeTicksAndLeavesOutNonPositiveValues() throws {
        XCTAssertEqual(logTicks(-5.2, -0.6), [-5, -4, -3, -2, -1])
        XCTAssertEqual([-5, -2, 0, 2, 0.5].map(logTickLabel), ["1e-05", "0.01", "1", "100", "3e+00"])
        let plot = LinePlot(series: [Series("error", y: [0.2, 0.01, 0, 1e-5])], logScale: true)
        XCTAssertEqual(plot.drawn(plot.series[0]).map(\.1), [log10(0.2), -2, -5])
        let text = plot.terminal(width: 30, height: 6, colors: .ascii)
        XCTAssertTrue(text.hasSuffix("(y on a log scale)"), text)
        XCTAssertTrue(text.split(separator: "\n").last { $0.contains("┤") }?.contains("e-0") ?? false, "the bottom label is a small value: \(text)")
        XCTAssertEqual(plot.render(width: 300, height: 200, scale: 1).width, 300)
    }

    /// Issue 17 item 10: a character is shown as the series with most dots in it, so the dense
    /// clusters of real points stay visible under a scattered cloud of generated ones, and
    /// without colour each set of points has a mark of its own.
    func testScatterKeepsEverySetVisible() {
        let cluster = Array(repeating: (1.0, 1.0), count: 20)
        let plot = ScatterPlot(series: [(name: "real", points: cluster, color: RGB(0, 0, 255)),
                                        (name: "generated", points: [(1.0, 1.0), (-1.0, -1.0)], color: RGB(255, 0, 0))],
                               xRange: (-2, 2), yRange: (-2, 2))
        let colored = plot.terminal(width: 10, height: 4, colors: .truecolor)
        XCTAssertTrue(colored.contains("\u{1B}[38;2;0;0;255m"), "the cluster's character is the real set's colour")
        XCTAssertTrue(colored.contains("\u{1B}[38;2;255;0;0m"), "the lone generated point shows in its own colour")
        let plain = plot.terminal(width: 10, height: 4, colors: .ascii)
        XCTAssertEqual(plain.filter { $0 == "•" }.count, 2, "one mark for the lone generated point, one in the legend: \(plain)")
        XCTAssertTrue(plain.hasSuffix("⣿ real   • generated"), plain)
    }

    func testScatterPlotOverAHeatMap() throws {
        let plot = ScatterPlot(title: "8 Gaussians", series: [
            (name: "real", points: [(1, 0), (0, 1), (-1, 0), (0, -1)], color: nil),
            (name: "fake", points: [(0.5, 0.5), (-0.5, -0.5)], color: nil),
        ], heatmap: [[0, 1], [1, 2]], xRange: (-2, 2), yRange: (-2, 2))
        let canvas = plot.render(width: 300, height: 300, scale: 1)
        XCTAssertEqual(canvas.width, 300)
        let text = plot.terminal(width: 20, height: 8, colors: .ascii)
        XCTAssertTrue(text.contains("real") && text.contains("fake"))
        XCTAssertEqual(text.split(separator: "\n").count, 10)
    }
}
