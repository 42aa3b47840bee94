import Engine
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An sRGB colour.
public struct RGB: Hashable, Sendable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { (self.r, self.g, self.b) = (r, g, b) }

    public static let white = RGB(255, 255, 255), black = RGB(0, 0, 0)
    public static let gray = RGB(128, 128, 128), lightGray = RGB(225, 225, 225)
    /// Matplotlib's "tab10" colours, in order: distinct and readable on white and on a projector.
    public static let palette = [RGB(31, 119, 180), RGB(255, 127, 14), RGB(44, 160, 44), RGB(214, 39, 40),
                                 RGB(148, 103, 189), RGB(140, 86, 75), RGB(227, 119, 194), RGB(127, 127, 127),
                                 RGB(188, 189, 34), RGB(23, 190, 207)]

    /// (1 − t)·self + t·other
    func mixed(with other: RGB, _ t: Double) -> RGB {
        func mix(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) * (1 - t) + Double(b) * t).rounded()) }
        return RGB(mix(r, other.r), mix(g, other.g), mix(b, other.b))
    }
}

/// An RGB raster to draw plots on, with anti-aliased lines and the built-in font.
public struct Canvas {
    public let width: Int, height: Int
    var pixels: [RGB]

    public init(width: Int, height: Int, background: RGB = .white) {
        (self.width, self.height) = (max(width, 1), max(height, 1))
        pixels = [RGB](repeating: background, count: self.width * self.height)
    }

    public subscript(x: Int, y: Int) -> RGB {
        get { pixels[y * width + x] }
        set { pixels[y * width + x] = newValue }
    }

    /// Blends `color` into pixel (x, y) with coverage `alpha`; outside the canvas does nothing.
    mutating func blend(_ x: Int, _ y: Int, _ color: RGB, _ alpha: Double = 1) {
        guard x >= 0, y >= 0, x < width, y < height, alpha > 0 else { return }
        self[x, y] = alpha >= 1 ? color : self[x, y].mixed(with: color, alpha)
    }

    public mutating func fillRect(x: Int, y: Int, width w: Int, height h: Int, _ color: RGB) {
        for yy in max(0, y)..<max(max(0, y), min(height, y + h)) {
            for xx in max(0, x)..<max(max(0, x), min(width, x + w)) { self[xx, yy] = color }
        }
    }

