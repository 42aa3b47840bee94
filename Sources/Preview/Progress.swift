import Dispatch
import Foundation

/// How far a long computation has come, as tqdm shows it:
/// `train sn: 42%|████▍     | 420/1000 [01:10<01:37, 5.98it/s, W=0.87, gp=0.123]`.
public struct ProgressBar: Sendable {
    public var label: String
    public var done: Int
    public var total: Int
    /// Seconds since the computation started.
    public var elapsed: Double
    /// Named numbers shown after the rate (losses), in order.
    public var values: [Value]

    public struct Value: Sendable {
        public var name: String
        public var value: Double
        public init(_ name: String, _ value: Double) { (self.name, self.value) = (name, value) }
    }

    public init(label: String, done: Int, total: Int, elapsed: Double, values: [Value] = []) {
        (self.label, self.done, self.total, self.elapsed, self.values) = (label, done, total, elapsed, values)
    }

    /// Items per second so far; nil before the first is done.
    public var rate: Double? { done > 0 && elapsed > 0 ? Double(done) / elapsed : nil }

    /// The fraction done, 0…1.
    public var fraction: Double { total > 0 ? min(1, max(0, Double(done) / Double(total))) : 0 }

    /// The line, at most `width` characters when a width is given. What does not fit goes in
    /// this order: the bar shrinks and then goes, then the rate, the time spent and the label;
    /// the counts, the time left and the values stay (cut only when nothing else is left).
    /// Without `bar`, the line leaves the bar out, for a front end that draws its own.
    public func line(width: Int? = nil, bar showBar: Bool = true) -> String {
        let percent = "\(Int(fraction * 100))%"
        let counts = total > 0 ? "\(done)/\(total)" : "\(done)"
        let left = rate.map { total > 0 ? clock(Double(max(0, total - done)) / $0) : "?" } ?? "?"
        let speed = rate.map { $0 >= 1 ? String(format: "%.2fit/s", $0) : String(format: "%.2fs/it", 1 / $0) } ?? "?it/s"
        let numbers = values.map { "\($0.name)=\(compactNumber($0.value))" }
        func layout(bar: Int?, rate showRate: Bool = true, elapsed showElapsed: Bool = true, label showLabel: Bool = true) -> String {
            let head = (showLabel && !label.isEmpty ? label + ": " : "") + percent
            let times = (showElapsed ? clock(elapsed) : "") + "<" + left
            let tail = "[" + ([times] + (showRate ? [speed] : []) + numbers).joined(separator: ", ") + "]"
            guard let bar else { return "\(head) \(counts) \(tail)" }
            return "\(head)|\(blocks(fraction, width: bar))| \(counts) \(tail)"
        }
        guard let width else { return layout(bar: showBar ? 20 : nil) }
        let room = width - layout(bar: 0).count
        if showBar && room >= 6 { return layout(bar: min(room, 50)) }
        let shorter = [layout(bar: nil), layout(bar: nil, rate: false), layout(bar: nil, rate: false, elapsed: false),
                       layout(bar: nil, rate: false, elapsed: false, label: false)]
        return shorter.first { $0.count <= width } ?? String(shorter[shorter.count - 1].prefix(max(0, width)))
    }
}

/// `mm:ss`, or `h:mm:ss` past an hour (tqdm's format).
func clock(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "?" }
    let s = Int(seconds.rounded(.down))
    return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%02d:%02d", s / 60, s % 60)
}

/// Three significant digits, without trailing zeros: 0.870 → 0.87, 1234.5 → 1.23e+03.
func compactNumber(_ value: Double) -> String {
    var text = String(format: "%.3g", value)
    if text.contains("."), !text.contains("e") {
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
    }
    return text
}

/// A bar `width` characters wide filled to `fraction`, in eighths of a character.
func blocks(_ fraction: Double, width: Int) -> String {
    let eighths = Int((fraction * Double(width * 8)).rounded(.down))
    let full = min(width, eighths / 8)
    let partial = full < width && eighths % 8 > 0 ? String(Array(" ▏▎▍▌▋▊▉")[eighths % 8]) : ""
    return String(repeating: "█", count: full) + partial + String(repeating: " ", count: width - full - partial.count)
}

/// A progress line on standard error. On a terminal it is redrawn in place at most ten times
/// a second, fitted to the terminal's width so that it never wraps (a wrapped line cannot be
/// redrawn with `\r`); elsewhere (a pipe, a log file) it is a plain line every few seconds.
public final class ProgressLine: @unchecked Sendable {
    let terminal: Bool
    let columns: () -> Int
    let write: (String) -> Void
    let interval: UInt64
    let lock = NSLock()
    /// The state last given, when was it drawn, and whether it stands on the screen now.
    var latest: ProgressBar?
    var lastDraw: UInt64 = 0
    var onScreen = false
    /// Plain lines written for the current computation.
    var plainLines = 0

    public init(terminal: Bool = isatty(STDERR_FILENO) == 1, columns: @escaping () -> Int = { terminalColumns() },
                write: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        (self.terminal, self.columns, self.write) = (terminal, columns, write)
        interval = terminal ? 100_000_000 : 5_000_000_000
    }

    /// Draws `bar` unless the line was drawn less than an interval ago. On a terminal the first
    /// state is drawn at once; a plain line first appears after an interval, so quick work
    /// leaves no lines behind in a log.
    public func draw(_ bar: ProgressBar) {
        lock.lock(); defer { lock.unlock() }
        let now = DispatchTime.now().uptimeNanoseconds
        if latest == nil { lastDraw = terminal ? 0 : now }
        latest = bar
        guard now - lastDraw >= interval || (terminal && !onScreen) else { return }
        lastDraw = now
        render(bar)
    }

    /// Erases the line (on a terminal) so that other output can take its place; the next
    /// `draw` brings it back below that output.
    public func clear() {
        lock.lock(); defer { lock.unlock() }
        guard terminal, onScreen else { return }
        write("\r\u{1B}[K")
        onScreen = false
    }

    /// Leaves the last state on a line of its own; without a terminal, only when earlier
    /// plain lines were written.
    public func finish() {
        lock.lock(); defer { lock.unlock() }
        defer { (latest, onScreen, plainLines) = (nil, false, 0) }
        guard let bar = latest, terminal || plainLines > 0 else { return }
        render(bar)
        if terminal { write("\n") }
    }

    func render(_ bar: ProgressBar) {
        // Text on standard output goes out first, so that a shared log keeps the order it was made in.
        fflush(nil)
        if terminal {
            write("\r" + bar.line(width: max(10, columns() - 1)) + "\u{1B}[K")
            onScreen = true
        } else {
            write(bar.line() + "\n")
            plainLines += 1
        }
    }
}
