import Engine
import Foundation

/// One line of a chart: y against x (x defaults to 0, 1, 2, …).
public struct Series: Sendable {
    public var name: String
    public var x: [Double]
    public var y: [Double]
    public var color: RGB?

    public init(_ name: String, y: [Double], x: [Double]? = nil, color: RGB? = nil) {
        self.name = name
        self.y = y
        self.x = x ?? y.indices.map(Double.init)
        self.color = color
    }

    /// The finite points only: a NaN (a diverged loss) breaks the line instead of the axes.
    var points: [(Double, Double)] { zip(x, y).filter { $0.0.isFinite && $0.1.isFinite } }
}

/// "Nice" tick positions covering [low, high]: steps of 1, 2 or 5 times a power of ten.
func ticks(_ low: Double, _ high: Double, count: Int = 5) -> [Double] {
    guard high > low, low.isFinite, high.isFinite else { return [low] }
    let raw = (high - low) / Double(max(count, 1))
    let magnitude = pow(10, floor(log10(raw)))
    let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
    let first = ceil(low / step - 1e-9) * step
    return stride(from: first, through: high + step * 1e-9, by: step).map { abs($0) < step * 1e-9 ? 0 : $0 }
}

/// A tick label: few digits, scientific only for very large or small numbers.
func tickLabel(_ value: Double, step: Double) -> String {
    if value == 0 { return "0" }
    if abs(value) >= 1e5 || abs(value) < 1e-3 { return String(format: "%.0e", value) }
    let decimals = max(0, -Int(floor(log10(step))))
    return String(format: "%.\(decimals)f", value)
}

/// The range a set of values needs, padded a little (y) or not (x); a flat range is widened.
/// Padding does not cross zero: an error that is never negative gets no negative axis (unless
/// the values are exponents of a log axis, where zero is not special).
func extent(_ values: [Double], padded: Bool = true, keepingSign: Bool = true) -> (Double, Double) {
    let finite = values.filter(\.isFinite)
    guard var low = finite.min(), var high = finite.max() else { return (0, 1) }
    // A span past the largest Double (values near ±1e308) would make every position NaN.
    if !(high - low).isFinite { (low, high) = (max(low, -.greatestFiniteMagnitude / 4), min(high, .greatestFiniteMagnitude / 4)) }
    let (lowest, highest) = (low, high)
    if high - low < 1e-12 { low -= max(abs(low) * 0.1, 0.5); high += max(abs(high) * 0.1, 0.5) }
    let pad = padded ? (high - low) * 0.04 : 0
    (low, high) = (low - pad, high + pad)
    if keepingSign && lowest >= 0 { low = max(low, 0) }
    if keepingSign && highest <= 0 { high = min(high, 0) }
    return (low, high)
}

/// Decades (1, 10, 100, or 1e-3) as the ticks of a log₁₀ axis whose range is in exponents;
/// within one decade, nice steps of the exponent.
func logTicks(_ low: Double, _ high: Double) -> [Double] {
    let decades = stride(from: ceil(low - 1e-9), through: floor(high + 1e-9), by: 1).map { $0 }
    guard decades.count >= 2 else { return ticks(low, high) }
    let skip = max(1, decades.count / 6)
    return decades.enumerated().filter { $0.offset % skip == 0 }.map(\.element)
}

/// 10^exponent as a tick label: 1, 10, 0.01, 1e-05.
func logTickLabel(_ exponent: Double) -> String {
    let value = pow(10, exponent)
    if exponent == exponent.rounded() && abs(exponent) <= 3 { return exponent >= 0 ? String(Int(value)) : String(format: "%.\(Int(-exponent))f", value) }
    return String(format: "%.0e", value)
}

/// Where `v` lies in `range`: 0 at its low end, 1 at its high end. Computed on halves, so
/// that values near ±1e308 do not overflow to infinity on the way.
func position(_ v: Double, in range: (Double, Double)) -> Double {
    // A flat range (a single point's x) has no width to divide by: its values sit in the middle.
    guard range.1 != range.0 else { return 0.5 }
    return (v / 2 - range.0 / 2) / (range.1 / 2 - range.0 / 2)
}

/// A line chart (losses, σ per layer, metrics) with axes, ticks, labels and a legend.
public struct LinePlot {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    /// y on a log₁₀ axis (errors that fall by orders of magnitude); values ≤ 0 are left out.
    public var logScale: Bool