    /// A line of the given thickness, anti-aliased: each pixel is covered by its distance to
    /// the segment.
    public mutating func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, _ color: RGB, thickness: Double = 1.5) {
        let r = thickness / 2
        // Only the part over the canvas is drawn (a point of a diverged run can map far outside).
        guard let ((x0, y0), (x1, y1)) = clipped((x0, y0), (x1, y1), margin: r + 2) else { return }
        let (minX, maxX) = (Int((min(x0, x1) - r - 1).rounded(.down)), Int((max(x0, x1) + r + 1).rounded(.up)))
        let (minY, maxY) = (Int((min(y0, y1) - r - 1).rounded(.down)), Int((max(y0, y1) + r + 1).rounded(.up)))
        let (dx, dy) = (x1 - x0, y1 - y0)
        let lengthSquared = max(dx * dx + dy * dy, 1e-12)
        for y in max(0, minY)...max(0, min(height - 1, maxY)) where y < height {
            for x in max(0, minX)...max(0, min(width - 1, maxX)) where x < width {
                let (px, py) = (Double(x) + 0.5, Double(y) + 0.5)
                let t = min(1, max(0, ((px - x0) * dx + (py - y0) * dy) / lengthSquared))
                let distance = hypot(px - (x0 + t * dx), py - (y0 + t * dy))
                blend(x, y, color, min(1, max(0, r + 0.5 - distance)))
            }
        }
    }

    /// A filled disc, anti-aliased at its edge.
    public mutating func disc(_ cx: Double, _ cy: Double, radius: Double, _ color: RGB, alpha: Double = 1) {
        guard cx.isFinite, cy.isFinite, radius.isFinite, cx + radius + 1 >= 0, cy + radius + 1 >= 0,
              cx - radius - 1 < Double(width), cy - radius - 1 < Double(height) else { return }
        for y in Int(cy - radius - 1)...Int(cy + radius + 1) {
            for x in Int(cx - radius - 1)...Int(cx + radius + 1) {
                let distance = hypot(Double(x) + 0.5 - cx, Double(y) + 0.5 - cy)
                blend(x, y, color, alpha * min(1, max(0, radius + 0.5 - distance)))
            }
        }
    }

    /// The part of the segment from `a` to `b` inside the canvas widened by `margin` on every
    /// side, or nil when none is, or an end is not finite. Cohen–Sutherland: an end outside is
    /// moved along the line onto the side it is beyond, which sets that coordinate exactly
    /// (a parametric clip loses the canvas in the rounding of ends at ±1e300).
    func clipped(_ a: (Double, Double), _ b: (Double, Double), margin: Double) -> ((Double, Double), (Double, Double))? {
        guard a.0.isFinite, a.1.isFinite, b.0.isFinite, b.1.isFinite else { return nil }
        let (low, high) = ((-margin, -margin), (Double(width) + margin, Double(height) + margin))
        func outside(_ p: (Double, Double)) -> (left: Bool, right: Bool, top: Bool, bottom: Bool) {
            (p.0 < low.0, p.0 > high.0, p.1 < low.1, p.1 > high.1)
        }
        var (a, b) = (a, b)
        for _ in 0..<8 {
            let (oa, ob) = (outside(a), outside(b))
            if (oa.left && ob.left) || (oa.right && ob.right) || (oa.top && ob.top) || (oa.bottom && ob.bottom) { return nil }
            let moveA = oa.left || oa.right || oa.top || oa.bottom
            guard moveA || ob.left || ob.right || ob.top || ob.bottom else { return (a, b) }
            let (p, q, o) = moveA ? (a, b, oa) : (b, a, ob)
            var moved = p
            if o.left || o.right {
                let x = o.left ? low.0 : high.0
                moved = (x, p.1 + (q.1 - p.1) * ((x - p.0) / (q.0 - p.0)))
            } else {
                let y = o.top ? low.1 : high.1
                moved = (p.0 + (q.0 - p.0) * ((y - p.1) / (q.1 - p.1)), y)
            }
            if moveA { a = moved } else { b = moved }
        }
        return (a, b)
    }

    /// Text in the 5×7 font with its top-left corner at (x, y); `scale` enlarges each dot.
    public mutating func text(_ string: String, x: Int, y: Int, _ color: RGB, scale: Int = 1) {
        var cursor = x
        for character in string {
            let rows = Font.glyph(character)
            for (row, line) in rows.enumerated() {
                for (column, dot) in line.enumerated() where dot == "#" {
                    fillRect(x: cursor + column * scale, y: y + row * scale, width: scale, height: scale, color)
                }
            }
            if Font.hasHat(character) {
                // A circumflex one dot above the letter's top ink.
                let top = (rows.firstIndex { $0.contains("#") } ?? 0) - 2
                for (dx, dy) in [(1, 1), (2, 0), (3, 1)] {
                    fillRect(x: cursor + dx * scale, y: y + (top + dy) * scale, width: scale, height: scale, color)
                }
            }
            cursor += Font.advance * scale
        }
    }

    /// The width of `string` in pixels at `scale`.
    public static func textWidth(_ string: String, scale: Int = 1) -> Int {
        max(0, string.count * Font.advance - 1) * scale
    }

    /// The canvas as a `[3, H, W]` tensor in [0, 1].
    public func tensor() throws -> Tensor {
        let plane = width * height
        var values = [Float](repeating: 0, count: 3 * plane)
        for (i, p) in pixels.enumerated() {
            values[i] = Float(p.r) / 255
            values[plane + i] = Float(p.g) / 255
            values[2 * plane + i] = Float(p.b) / 255
        }
        return try Tensor(shape: [3, height, width], elements: values)
    }

    public func save(to path: String) throws { try savePNG(tensor(), to: path) }
}

extension Canvas {
    /// Paints an image `[3, H, W]` (or `[1, H, W]`) with values in `range` with its top-left
    /// corner at (x, y); what falls outside the canvas is cut off.
    public mutating func image(_ picture: Tensor, x: Int, y: Int, range: PixelRange = .unit) throws {
        guard picture.rank == 3, picture.shape[0] == 3 || picture.shape[0] == 1 else {
            throw EngineError.shapeMismatch(op: "Canvas.image", shapes: [picture.shape], reason: "needs [3, H, W] or [1, H, W]")
        }
        let (channels, h, w) = (picture.shape[0], picture.shape[1], picture.shape[2])
        let values = picture.scalars
        let byte = range.toByte
        for row in 0..<h where y + row >= 0 && y + row < height {
            for column in 0..<w where x + column >= 0 && x + column < width {
                let i = row * w + column
                let (r, g, b) = channels == 3 ? (values[i], values[h * w + i], values[2 * h * w + i]) : (values[i], values[i], values[i])
                self[x + column, y + row] = RGB(byte(r), byte(g), byte(b))
            }
        }
    }
}
