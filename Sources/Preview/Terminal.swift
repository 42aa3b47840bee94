import Engine
import Foundation

/// How much colour the terminal shows.
public enum ColorMode: String, Sendable, CaseIterable {
    /// 24-bit colour (`COLORTERM` says truecolor or 24bit)
    case truecolor
    /// the xterm 256-colour palette (`TERM` mentions 256color)
    case ansi256
    /// no colour or escape codes at all
    case ascii

    /// An explicit choice wins; then `NO_COLOR` (set and not empty) means none; not a terminal
    /// means none; then `COLORTERM` and `TERM` decide.
    public static func detect(explicit: ColorMode? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
                              isTerminal: Bool = isatty(STDOUT_FILENO) == 1) -> ColorMode {
        if let explicit { return explicit }
        if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return .ascii }
        guard isTerminal else { return .ascii }
        let colorTerm = environment["COLORTERM"]?.lowercased() ?? ""
        if colorTerm.contains("truecolor") || colorTerm.contains("24bit") { return .truecolor }
        if (environment["TERM"] ?? "").contains("256color") { return .ansi256 }
        return .ascii
    }

    /// `text` in `color` (foreground), or plain text without colour.
    public func paint(_ text: String, _ color: RGB) -> String {
        switch self {
        case .truecolor: return "\u{1B}[38;2;\(color.r);\(color.g);\(color.b)m\(text)\u{1B}[0m"
        case .ansi256: return "\u{1B}[38;5;\(xterm256(color))m\(text)\u{1B}[0m"
        case .ascii: return text
        }
    }

    func foreground(_ c: RGB) -> String {
        self == .truecolor ? "\u{1B}[38;2;\(c.r);\(c.g);\(c.b)m" : "\u{1B}[38;5;\(xterm256(c))m"
    }

    func background(_ c: RGB) -> String {
        self == .truecolor ? "\u{1B}[48;2;\(c.r);\(c.g);\(c.b)m" : "\u{1B}[48;5;\(xterm256(c))m"
    }
}

/// The nearest xterm-256 colour: the 6×6×6 cube (16…231) or, for greys, the 24-step ramp (232…255).
func xterm256(_ c: RGB) -> Int {
    let levels = [0, 95, 135, 175, 215, 255]
    func nearest(_ v: UInt8) -> Int { levels.indices.min { abs(levels[$0] - Int(v)) < abs(levels[$1] - Int(v)) } ?? 0 }
    let cube = 16 + 36 * nearest(c.r) + 6 * nearest(c.g) + nearest(c.b)
    let cubeColor = (levels[nearest(c.r)], levels[nearest(c.g)], levels[nearest(c.b)])
    let mean = (Int(c.r) + Int(c.g) + Int(c.b)) / 3
    let grayIndex = min(23, max(0, (mean - 8 + 5) / 10))
    let gray = 8 + 10 * grayIndex
    func distance(_ a: (Int, Int, Int)) -> Int {
        let (dr, dg, db) = (a.0 - Int(c.r), a.1 - Int(c.g), a.2 - Int(c.b))
        return dr * dr + dg * dg + db * db
    }
    return distance((gray, gray, gray)) < distance(cubeColor) ? 232 + grayIndex : cube
}

/// The terminal's width in columns (COLUMNS, then the window size), 80 when unknown.
public func terminalColumns() -> Int {
    if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), columns > 0 { return columns }
    var size = winsize()
    if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
    return standardTerminal.columns
}

/// The terminal's height in rows (LINES, then the window size), 24 when unknown.
public func terminalRows() -> Int {
    if let rows = ProcessInfo.processInfo.environment["LINES"].flatMap(Int.init), rows > 0 { return rows }
    var size = winsize()
    if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0 { return Int(size.ws_row) }
    return standardTerminal.rows
}

/// An image as rows of pixel colours, resampled to `width` × `height`: area averaging when
/// shrinking (every source pixel counts), nearest pixel when enlarging (crisp pixels).
func resample(_ image: Tensor, width: Int, height: Int, range: PixelRange) throws -> [[RGB]] {
    let (channels, h, w) = try imageShape(image)
    let values = image.scalars
    let plane = h * w
    func pixel(_ x: Int, _ y: Int, _ c: Int) -> Float {
        values[min(c, channels - 1) * plane + y * w + x]
    }
    return (0..<height).map { row in
        (0..<width).map { column in
            let x0 = Double(column) * Double(w) / Double(width), x1 = Double(column + 1) * Double(w) / Double(width)
            let y0 = Double(row) * Double(h) / Double(height), y1 = Double(row + 1) * Double(h) / Double(height)
            var sum = [Double](repeating: 0, count: 3)
            var count = 0.0
            for y in Int(y0)..<max(Int(y0) + 1, min(h, Int(y1.rounded(.up)))) {
                for x in Int(x0)..<max(Int(x0) + 1, min(w, Int(x1.rounded(.up)))) {
                    for c in 0..<3 { sum[c] += Double(pixel(x, y, channels >= 3 ? c : 0)) }
                    count += 1
                }
            }
            let bytes = sum.map { range.toByte(Float($0 / max(count, 1))) }
            return RGB(bytes[0], bytes[1], bytes[2])
        }
    }
}