    public init(title: String = "", xLabel: String = "", yLabel: String = "", series: [Series], logScale: Bool = false) {
        (self.title, self.xLabel, self.yLabel, self.series, self.logScale) = (title, xLabel, yLabel, series, logScale)
    }

    func color(_ i: Int) -> RGB { series[i].color ?? RGB.palette[i % RGB.palette.count] }

    /// A series' points as drawn: y as its log₁₀ on a log scale (where positive).
    func drawn(_ s: Series) -> [(Double, Double)] {
        logScale ? s.points.filter { $0.1 > 0 }.map { ($0.0, log10($0.1)) } : s.points
    }

    var ranges: (x: (Double, Double), y: (Double, Double)) {
        let all = series.flatMap(drawn)
        return (extent(all.map(\.0), padded: false), extent(all.map(\.1), keepingSign: !logScale))
    }

    /// The chart as a picture.
    public func render(width: Int = 720, height: Int = 420, scale: Int = 2) -> Canvas {
        var canvas = Canvas(width: width, height: height)
        let frame = PlotFrame(canvas: canvas, title: title, xLabel: xLabel, yLabel: yLabel, xRange: ranges.x, yRange: ranges.y,
                              scale: scale, logY: logScale)
        frame.drawAxes(on: &canvas)
        for (i, s) in series.enumerated() {
            let points = drawn(s).map(frame.map)
            if points.count == 1 { canvas.disc(points[0].0, points[0].1, radius: 2.5, color(i)) }
            for (a, b) in zip(points, points.dropFirst()) { canvas.line(a.0, a.1, b.0, b.1, color(i), thickness: 1.5 * Double(scale) + 0.5) }
        }
        frame.drawLegend(series.indices.map { (series[$0].name, color($0)) }, avoiding: series.flatMap { drawn($0).map(frame.map) }, on: &canvas)
        return canvas
    }

    public func save(to path: String, width: Int = 720, height: Int = 420) throws {
        try render(width: width, height: height).save(to: path)
    }

    /// The chart in the terminal in Braille dots (2×4 per character), coloured when `colors`
    /// allows, with the y range on the left and a legend below.
    public func terminal(width: Int = 72, height: Int = 16, colors: ColorMode = .detect()) -> String {
        var braille = BrailleCanvas(columns: max(width - 10, 10), rows: max(height, 4))
        let (xr, yr) = ranges
        for (i, s) in series.enumerated() {
            let dots = drawn(s).map { braille.dot(x: position($0.0, in: xr), y: position($0.1, in: yr)) }
            for (a, b) in zip(dots, dots.dropFirst()) { braille.line(a, b, series: i) }
            if dots.count == 1 { braille.set(dots[0], series: i) }
        }
        var lines: [String] = []
        if !title.isEmpty { lines.append(title) }
        let body = braille.render(colors: colors, palette: series.indices.map(color))
        let yLabel = { (v: Double) in self.logScale ? compact(pow(10, v)) : compact(v) }
        for (row, line) in body.enumerated() {
            let label = row == 0 ? yLabel(yr.1) : (row == body.count - 1 ? yLabel(yr.0) : "")
            lines.append(label.leftPadded(8) + " ┤" + line)
        }
        lines.append(String(repeating: " ", count: 9) + "└" + String(repeating: "─", count: braille.columns))
        let left = compact(xr.0), right = compact(xr.1)
        lines.append(String(repeating: " ", count: 10) + left
                     + String(repeating: " ", count: max(1, braille.columns - left.count - right.count)) + right
                     + (xLabel.isEmpty ? "" : "  " + xLabel))
        let legend = series.indices.map { BrailleCanvas.mark($0, colors: colors, palette: series.indices.map(color), dots: "━━") + " " + series[$0].name }
        if series.count > 1 || !(series.first?.name.isEmpty ?? true) { lines.append(String(repeating: " ", count: 10) + legend.joined(separator: "   ")) }
        if logScale { lines.append(String(repeating: " ", count: 10) + "(y on a log scale)") }
        return lines.joined(separator: "\n")
    }
}

