import CEditLine
import Foundation
import Notebook
import Preview
#if canImport(Glibc)
import Glibc
#endif

/// Long text on a terminal a screenful at a time, and one-key questions: a projector's 24
/// rows hold a slide only if what does not fit waits for a key.
public final class Pager {
    let rows: () -> Int
    let columns: () -> Int
    let color: Bool
    /// Lines of a running cell's output on the screen since the last question.
    var linesShown = 0
    /// The reader answered q to a question about this cell's output: the rest goes through.
    var unpaged = false

    public init(color: Bool, rows: @escaping () -> Int = { terminalRows() }, columns: @escaping () -> Int = { terminalColumns() }) {
        (self.color, self.rows, self.columns) = (color, rows, columns)
    }

    /// Lines fit on a screen with a row for the question below them (and `reserved` more).
    func height(reserving reserved: Int = 0) -> Int { max(3, rows() - 1 - reserved) }

    /// Text wrapped at words a column short of the terminal's width: a line as wide as the
    /// terminal wraps on some terminals.
    public func fit(_ text: String) -> String { wrapText(text, width: max(20, columns() - 1)) }

    /// Writes `text` a screenful at a time, keeping `reserved` rows free at the end of each
    /// screen; the lines on the last screen, nil when the reader stopped it (q, Esc or Ctrl-C).
    @discardableResult
    func page(_ text: String, reserving reserved: Int = 0) -> Int? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let screens = Pager.screens(lines: lines.count, height: height(reserving: reserved))
        for (index, screen) in screens.enumerated() {
            write(lines[screen].joined(separator: "\n") + "\n")
            guard index + 1 < screens.count else { return screen.count }
            let next = screens[index + 1]
            guard ask("-- more: lines \(next.lowerBound + 1)–\(next.upperBound) of \(lines.count); Space shows them, q stops --") else { return nil }
        }
        return 0
    }

    /// The lines of each screen when `lines` lines are shown `height` at a time. A last screen
    /// of one line is not worth a question: it joins the one before (the question's row holds it).
    static func screens(lines: Int, height: Int) -> [Range<Int>] {
        var screens: [Range<Int>] = []
        var start = 0
        while start < lines {
            let end = lines - start <= height + 1 ? lines : start + height
            screens.append(start..<end)
            start = end
        }
        return screens
    }

    /// A cell's output is about to start below its slide, `lines` of which are on the screen.
    func startOutput(below lines: Int) {
        (linesShown, unpaged) = (lines, false)
    }

    /// Output of a running cell: wrapped at words, and a question before a line that would
    /// push the first line on the screen out of sight. q lets the rest through; so does Ctrl-C,
    /// whose handler has already asked the cell to stop.
    public func flow(_ text: String) {
        for line in fit(text).split(separator: "\n", omittingEmptySubsequences: false) {
            if !unpaged && linesShown >= height() {
                if askForKey("-- more output: Space shows it, q shows the rest without stopping --") != true { unpaged = true }
                linesShown = 0
            }
            write(line + "\n")
            linesShown += 1
        }
    }

    /// A live display's picture (redrawn while a cell runs): written without a question, and
    /// the screen counted from it, so that text after it pages from there.
    public func stream(_ text: String) {
        let lines = fit(text).split(separator: "\n", omittingEmptySubsequences: false)
        write(lines.joined(separator: "\n") + "\n")
        linesShown = min(lines.count, height())
    }

    /// Shows `question` on one line and waits for a key: true for Enter or Space, false for
    /// q or Esc, nil for Ctrl-C or the end of input. The line is erased after the answer.
    func askForKey(_ question: String) -> Bool? {
        // Keys typed before the question appeared (Enter pressed twice) do not answer it.
        tcflush(0, TCIFLUSH)
        write(color ? "\u{1B}[7m" + question + "\u{1B}[0m" : question)
        defer { write("\r\u{1B}[2K") }
        while true {
            guard let key = readKey() else { return nil }
            switch key {
            case 10, 13, 32: return true
            case 27, UInt8(ascii: "q"), UInt8(ascii: "Q"): return false
            default: continue
            }
        }
    }

    /// A question asked between cells: true to go on; a Ctrl-C only answers it.
    func ask(_ question: String) -> Bool {
        guard let answer = askForKey(question) else {
            sharedInterrupt.clear()
            return false
        }
        return answer
    }

    func clearScreen() { write("\u{1B}[H\u{1B}[2J") }

    private func write(_ text: String) {
        print(text, terminator: "")
        fflush(nl_stdout())
    }
}

/// One key from the terminal, unechoed, without waiting for Enter; nil on Ctrl-C (the read is
/// interrupted: the handler has no SA_RESTART) or at the end of input.
func readKey() -> UInt8? {
    var saved = termios()
    guard tcgetattr(0, &saved) == 0 else { return nil }
    var raw = saved
    raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
    withUnsafeMutableBytes(of: &raw.c_cc) { cc in
        cc[Int(VMIN)] = 1
        cc[Int(VTIME)] = 0
    }
    tcsetattr(0, TCSANOW, &raw)
    defer { tcsetattr(0, TCSANOW, &saved) }
    var key: UInt8 = 0
    return read(0, &key, 1) == 1 ? key : nil
}
