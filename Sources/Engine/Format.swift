#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How tensors print. The layout and number formatting are NumPy's (`str(array)` with
/// `np.set_printoptions(precision=4)`), so a student comparing with NumPy sees the same text.
public struct PrintOptions: Sendable, Hashable {
    /// Digits after the decimal point, at most (0…12).
    public var precision = 4
    /// Tensors with more elements than this are summarised with `...`.
    public var threshold = 1000
    /// Items kept at each end of a summarised axis.
    public var edgeItems = 3
    public var lineWidth = 75
    /// Appends a line with the shape and element type.
    public var showShape = false
    public init() {}
}

extension Tensor: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { formatted(Runtime.printOptions) }
    public var debugDescription: String { "Tensor(shape: \(shape), " + formatted(Runtime.printOptions) + ")" }

    public func formatted(_ options: PrintOptions) -> String {
        var options = options
        options.precision = Swift.min(Swift.max(options.precision, 0), 12)
        let body = formatArray(options)
        return options.showShape ? body + "\nshape \(shape), float32" : body
    }

    private func formatArray(_ options: PrintOptions) -> String {
        let values = storage.readOnly
        if rank == 0 { return formatScalar(values[0]) }
        if count == 0 { return "[]" }
        let summarise = count > options.threshold
        let edge = options.edgeItems
        // The shown positions along each axis: all, or `edge` at each end.
        let shown: [[Int]] = shape.dims.map { n in
            summarise && n > 2 * edge ? Array(0..<edge) + Array((n - edge)..<n) : Array(0..<n)
        }
        var visible: [Float] = []
        forEachIndex(in: shown) { visible.append(values[$0]) }
        let format = FloatFormat(visible, precision: options.precision)

        let strides = shape.strides
        // NumPy's _formatArray: rows of the last axis wrap at the line width; other axes
        // nest with one more space of indent and blank lines between blocks.
        func recurse(_ axis: Int, _ base: Int, _ indent: String, _ width: Int) -> String {
            if axis == rank { return format.string(values[base]) }
            let n = shape[axis]
            let showSummary = summarise && 2 * edge < n
            let leading = showSummary ? edge : 0
            let trailing = showSummary ? edge : n
            let nextIndent = indent + " "
            let nextWidth = width - 1
            let items = Array(0..<leading) + Array((n - trailing)..<n)
            var s = ""
            if axis == rank - 1 {
                let elementWidth = width - 1
                var line = indent
                func extend(_ word: String) {
                    if line.count + word.count > elementWidth && line.count > indent.count {
                        s += line.trailingSpacesRemoved() + "\n"
                        line = indent
                    }
                    line += word
                }
                for (k, i) in items.enumerated() {
                    if showSummary && k == leading { extend("..."); line += " " }
                    extend(recurse(axis + 1, base + i * strides[axis], nextIndent, nextWidth))
                    if k < items.count - 1 { line += " " }
                }
                s += line
            } else {
                let separator = String(repeating: "\n", count: rank - axis - 1)
                for (k, i) in items.enumerated() {
                    if showSummary && k == leading { s += indent + "..." + separator }
                    s += indent + recurse(axis + 1, base + i * strides[axis], nextIndent, nextWidth)
                    if k < items.count - 1 { s += separator }
                }
            }
            return "[" + s.dropFirst(indent.count) + "]"
        }
        return recurse(0, 0, " ", options.lineWidth)
    }

    /// Calls `body` with the storage offset of each combination of the given positions.
    private func forEachIndex(in positions: [[Int]], _ body: (Int) -> Void) {
        let strides = shape.strides
        func walk(_ axis: Int, _ base: Int) {
            if axis == positions.count { body(base); return }
            for i in positions[axis] { walk(axis + 1, base + i * strides[axis]) }
        }
        walk(0, 0)
    }
}

/// NumPy's FloatingFormat in its default 'maxprec' mode: every element shows at most
/// `precision` fractional digits (fewer when the shortest exact-enough form is shorter),
/// aligned on the decimal point; scientific notation when the finite non-zero magnitudes
/// span more than 10³, or reach below 10⁻⁴ or 10⁸ and above.
struct FloatFormat {
    let scientific: Bool
    var padLeft = 0, padRight = 0
    var precision: Int
    var exponentDigits = 0

    init(_ values: [Float], precision: Int) {
        self.precision = precision
        let finite = values.filter(\.isFinite)
        let magnitudes = finite.filter { $0 != 0 }.map(Swift.abs)
        if let largest = magnitudes.max(), let smallest = magnitudes.min() {
            scientific = largest >= 1e8 || smallest < 1e-4 || largest / smallest > 1e3
        } else {
            scientific = false
        }
        if !finite.isEmpty {
            if scientific {
                let parts = finite.map { scientificParts($0, precision: precision) }
                self.precision = parts.map(\.fraction.count).max() ?? 0
                exponentDigits = parts.map { $0.exponent.count - 1 }.max() ?? 2
                padLeft = parts.map(\.integer.count).max() ?? 1
                padRight = exponentDigits + 2 + self.precision
            } else {
                let parts = finite.map { positionalParts($0, precision: precision) }
                padLeft = parts.map(\.integer.count).max() ?? 1
                padRight = parts.map(\.fraction.count).max() ?? 0
            }
        }
        if finite.count != values.count {
            let negativeInfinity = values.contains { $0.isInfinite && $0 < 0 }
            let offset = padRight + 1
            padLeft = Swift.max(padLeft, 3 - offset, 3 + (negativeInfinity ? 1 : 0) - offset)
        }
    }

