import Foundation

/// A lesson: a Markdown file whose fenced `swift` code blocks are the cells. It renders on any
/// Markdown viewer and diffs cleanly; the prose between cells is shown before each cell.
/// A block opened with ```` ```swift error ```` is a cell that shows a mistake on purpose: it
/// must end in an error (which is shown), and running it without one is a failure.
public struct Lesson: Sendable {
    public struct Cell: Sendable {
        /// The Markdown before this cell (since the previous one).
        public var prose: String
        public var code: String
        /// The file line of the cell's first line of code.
        public var line: Int
        /// Marked `swift error`: the cell shows an error on purpose.
        public var expectsError = false

        /// Whether the cell declares `name` at its top level: a line (not indented, so not a
        /// local of a block) opening with `let name`, `var name` or `func name`.
        public func defines(_ name: String) -> Bool {
            code.split(separator: "\n").contains { line in
                ["let ", "var ", "func "].contains { keyword in
                    guard line.hasPrefix(keyword) else { return false }
                    let rest = line.dropFirst(keyword.count).drop { $0 == " " }
                    guard rest.hasPrefix(name) else { return false }
                    let after = rest.dropFirst(name.count).first
                    return after.map { !($0.isLetter || $0.isNumber || $0 == "_") } ?? true
                }
            }
        }
    }

    public let path: String
    public let text: String
    public let title: String
    /// The line that titles the lesson (`# Lesson 2: …`), if it has one: it is in the prose of
    /// cell 1, and a transcript that starts the lesson further on writes it first.
    public let heading: String?
    public let cells: [Cell]
    /// Prose after the last cell.
    public let epilogue: String

    public init(path: String, text: String) {
        self.path = path
        self.text = text
        var cells: [Cell] = []
        var prose: [String] = []
        var inCell = false
        var code: [String] = []
        var codeLine = 0
        var expectsError = false
        var fence = ""
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if inCell {
                if trimmed == fence {
                    cells.append(Cell(prose: prose.joined(separator: "\n").trimmingCharacters(in: .newlines), code: code.joined(separator: "\n"),
                                      line: codeLine, expectsError: expectsError))
                    prose = []
                    inCell = false
                } else {
                    code.append(String(line))
                }
            } else if let marksError = Lesson.opensCell(trimmed) {
                fence = String(trimmed.prefix { $0 == "`" })
                expectsError = marksError
                inCell = true
                code = []
                codeLine = index + 2
            } else {
                prose.append(String(line))
            }
        }
        self.cells = cells
        self.epilogue = prose.joined(separator: "\n").trimmingCharacters(in: .newlines)
        self.heading = text.split(separator: "\n").first { $0.hasPrefix("# ") }.map(String.init)
        self.title = heading.map { String($0.dropFirst(2)) } ?? path
    }

    /// The number in the file's name (`02-spectral-norm.md` is lesson 2); nil for other names.
    public var number: Int? { Lesson.number(ofFile: path) }

    public static func number(ofFile path: String) -> Int? {
        let name = path.split(separator: "/").last ?? ""
        let digits = name.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, name.dropFirst(digits.count).hasPrefix("-"), name.hasSuffix(".md") else { return nil }
        return Int(digits)
    }

    /// The numbered lesson files in `directory` (`NN-name.md`), in order.
    public static func numberedFiles(in directory: String) -> [(number: Int, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name in number(ofFile: name).map { ($0, directory + "/" + name) } }.sorted { ($0.number, $0.path) < ($1.number, $1.path) }
    }

    /// The lesson numbered after this one in its folder, if there is one: where the end of this
    /// lesson points.
    public var next: Lesson? {
        guard let number else { return nil }
        let directory = path.contains("/") ? String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]) : "."
        guard let file = Lesson.numberedFiles(in: directory).first(where: { $0.number == number + 1 }),
              let text = try? String(contentsOfFile: file.path, encoding: .utf8) else { return nil }
        return Lesson(path: file.path, text: text)
    }

    /// For a fence that opens a cell (```` ```swift ````, ```` ```swift error ````), whether it
    /// marks an error on purpose; nil for any other line.
    static func opensCell(_ line: String) -> Bool? {
        guard line.hasPrefix("```") else { return nil }
        let words = line.drop { $0 == "`" }.split(separator: " ")
        guard let language = words.first, language == "swift" || language == "normlab" else { return nil }
        switch words.dropFirst() {
        case []: return false
        case ["error"]: return true
        default: return nil
        }
    }
}