/// A value in at most 7 characters, for terminal axes.
func compact(_ v: Double) -> String {
    if v == v.rounded() && abs(v) < 1e4 { return String(Int(v)) }
    if abs(v) >= 1e4 || abs(v) < 1e-2 { return String(format: "%.1e", v) }
    return String(format: abs(v) >= 100 ? "%.0f" : "%.2f", v)
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

/// The axes, ticks, labels and legend shared by line and scatter plots, and the map from data
/// coordinates to pixels.
struct PlotFrame {
    let left: Double, right: Double, top: Double, bottom: Double
    let xRange: (Double, Double), yRange: (Double, Double)
    let title: String, xLabel: String, yLabel: String
    let scale: Int
    /// y is in log₁₀ units: ticks at decades, labelled with their values.
    let logY: Bool

    init(canvas: Canvas, title: String, xLabel: String, yLabel: String, xRange: (Double, Double), yRange: (Double, Double), scale: Int,
         logY: Bool = false) {
        (self.title, self.xLabel, self.yLabel, self.xRange, self.yRange, self.scale, self.logY) = (title, xLabel, yLabel, xRange, yRange, scale, logY)
        let s = Double(scale)
        left = 42 * s
        right = Double(canvas.width) - 14 * s
        top = (title.isEmpty ? 8 : 20) * s + (yLabel.isEmpty ? 0 : 12 * s)
        bottom = Double(canvas.height) - (xLabel.isEmpty ? 16 : 28) * s
    }

    func map(_ p: (Double, Double)) -> (Double, Double) {
        (left + position(p.0, in: xRange) * (right - left), bottom - position(p.1, in: yRange) * (bottom - top))
    }

    func drawAxes(on canvas: inout Canvas) {
        let s = scale
        let xTicks = ticks(xRange.0, xRange.1), yTicks = logY ? logTicks(yRange.0, yRange.1) : ticks(yRange.0, yRange.1)
        let xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1, yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1
        for t in yTicks {
            let y = map((xRange.0, t)).1
            canvas.fillRect(x: Int(left), y: Int(y), width: Int(right - left), height: 1, .lightGray)
            let label = logY ? logTickLabel(t) : tickLabel(t, step: yStep)
            canvas.text(label, x: Int(left) - 4 * s - Canvas.textWidth(label, scale: s), y: Int(y) - 3 * s, .black, scale: s)
        }
        for t in xTicks {
            let x = map((t, yRange.0)).0
            canvas.fillRect(x: Int(x), y: Int(top), width: 1, height: Int(bottom - top), .lightGray)
            let label = tickLabel(t, step: xStep)
            canvas.text(label, x: Int(x) - Canvas.textWidth(label, scale: s) / 2, y: Int(bottom) + 4 * s, .black, scale: s)
        }
        // Axes as crisp rectangles, one pixel per scale step thick.
        canvas.fillRect(x: Int(left) - s, y: Int(bottom), width: Int(right - left) + s, height: s, .black)
        canvas.fillRect(x: Int(left) - s, y: Int(top), width: s, height: Int(bottom - top) + s, .black)
        if !title.isEmpty {
            canvas.text(title, x: (canvas.width - Canvas.textWidth(title, scale: s)) / 2, y: 5 * s, .black, scale: s)
        }
        if !xLabel.isEmpty {
            canvas.text(xLabel, x: Int((left + right) / 2) - Canvas.textWidth(xLabel, scale: s) / 2, y: canvas.height - 10 * s, .black, scale: s)
        }
        if !yLabel.isEmpty {
            // Horizontal, above the y axis: readable without turning one's head.
            canvas.text(yLabel, x: max(2 * s, Int(left) - Canvas.textWidth(yLabel, scale: s) / 2), y: Int(top) - 12 * s, .black, scale: s)
        }
    }

    /// The legend, in whichever inside corner covers the fewest of `points` (pixel positions).
    func drawLegend(_ entries: [(String, RGB)], avoiding points: [(Double, Double)] = [], on canvas: inout Canvas) {
        let named = entries.filter { !$0.0.isEmpty }
        guard !named.isEmpty else { return }
        let s = scale
        let width = (named.map { Canvas.textWidth($0.0, scale: s) }.max() ?? 0) + 22 * s
        let height = named.count * 11 * s + 4 * s
        let corners = [(Int(right) - width - 6 * s, Int(top) + 6 * s), (Int(right) - width - 6 * s, Int(bottom) - height - 6 * s),
                       (Int(left) + 6 * s, Int(bottom) - height - 6 * s), (Int(left) + 6 * s, Int(top) + 6 * s)]
        func covered(_ corner: (Int, Int)) -> Int {
            points.filter { Double(corner.0) <= $0.0 && $0.0 <= Double(corner.0 + width) && Double(corner.1) <= $0.1 && $0.1 <= Double(corner.1 + height) }.count
        }
        let (x, y0) = corners.min { covered($0) < covered($1) } ?? corners[0]
        canvas.fillRect(x: x, y: y0, width: width, height: height, .white)
        for (i, (name, color)) in named.enumerated() {
            let y = y0 + 3 * s + i * 11 * s
            canvas.line(Double(x + 3 * s), Double(y + 4 * s), Double(x + 15 * s), Double(y + 4 * s), color, thickness: Double(s) * 1.5)
            canvas.text(name, x: x + 19 * s, y: y + s, .black, scale: s)
        }
    }
}

/// Points of several series over an optional heat map of values on a grid (the toy WGAN-GP
/// lesson: real and generated samples over the critic's values).
public struct ScatterPlot {
    public var title: String
    public var series: [(name: String, points: [(Double, Double)], color: RGB?)]
    /// Values on a regular grid over `xRange` × `yRange`, row 0 at the bottom.
    public var heatmap: [[Double]]?
    public var xRange: (Double, Double)
    public var yRange: (Double, Double)

    public init(title: String = "", series: [(name: String, points: [(Double, Double)], color: RGB?)], heatmap: [[Double]]? = nil,
                xRange: (Double, Double)? = nil, yRange: (Double, Double)? = nil) {
        self.title = title
        self.series = series
        self.heatmap = heatmap
        self.xRange = xRange ?? extent(series.flatMap { $0.points.map(\.0) })
        self.yRange = yRange ?? extent(series.flatMap { $0.points.map(\.1) })
    }

    func color(_ i: Int) -> RGB { series[i].color ?? RGB.palette[i % RGB.palette.count] }

    public func render(width: Int = 560, height: Int = 560, scale: Int = 2) -> Canvas {
        var canvas = Canvas(width: width, height: height)
        let frame = PlotFrame(canvas: canvas, title: title, xLabel: "", yLabel: "", xRange: xRange, yRange: yRange, scale: scale)
        if let heatmap, let first = heatmap.first, !first.isEmpty {
            let values = heatmap.flatMap { $0 }.filter(\.isFinite)
            let (low, high) = (values.min() ?? 0, values.max() ?? 1)
            for y in Int(frame.top)..<Int(frame.bottom) {
                for x in Int(frame.left)..<Int(frame.right) {
                    let u = (Double(x) - frame.left) / (frame.right - frame.left)
                    let v = (frame.bottom - Double(y)) / (frame.bottom - frame.top)
                    let row = min(heatmap.count - 1, Int(v * Double(heatmap.count)))
                    let column = min(first.count - 1, Int(u * Double(first.count)))
                    let value = heatmap[row][min(column, heatmap[row].count - 1)]
                    canvas.blend(x, y, heatColor(high > low ? (value - low) / (high - low) : 0.5))
                }
            }
        }
        frame.drawAxes(on: &canvas)
        for (i, s) in series.enumerated() {
            for p in s.points where p.0.isFinite && p.1.isFinite {
                let (x, y) = frame.map(p)
                canvas.disc(x, y, radius: 1.6 * Double(scale), color(i), alpha: 0.85)
            }
        }
        frame.drawLegend(series.indices.map { (series[$0].name, color($0)) }, on: &canvas)
        return canvas
    }

    public func save(to path: String, width: Int = 560, height: Int = 560) throws {
        try render(width: width, height: height).save(to: path)
    }

    /// The points in Braille dots, one colour per series where the terminal has colour.
    public func terminal(width: Int = 60, height: Int = 24, colors: ColorMode = .detect()) -> String {
        var braille = BrailleCanvas(columns: width, rows: height)
        for (i, s) in series.enumerated() {
            for p in s.points {
                braille.set(braille.dot(x: position(p.0, in: xRange), y: position(p.1, in: yRange)), series: i)
            }
        }
        var lines = title.isEmpty ? [] : [title]
        lines += braille.render(colors: colors, palette: series.indices.map(color))
        lines.append(series.indices.map { BrailleCanvas.mark($0, colors: colors, palette: series.indices.map(color), dots: "⣿") + " " + series[$0].name }
            .joined(separator: "   "))
        return lines.joined(separator: "\n")
    }
}

/// The rows of an `[N, 2]` tensor as (x, y) points.
public func points(_ t: Tensor) -> [(Double, Double)] {
    guard t.rank == 2, t.shape[1] == 2 else { return [] }
    let v = t.scalars
    return (0..<t.shape[0]).map { (Double(v[2 * $0]), Double(v[2 * $0 + 1])) }
}

/// A perceptually ordered colour map from dark blue through teal to yellow (viridis-like).
func heatColor(_ t: Double) -> RGB {
    let stops = [RGB(68, 1, 84), RGB(59, 82, 139), RGB(33, 145, 140), RGB(94, 201, 98), RGB(253, 231, 37)]
    let x = min(max(t, 0), 1) * Double(stops.count - 1)
    let i = min(Int(x), stops.count - 2)
    return stops[i].mixed(with: stops[i + 1], x - Double(i))
}

/// A grid of Braille characters, each 2 dots wide and 4 high, remembering how many dots each
/// series drew in each character.
struct BrailleCanvas {
    let columns: Int, rows: Int
    var bits: [UInt8]
    /// Dots drawn per character and series.
    var counts: [[Int]]

    init(columns: Int, rows: Int) {
        (self.columns, self.rows) = (max(columns, 1), max(rows, 1))
        bits = [UInt8](repeating: 0, count: self.columns * self.rows)
        counts = [[Int]](repeating: [], count: self.columns * self.rows)
    }

    /// The dot for a point in the unit square (y up).
    func dot(x: Double, y: Double) -> (Int, Int) {
        guard x.isFinite, y.isFinite else { return (-1, -1) }   // set() draws nothing there
        let dx = Int((min(max(x, 0), 1) * Double(2 * columns - 1)).rounded())
        let dy = Int(((1 - min(max(y, 0), 1)) * Double(4 * rows - 1)).rounded())
        return (dx, dy)
    }

    mutating func set(_ d: (Int, Int), series: Int) {
        let (x, y) = d
        guard x >= 0, y >= 0, x < 2 * columns, y < 4 * rows, series >= 0 else { return }
        // Unicode Braille: dots 1-2-3-7 down the left column, 4-5-6-8 down the right.
        let bit: [[UInt8]] = [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]]
        let cell = (y / 4) * columns + x / 2
        bits[cell] |= bit[y % 4][x % 2]
        if counts[cell].count <= series { counts[cell] += [Int](repeating: 0, count: series + 1 - counts[cell].count) }
        counts[cell][series] += 1
    }

    mutating func line(_ a: (Int, Int), _ b: (Int, Int), series: Int) {
        let steps = max(abs(b.0 - a.0), abs(b.1 - a.1), 1)
        for i in 0...steps {
            let t = Double(i) / Double(steps)
            set((Int((Double(a.0) + t * Double(b.0 - a.0)).rounded()), Int((Double(a.1) + t * Double(b.1 - a.1)).rounded())), series: series)
        }
    }

    /// Which series a character shows: the one with the most dots in it, so a dense cluster
    /// (the real modes) is not painted over by a few stray points of another series; on a tie,
    /// the series drawn later.
    func owner(_ cell: Int) -> Int? {
        counts[cell].indices.max { (counts[cell][$0], $0) < (counts[cell][$1], $1) }
    }

    /// How series `i` looks: Braille dots in its colour, or, without colour, a mark of its own
    /// for every series after the first, so that two sets of points never look alike.
    static func mark(_ i: Int, colors: ColorMode, palette: [RGB], dots: String) -> String {
        if colors == .ascii && i > 0 { return ["•", "×", "+", "◦", "*"][(i - 1) % 5] }
        return i < palette.count ? colors.paint(dots, palette[i]) : dots
    }

    func render(colors: ColorMode, palette: [RGB]) -> [String] {
        (0..<rows).map { row in
            (0..<columns).map { column -> String in
                let cell = row * columns + column
                guard bits[cell] != 0 else { return " " }
                let character = UnicodeScalar(0x2800 + UInt32(bits[cell])).map { String(Character($0)) } ?? "?"
                return owner(cell).map { BrailleCanvas.mark($0, colors: colors, palette: palette, dots: character) } ?? character
            }.joined()
        }
    }
}