    func string(_ x: Float) -> String {
        guard x.isFinite else {
            let word = x.isNaN ? "nan" : (x < 0 ? "-inf" : "inf")
            return word.leftPadded(to: padLeft + padRight + 1)
        }
        if scientific {
            let p = scientificParts(x, precision: precision, minDigits: precision)
            let sign = p.exponent.first == "-" ? "-" : "+"
            let digits = String(p.exponent.dropFirst()).leftPadded(to: exponentDigits, with: "0")
            return p.integer.leftPadded(to: padLeft) + "." + p.fraction + "e" + sign + digits
        }
        let p = positionalParts(x, precision: precision)
        return p.integer.leftPadded(to: padLeft) + "." + p.fraction.rightPadded(to: padRight)
    }
}

/// The shortest decimal digits that read back as `x` (Swift's description gives them),
/// with the position of the decimal point: x = 0.d₁d₂… × 10^point.
func shortestDigits(_ x: Float) -> (negative: Bool, digits: [Character], point: Int) {
    let text = Swift.abs(x).description
    let (mantissa, exponent) = text.split(separator: "e").map(String.init).splitFirstTwo()
    let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    let integer = parts[0], fraction = parts.count > 1 ? parts[1] : ""
    var digits = Array(integer + fraction)
    var point = integer.count + (Int(exponent ?? "0") ?? 0)
    while digits.count > 1 && digits.first == "0" { digits.removeFirst(); point -= 1 }
    while digits.count > 1 && digits.last == "0" { digits.removeLast() }
    if digits == ["0"] { point = 1 }
    return (x.sign == .minus, digits, point)
}

/// Integer and fractional digits of x in positional notation with at most `precision`
/// fractional digits, trailing zeros dropped: the shortest form when it fits, otherwise
/// x correctly rounded (ties to even, as NumPy's Dragon4).
func positionalParts(_ x: Float, precision: Int) -> (integer: String, fraction: String) {
    let (negative, digits, point) = shortestDigits(x)
    let sign = negative ? "-" : ""
    if digits.count - point <= precision {
        let integer = point <= 0 ? "0" : String(digits.prefix(point)) + String(repeating: "0", count: Swift.max(0, point - digits.count))
        let fraction = point >= digits.count ? "" : String(repeating: "0", count: Swift.max(0, -point)) + String(digits.dropFirst(Swift.max(point, 0)))
        return (sign + integer, fraction == "0" ? "" : fraction)
    }
    let text = cFormat(Double(Swift.abs(x)), "%.\(precision)f")
    let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    return (sign + parts[0], (parts.count > 1 ? parts[1] : "").trailingZerosRemoved())
}

/// Mantissa integer digit (with sign), fractional digits and exponent ("-05") of x in
/// scientific notation, shortest or correctly rounded to `precision` digits, padded with
/// zeros to `minDigits`.
func scientificParts(_ x: Float, precision: Int, minDigits: Int = 0) -> (integer: String, fraction: String, exponent: String) {
    let (negative, digits, point) = shortestDigits(x)
    let sign = negative ? "-" : ""
    var integer: String, fraction: String, exponent: Int
    if digits.count - 1 <= precision {
        integer = String(digits[0])
        fraction = String(digits.dropFirst())
        exponent = digits == ["0"] ? 0 : point - 1
    } else {
        let text = cFormat(Double(Swift.abs(x)), "%.\(precision)e")
        let (mantissa, e) = text.split(separator: "e").map(String.init).splitFirstTwo()
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        integer = parts[0]
        fraction = (parts.count > 1 ? parts[1] : "").trailingZerosRemoved()
        exponent = Int(e ?? "0") ?? 0
    }
    if fraction.count < minDigits { fraction += String(repeating: "0", count: minDigits - fraction.count) }
    let e = String(Swift.abs(exponent)).leftPadded(to: 2, with: "0")
    return (sign + integer, fraction, (exponent < 0 ? "-" : "+") + e)
}

/// A rank-0 tensor prints as NumPy prints a float32 scalar: the shortest form, positional
/// for 10⁻⁴ ≤ |x| < 10⁶, scientific otherwise.
func formatScalar(_ x: Float) -> String {
    guard x.isFinite else { return x.isNaN ? "nan" : (x < 0 ? "-inf" : "inf") }
    let magnitude = Double(Swift.abs(x))
    if magnitude == 0 || (magnitude >= 1e-4 && magnitude < 1e6) {
        let p = positionalParts(x, precision: 12)
        return p.integer + "." + (p.fraction.isEmpty ? "0" : p.fraction)
    }
    let p = scientificParts(x, precision: 12)
    return p.integer + (p.fraction.isEmpty ? "" : "." + p.fraction) + "e" + p.exponent
}

private func cFormat(_ value: Double, _ format: String) -> String {
    var buffer = [CChar](repeating: 0, count: 512)
    _ = withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

private extension Array where Element == String {
    func splitFirstTwo() -> (String, String?) { (self[0], count > 1 ? self[1] : nil) }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = " ") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
    func rightPadded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
    func trailingZerosRemoved() -> String {
        var s = self
        while s.last == "0" { s.removeLast() }
        return s
    }
    func trailingSpacesRemoved() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