/// Renders an image `[C, H, W]` in `columns` terminal columns: two pixels per character with
/// the upper-half block (foreground = upper pixel, background = lower) in colour, or a
/// luminance ramp " .:-=+*#%@" in plain ASCII (rows sampled at half the rate of columns).
public func renderImage(_ image: Tensor, columns: Int, mode: ColorMode, range: PixelRange = .unit) throws -> [String] {
    let (_, h, w) = try imageShape(image)
    let width = max(1, columns)
    // Terminal cells are about twice as tall as wide: 2 pixel rows per character keeps the shape.
    let pixelRows = max(2, Int((Double(h) * Double(width) / Double(w)).rounded()))
    if mode == .ascii {
        let rows = max(1, pixelRows / 2)
        let pixels = try resample(image, width: width, height: rows, range: range)
        let ramp = Array(" .:-=+*#%@")
        return pixels.map { row in
            String(row.map { p in
                let luminance = (0.2126 * Double(p.r) + 0.7152 * Double(p.g) + 0.0722 * Double(p.b)) / 255
                return ramp[min(ramp.count - 1, Int(luminance * Double(ramp.count)))]
            })
        }
    }
    let pixels = try resample(image, width: width, height: pixelRows + pixelRows % 2, range: range)
    return stride(from: 0, to: pixels.count, by: 2).map { y in
        (0..<width).map { x in mode.foreground(pixels[y][x]) + mode.background(pixels[y + 1][x]) + "▀" }.joined() + "\u{1B}[0m"
    }
}

/// How many images of a batch go in a row, and how many terminal columns each is drawn in: the
/// terminal's layout, which the pixels of a shown batch follow too (`Picture.batch`), so that a notebook
/// shows the rows the REPL shows. As many images a row as fit `columns` (about two pixels a
/// column); with `rows`, the count a row that gives each image the most columns with which the
/// whole grid, each image's index under it, fits in that many lines.
public func batchLayout(count: Int, height h: Int, width w: Int, columns: Int, rows: Int?) -> (perRow: Int, cell: Int) {
    let count = max(1, count), (h, w) = (max(1, h), max(1, w))
    let available = max(8, columns - 1)
    var perRow = max(1, min(count, available / max(w / 2 + 2, 10)))
    var cell = max(4, min(w, available / perRow - 2))
    if let rows {
        // Lines of a grid with `n` images a row: each image's character rows plus its index.
        func layout(_ n: Int) -> (cell: Int, lines: Int) {
            let cell = min(w, (available - 2 * (n - 1)) / n)
            let imageLines = (max(2, Int((Double(h) * Double(cell) / Double(w)).rounded())) + 1) / 2
            return (cell, (count + n - 1) / n * (imageLines + 1))
        }
        let layouts = (1...count).map { (n: $0, size: layout($0)) }.filter { $0.size.cell >= 4 }
        let fitting = layouts.filter { $0.size.lines <= rows }
        if let best = fitting.max(by: { ($0.size.cell, -$0.size.lines) < ($1.size.cell, -$1.size.lines) })
            ?? layouts.min(by: { $0.size.lines < $1.size.lines }) {
            (perRow, cell) = (best.n, best.size.cell)
        }
    }
    return (perRow, cell)
}

/// The terminal a picture of a batch is laid out for when there is none (a notebook, a saved
/// transcript): the size `terminalColumns` and `terminalRows` assume when they cannot tell.
public let standardTerminal = (columns: 80, rows: 24)

/// Shows an image `[C, H, W]` (or `[H, W]`), or a batch `[N, C, H, W]` as a grid with each
/// image's index under it, fitted to the terminal width; with `rows`, a batch is laid out to
/// give each image the most columns with which the whole grid fits in that many rows.
public func show(_ x: Tensor, columns: Int? = nil, rows: Int? = nil, mode: ColorMode = .detect(), range: PixelRange = .unit) throws -> String {
    let available = max(8, (columns ?? terminalColumns()) - 1)
    guard x.rank == 4 else {
        let (_, h, w) = try imageShape(x)
        // Small images are enlarged to at least 32 columns; large ones fit the terminal.
        let width = min(available, max(w, min(32, available)))
        _ = h
        return try renderImage(x, columns: width, mode: mode, range: range).joined(separator: "\n")
    }
    let count = x.shape[0]
    guard count > 0 else { return "(an empty batch of shape \(x.shape))" }
    let (_, h, w) = try imageShape(x[0])
    let (perRow, cell) = batchLayout(count: count, height: h, width: w, columns: columns ?? terminalColumns(), rows: rows)
    var lines: [String] = []
    for first in stride(from: 0, to: count, by: perRow) {
        let images = try (first..<min(count, first + perRow)).map { try renderImage(x[$0], columns: cell, mode: mode, range: range) }
        let height = images.map(\.count).max() ?? 0
        for row in 0..<height {
            lines.append(images.map { row < $0.count ? $0[row] : String(repeating: " ", count: cell) }.joined(separator: "  "))
        }
        lines.append((first..<min(count, first + perRow)).map { String($0).centered(cell) }.joined(separator: "  "))
        _ = h
    }
    return lines.joined(separator: "\n")
}

/// Values as a one-line chart of block heights: "▁▂▃▄▅▆▇█".
public func sparkline(_ values: [Double]) -> String {
    let finite = values.filter(\.isFinite)
    guard let low = finite.min(), let high = finite.max() else { return "" }
    let blocks = Array("▁▂▃▄▅▆▇█")
    return String(values.map { v -> Character in
        guard v.isFinite else { return " " }
        let t = high > low ? position(v, in: (low, high)) : 0.5
        return blocks[min(blocks.count - 1, Int(t * Double(blocks.count)))]
    })
}

extension String {
    func centered(_ width: Int) -> String {
        guard count < width else { return self }
        let left = (width - count) / 2
        return String(repeating: " ", count: left) + self + String(repeating: " ", count: width - count - left)
    }
}
