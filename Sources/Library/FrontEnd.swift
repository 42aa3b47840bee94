import Dispatch
import Engine
import Foundation
import Preview

/// Where a session's cells show what they do. The REPL draws on a terminal (`TerminalFrontEnd`),
/// the Jupyter kernel sends messages; builtins only ever talk to this protocol, so each picture,
/// progress bar and line of text looks right in both. Requests go the other way, as methods of
/// `Session`: completion (`completions`), help (`help`), and interrupts (its `InterruptFlag`).
public protocol FrontEnd: AnyObject {
    /// How much colour text may carry (escape codes), for builtins that colour a word.
    var colorMode: ColorMode { get }
    /// Printed text (`print`, check marks, messages): one or more lines, no final newline.
    func text(_ text: String)
    /// The value of a bare expression, as text.
    func result(_ text: String)
    /// A picture. With a display, it replaces what that display showed before (a live sample
    /// grid); a front end that cannot replace shows it again.
    func show(_ picture: Picture, display: DisplayID?)
    /// The state of a long computation, redrawn in place. Called as often as the work
    /// likes: the front end decides how often to draw.
    func progress(_ bar: ProgressBar, display: DisplayID)
    /// The computation behind a progress display ended: its last state stays.
    func finish(_ display: DisplayID)
}

/// Names a display so that later output can replace it (Jupyter's `display_id`).
public struct DisplayID: Hashable, Sendable, CustomStringConvertible {
    public let description: String
    public init() { description = "normlab-" + UUID().uuidString.lowercased() }
}

/// A picture a cell shows: its pixels at their own resolution (an image, a grid of samples, a
/// rendered chart), and how it looks in a terminal, where it is characters.
public struct Picture {
    /// `[C, H, W]` (C = 1, 3 or 4) or `[H, W]`, values in `range`.
    public var pixels: Tensor
    public var range: PixelRange
    /// What a front end without images shows (Jupyter's text/plain).
    public var description: String
    /// The picture in a terminal area of `columns` × `rows` characters.
    public var drawing: (_ columns: Int, _ rows: Int, _ colors: ColorMode) throws -> String

    /// Refuses pixels that are not an image, so that no front end meets them later.
    public init(pixels: Tensor, range: PixelRange = .unit, description: String? = nil,
                drawing: @escaping (_ columns: Int, _ rows: Int, _ colors: ColorMode) throws -> String) throws {
        _ = try imageShape(pixels)
        (self.pixels, self.range, self.drawing) = (pixels, range, drawing)
        self.description = description ?? "<image \(pixels.shape)>"
    }

    /// One image `[C, H, W]` or `[H, W]`, drawn in half-blocks (or ASCII) to fit the width (or
    /// `columns`, when narrower).
    public static func image(_ image: Tensor, range: PixelRange = .unit, columns: Int? = nil) throws -> Picture {
        try Picture(pixels: image, range: range) { width, _, colors in
            try Preview.show(image, columns: min(columns ?? width, width), mode: colors, range: range)
        }
    }

    /// A batch `[N, C, H, W]`. A terminal arranges the images to fill its width (or `columns`,
    /// when narrower) within its height, each with its index under it; the pixels (a notebook's
    /// PNG, a saved transcript) are the same rows as on a terminal of the standard size, or
    /// `rows` rows when given.
    public static func batch(_ images: Tensor, range: PixelRange = .unit, rows: Int? = nil, columns: Int? = nil, description: String? = nil) throws -> Picture {
        let pixels: Tensor
        if rows == nil, images.rank == 4, images.shape[0] > 0 {
            let area = TerminalFrontEnd.drawingArea(columns: standardTerminal.columns, rows: standardTerminal.rows)
            let perRow = batchLayout(count: images.shape[0], height: images.shape[2], width: images.shape[3],
                                     columns: min(columns ?? area.columns, area.columns), rows: area.rows).perRow
            pixels = try grid(images, columns: perRow)
        } else {
            pixels = try grid(images, rows: rows)
        }
        return try Picture(pixels: pixels, range: range, description: description ?? "<\(images.shape[0]) images \(images.shape)>") { width, height, colors in
            try Preview.show(images, columns: min(columns ?? width, width), rows: height, mode: colors, range: range)
        }
    }
}

extension Picture {
    /// A line chart: Braille characters in a terminal (at most `columns` wide), 720×420 pixels elsewhere.
    public static func chart(_ plot: LinePlot, columns: Int = 100, rows: Int = 16) throws -> Picture {
        try Picture(pixels: try plot.render(width: 720, height: 420).tensor(), description: plot.title.isEmpty ? "<line chart>" : plot.title) { width, _, colors in
            plot.terminal(width: min(columns, width), height: rows, colors: colors)
        }
    }