/// Markdown prose for a terminal: headings emphasised, paragraphs wrapped, lists and code kept.
public func renderProse(_ markdown: String, width: Int, color: Bool) -> String {
    let (bold, underline, dim, reset) = color ? ("\u{1B}[1m", "\u{1B}[4m", "\u{1B}[2m", "\u{1B}[0m") : ("", "", "", "")
    var out: [String] = []
    var paragraph: [String] = []
    var inCode = false
    // **strong** becomes bold on a colour terminal, plain text otherwise.
    func emphasis(_ text: String) -> String {
        text.components(separatedBy: "**").enumerated().map { $0.offset % 2 == 1 ? bold + $0.element + reset : $0.element }.joined()
    }
    var table: [[String]] = []
    func flush() {
        if !table.isEmpty { out += alignedTable(table, color: color); table = [] }
        guard !paragraph.isEmpty else { return }
        out += wrap(paragraph.joined(separator: " "), width: width).map(emphasis)
        paragraph = []
    }
    for raw in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
        let line = String(raw)
        if line.trimmingCharacters(in: .whitespaces).hasPrefix("```") { flush(); inCode.toggle(); continue }
        if inCode { out.append(dim + "    " + line + reset); continue }
        if line.hasPrefix("#") {
            flush()
            let text = line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)
            let level = line.prefix { $0 == "#" }.count
            if !out.isEmpty && out.last != "" { out.append("") }
            out.append(bold + (level == 1 ? underline : "") + text + reset)
            if !color { out.append(String(repeating: level == 1 ? "═" : "─", count: min(width, text.count))) }
        } else if line.trimmingCharacters(in: .whitespaces).isEmpty {
            flush()
            if out.last != "" { out.append("") }
        } else if line.hasPrefix("    ") {
            // Indented text is preformatted in Markdown (the lessons' formulas): shown as written.
            flush()
            out.append(line)
        } else if line.hasPrefix("|") {
            // A Markdown table: its cells, shown as aligned columns once the table ends.
            if !paragraph.isEmpty { flush() }
            let cells = line.trimmingCharacters(in: .whitespaces).dropFirst().split(separator: "|", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            if !cells.allSatisfy({ $0.allSatisfy { $0 == "-" || $0 == ":" } }) { table.append(cells.last == "" ? cells.dropLast() : cells) }
        } else if line.hasPrefix("- ") || line.hasPrefix("* ") || line.first?.isNumber == true && line.contains(". ") {
            flush()
            out += wrap(line, width: width, indent: "  ").map(emphasis)
        } else {
            paragraph.append(line.trimmingCharacters(in: .whitespaces))
        }
    }
    flush()
    while out.last == "" { out.removeLast() }
    return out.joined(separator: "\n")
}

/// How many columns `text` takes on a terminal: its characters, less escape sequences.
func visibleWidth<S: StringProtocol>(_ text: S) -> Int {
    var width = 0, escaping = false
    for c in text {
        if c == "\u{1B}" { escaping = true; continue }
        if escaping { if c.isLetter { escaping = false }; continue }
        width += 1
    }
    return width
}

/// One line broken at spaces, or after a comma that no space follows (`[1,2,3]`), so that no
/// piece is wider than `width` (a word longer than the width stays whole, on a piece of its
/// own); the pieces after the first begin with `continuation` (none when it would take half
/// the width). Escape codes take no width, and spaces inside a piece are kept (code keeps its
/// alignment).
public func wrapLine(_ line: String, width: Int, continuation: String) -> [String] {
    let continuation = visibleWidth(continuation) * 2 <= width ? continuation : ""
    var pieces: [String] = []
    var rest = Substring(line)
    var prefix = ""
    while visibleWidth(prefix) + visibleWidth(rest) > width {
        let available = width - visibleWidth(prefix)
        let indentation = rest.prefix { $0 == " " }.count
        // The last break at which the piece still fits, after the indentation; else the first
        // one after it (the word before it is too long for any piece). A break at a space
        // drops the space; one after a comma keeps the comma on the piece.
        var cut: Substring.Index? = nil
        var columns = 0, escaping = false
        for i in rest.indices {
            let c = rest[i]
            if c == "\u{1B}" { escaping = true } else if escaping { if c.isLetter { escaping = false } } else {
                if c == " " && columns > indentation && (columns <= available || cut == nil) { cut = i }
                columns += 1
                let after = rest.index(after: i)
                if c == "," && after < rest.endIndex && rest[after] != " " && (columns <= available || cut == nil) { cut = after }
                if columns > available && cut != nil { break }
            }
        }
        guard let cut else { break }
        let piece = rest[..<cut]
        pieces.append(prefix + String(piece[..<(piece.lastIndex { $0 != " " }.map(piece.index(after:)) ?? piece.startIndex)]))
        rest = rest[cut...].drop { $0 == " " }
        prefix = continuation
        if rest.isEmpty { return pieces }
    }
    return pieces + [prefix + rest]
}

/// Text for a terminal `width` wide, each line wrapped at words. A continuation lines up under
/// the second column of a two-column line ("  conv2d      2-D convolution…" continues under
/// "2-D"), else two columns in from the line's indentation; a line of an error's source
/// gutter ("  │ hint: …") continues inside the gutter, and the caret under a wrapped source
/// line moves to the row that holds its column.
public func wrapText(_ text: String, width: Int) -> String {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    var out: [String] = []
    var i = 0
    while i < lines.count {
        let line = lines[i]
        defer { i += 1 }
        guard let gutter = gutterContinuation(line) else {
            let indentation = line.prefix { $0 == " " }.count
            var hanging = indentation + 2
            if let gap = line.dropFirst(indentation).range(of: "  "), let next = line[gap.upperBound...].firstIndex(where: { $0 != " " }) {
                let column = visibleWidth(line[..<next])
                if column < width / 2 { hanging = column }
            }
            out += wrapLine(String(line), width: width, continuation: String(repeating: " ", count: hanging))
            continue
        }
        let rows = wrapLine(String(line), width: width, continuation: gutter)
        guard rows.count > 1, i + 1 < lines.count, let caret = caretRow(lines[i + 1], under: line, wrappedAs: rows) else {
            out += rows
            continue
        }
        out += rows[...caret.row] + [caret.line] + rows[(caret.row + 1)...]
        i += 1
    }
    return out.joined(separator: "\n")
}

/// The caret line of a rendered error ("   │    ^~~") placed under the row of `wrapped` (the
/// source line `source` broken into rows) that holds its column: which row, and the line
/// with the caret at its column there. Nil when `line` is not a caret line.
func caretRow<S: StringProtocol>(_ line: S, under source: S, wrappedAs wrapped: [String]) -> (row: Int, line: String)? {
    let plain = { (text: String) in Array(stripEscapes(text)) }
    let caretLine = plain(String(line)), original = plain(String(source))
    guard let bar = caretLine.firstIndex(of: "│"), let column = caretLine.firstIndex(where: { $0 == "^" }),
          caretLine[(bar + 1)..<column].allSatisfy({ $0 == " " }) else { return nil }
    // Where each row's text starts in the source line: the first row at 0, each next one at the
    // first character after the previous row's text that the break did not drop.
    var starts: [Int] = [], prefixes: [Int] = [], position = 0
    for (k, row) in wrapped.enumerated() {
        let text = plain(row), prefix = k == 0 ? 0 : plain(gutterContinuation(source) ?? "").count
        while k > 0 && position < original.count && original[position] == " " { position += 1 }
        starts.append(k == 0 ? 0 : position)
        prefixes.append(prefix)
        position = (k == 0 ? 0 : position) + text.count - prefix
    }
    let row = (starts.lastIndex { $0 <= column }) ?? 0
    let at = prefixes[row] + column - starts[row]
    // The line's own text, escape codes kept: its gutter (through "│" and the codes right after
    // it), then the caret run from the codes right before its "^".
    let text = String(line)
    guard let barIndex = text.firstIndex(of: "│"), var caretIndex = text.firstIndex(of: "^") else { return nil }
    var headEnd = text.index(after: barIndex)
    while text[headEnd...].hasPrefix("\u{1B}"), let end = text[headEnd...].firstIndex(where: { $0.isLetter }) { headEnd = text.index(after: end) }
    if let escape = text[..<caretIndex].lastIndex(of: "\u{1B}"), !text[escape..<caretIndex].contains(" ") { caretIndex = escape }
    let head = String(text[..<headEnd])
    return (row, head + String(repeating: " ", count: max(0, at - visibleWidth(head))) + String(text[caretIndex...]))
}

/// For a line in the gutter of a rendered error ("173 │ let x = …", "    │ hint: …"), its
/// continuation: the gutter with the line number blanked (escape codes kept, so a dim gutter
/// stays dim), then two columns of indent; nil for any other line.
func gutterContinuation<S: StringProtocol>(_ line: S) -> String? {
    var gutter = "", escaping = false
    for c in line {
        if c == "\u{1B}" { escaping = true; gutter.append(c); continue }
        if escaping { if c.isLetter { escaping = false }; gutter.append(c); continue }
        if c == "│" { return gutter + "│" + (gutter.contains("\u{1B}") ? "\u{1B}[0m" : "") + "   " }
        guard c == " " || c.isASCII && c.isNumber else { return nil }
        gutter.append(" ")
    }
    return nil
}

/// Words wrapped to `width` columns; continuation lines indented.
func wrap(_ text: String, width: Int, indent: String = "") -> [String] {
    var lines: [String] = []
    var line = ""
    for word in text.split(separator: " ") {
        if !line.isEmpty && line.count + 1 + word.count > width {
            lines.append(line)
            line = indent + word
        } else {
            line += (line.isEmpty ? "" : " ") + word
        }
    }
    if !line.isEmpty { lines.append(line) }
    return lines
}

/// Rows of cells as columns padded to their widest cell, two spaces apart; the header row
/// underlined (bold on a colour terminal). Numbers stay in their columns however wide the row.
func alignedTable(_ rows: [[String]], color: Bool) -> [String] {
    let columns = rows.map(\.count).max() ?? 0
    let widths = (0..<columns).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
    func line(_ row: [String]) -> String {
        (0..<columns).map { c in (c < row.count ? row[c] : "").padding(toLength: widths[c], withPad: " ", startingAt: 0) }
            .joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
    }
    guard let header = rows.first else { return [] }
    let rule = widths.map { String(repeating: "─", count: $0) }.joined(separator: "  ")
    return [color ? "\u{1B}[1m" + line(header) + "\u{1B}[0m" : line(header), rule] + rows.dropFirst().map(line)
}