    /// A scatter plot: Braille characters in a terminal (at most `columns` wide), 560×560 pixels elsewhere.
    public static func chart(_ plot: ScatterPlot, columns: Int = 72, rows: Int = 20) throws -> Picture {
        try Picture(pixels: try plot.render().tensor(), description: plot.title.isEmpty ? "<scatter plot>" : plot.title) { width, _, colors in
            plot.terminal(width: min(columns, width), height: rows, colors: colors)
        }
    }
}

/// The terminal: text and pictures on standard output (or `write`), progress on standard
/// error redrawn in place, pictures sized to the terminal.
public final class TerminalFrontEnd: FrontEnd {
    public let colorMode: ColorMode
    let write: (String) -> Void
    /// Where pictures of a live display (training samples, the toy's chart) go, when not to
    /// `write`: a pager must let them through, or a training run would wait at each redraw.
    let live: ((String) -> Void)?
    let size: () -> (columns: Int, rows: Int)
    /// Nil: progress is not shown (`normlab run --quiet`).
    let progressLine: ProgressLine?

    public init(colorMode: ColorMode = .ascii, write: @escaping (String) -> Void = { print($0) }, live: ((String) -> Void)? = nil,
                size: @escaping () -> (columns: Int, rows: Int) = { (terminalColumns(), terminalRows()) },
                progress: ProgressLine? = ProgressLine()) {
        (self.colorMode, self.write, self.live, self.size, self.progressLine) = (colorMode, write, live, size, progress)
    }

    public func text(_ text: String) {
        progressLine?.clear()
        write(text)
    }

    public func result(_ text: String) { self.text(text) }

    /// Where a picture is drawn on a terminal of this size. A column spare: a line as wide as the
    /// terminal wraps on some terminals. Rows spare for the prompt and a progress line.
    public static func drawingArea(columns: Int, rows: Int) -> (columns: Int, rows: Int) { (max(8, columns - 1), max(8, rows - 3)) }

    public func show(_ picture: Picture, display: DisplayID?) {
        let (columns, rows) = size()
        let area = TerminalFrontEnd.drawingArea(columns: columns, rows: rows)
        let drawing: String
        do { drawing = try picture.drawing(area.columns, area.rows, colorMode) } catch { drawing = "(cannot draw the picture: \(error))" }
        if display != nil, let live {
            progressLine?.clear()
            live(drawing)
        } else {
            text(drawing)
        }
    }

    public func progress(_ bar: ProgressBar, display: DisplayID) { progressLine?.draw(bar) }

    public func finish(_ display: DisplayID) { progressLine?.finish() }
}

/// Shows nothing: for `:time`, which runs an expression many times, and silent executions.
public final class SilentFrontEnd: FrontEnd {
    public init() {}
    public var colorMode: ColorMode { .ascii }
    public func text(_ text: String) {}
    public func result(_ text: String) {}
    public func show(_ picture: Picture, display: DisplayID?) {}
    public func progress(_ bar: ProgressBar, display: DisplayID) {}
    public func finish(_ display: DisplayID) {}
}

/// The progress of a long builtin, reported to the front end that was the session's when it
/// started: with a known total the first state at once (so something shows within a second),
/// else from the first update, which brings the total (decoding a folder: a cached one needs no
/// bar). Updates may come from worker threads; they reach the front end one at a time.
public final class ProgressReporter: @unchecked Sendable {
    let frontEnd: FrontEnd
    let display = DisplayID()
    let label: String
    var total: Int
    let start = DispatchTime.now().uptimeNanoseconds
    let lock = NSLock()
    var finished = false

    /// A bar of its own on the terminal, for commands that run no session (`normlab train`).
    public convenience init(_ label: String, total: Int?) { self.init(frontEnd: TerminalFrontEnd(), label: label, total: total) }

    init(frontEnd: FrontEnd, label: String, total: Int?) {
        (self.frontEnd, self.label, self.total) = (frontEnd, label, total ?? 0)
        if total != nil { update(0) }
    }

    public func update(_ done: Int, of total: Int? = nil, _ values: [ProgressBar.Value] = []) {
        lock.lock(); defer { lock.unlock() }
        guard !finished else { return }
        if let total { self.total = total }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        frontEnd.progress(ProgressBar(label: label, done: done, total: self.total, elapsed: elapsed, values: values), display: display)
    }

    /// Ends the display; later calls do nothing.
    public func finish() {
        lock.lock(); defer { lock.unlock() }
        guard !finished else { return }
        finished = true
        frontEnd.finish(display)
    }
}
