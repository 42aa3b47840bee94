import Engine
import Foundation
import Library
import Preview
import Script

/// Steps through a lesson in a session, keeps what ran as a transcript, and saves it as
/// Markdown or as a Jupyter notebook.
public final class Notebook {
    public let session: Session
    public private(set) var lesson: Lesson?
    /// The index of the next cell to run.
    public private(set) var position = 0
    /// The cells of this lesson that ran since it was loaded (or the variables were reset), and
    /// whether each finished: an undefined name can then be traced to a cell that was skipped.
    var ran: [Int: Bool] = [:]
    /// The lessons whose cells the transcript holds, in the order they were first run: what
    /// a saved transcript is titled by.
    var covered: [(path: String, title: String, number: Int?)] = []
    /// The lesson of the last lesson cell in the transcript: a cell of another lesson starts a
    /// section under that lesson's heading.
    var transcriptLesson: String?
    public private(set) var transcript: [Entry] = []
    /// Where text goes (the terminal); pictures also go to the transcript.
    public var write: (String) -> Void
    public var width: Int
    public var color: Bool
    /// True in a terminal, which echoes Ctrl-C as "^C" where the cursor is: the message of an
    /// interrupted cell then starts on a line of its own.
    public var echoesInterrupt = false

    public struct Entry {
        public var prose: String?
        public var code: String
        public var outputs: [Output]
    }

    public enum Output {
        case text(String)
        case image(Tensor, PixelRange)
    }

    public enum Outcome: Equatable { case ok, failed(String), interrupted }

    public init(session: Session, width: Int = 80, color: Bool = false, write: @escaping (String) -> Void = { print($0) }) {
        self.session = session
        self.width = width
        self.color = color
        self.write = write
    }

    public func load(_ path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ScriptError(.runtime, "cannot read the lesson \(path)", hint: FileManager.default.fileExists(atPath: path) ? "is it UTF-8 text?" : "no such file")
        }
        lesson = Lesson(path: path, text: text)
        position = 0
        ran = [:]
    }

    /// Reads the file again after an edit, keeping the position (and the variables). The place
    /// is kept by the cells' code, not their number, so a cell inserted above it does not make
    /// Enter run again a cell that already ran.
    public func reload() throws {
        guard let old = lesson else { throw ScriptError(.runtime, "no lesson is loaded", hint: "use :load FILE or :load N") }
        let (keep, kept) = (position, ran)
        try load(old.path)
        let cells = lesson?.cells ?? []
        /// Where the code of old cell `index` is now: its nearest copy to where it was.
        func find(_ index: Int) -> Int? {
            guard old.cells.indices.contains(index) else { return nil }
            return cells.indices.filter { cells[$0].code == old.cells[index].code }.min { abs($0 - index) < abs($1 - index) }
        }
        // The next cell as it was; if it was edited, the one after the cell that ran last.
        position = find(keep) ?? find(keep - 1).map { $0 + 1 } ?? min(keep, cells.count)
        for (index, finished) in kept { if let now = find(index) { ran[now] = finished } }
    }

    public func reset() {
        session.interpreter.reset()
        transcript = []
        ran = [:]
        covered = []
        transcriptLesson = nil
    }

    public func go(to index: Int) throws {
        guard let lesson else { throw ScriptError(.runtime, "no lesson is loaded") }
        guard index >= 0 && index <= lesson.cells.count else {
            throw ScriptError(.runtime, "there are cells 1…\(lesson.cells.count)", hint: ":cells lists them")
        }
        position = index
    }

    /// The next cell as it is shown before it runs: its prose, then its code between two rules,
    /// wrapped at words to the width; nil at the end of the lesson.
    public var nextCell: String? {
        guard let lesson, position < lesson.cells.count else { return nil }
        let cell = lesson.cells[position]
        let (cyan, reset) = color ? ("\u{1B}[36m", "\u{1B}[0m") : ("", "")
        let code = cell.code.split(separator: "\n", omittingEmptySubsequences: false).flatMap { line in
            wrapLine("  " + line, width: width, continuation: String(repeating: " ", count: 6 + line.prefix { $0 == " " }.count))
        }
        return (cell.prose.isEmpty ? "" : renderProse(cell.prose, width: width, color: color) + "\n\n")
            + header("cell \(position + 1) of \(lesson.cells.count)") + "\n"
            + code.map { cyan + $0 + reset }.joined(separator: "\n") + "\n" + header("")
    }

    /// What the end of the lesson says: its closing prose, which cells did not run or stopped at
    /// an error (a student who skipped ahead would otherwise take the lesson as done), and where
    /// the next lesson is (drawn from the lesson files, so that no lesson has to say it).
    var ending: String {
        guard let lesson else { return "" }
        let missed = lesson.cells.indices.filter { ran[$0] == nil }
        // A cell that shows an error on purpose stopped where it should.
        let stopped = lesson.cells.indices.filter { ran[$0] == false && !lesson.cells[$0].expectsError }
        let gaps = [missed.isEmpty ? nil : cellList(missed) + " did not run", stopped.isEmpty ? nil : cellList(stopped) + " stopped at an error"]
            .compactMap { $0 }.joined(separator: "; ")
        var text: String
        switch (lesson.epilogue.isEmpty, gaps.isEmpty) {
        case (true, true): text = "End of the lesson."
        case (true, false): text = "End of the lesson (\(gaps))."
        case (false, true): text = lesson.epilogue
        case (false, false): text = lesson.epilogue + "\n\n(In this lesson, \(gaps).)"
        }
        text += nextLesson.map { "\n\nNext: `:load \($0.number)` opens \($0.title)." } ?? ""
        return renderProse(text, width: width, color: color)
    }

    /// The lesson after this one, by its number, if there is one.
    var nextLesson: (number: Int, title: String)? {
        guard let next = lesson?.next, let number = next.number else { return nil }
        return (number, next.title)
    }

    /// What Enter says once the last cell has run: the ending was shown right after that cell,
    /// so only a reminder of where to go.
    var done: String {
        "The lesson is done: `:goto N` runs cell N again" + (nextLesson.map { ", `:load \($0.number)` opens the next" } ?? "") + "."
    }

    /// Shows the prose and code of the next cell (unless `showing` is false: the front end has
    /// shown it already), runs it, and moves on.
    @discardableResult
    public func runNext(showing: Bool = true) -> Outcome {
        guard let lesson, let shown = nextCell else {
            if lesson != nil { write(done) }
            return .ok
        }
        if showing { write((position > 0 ? "\n" : "") + shown) }
        let cell = lesson.cells[position]
        position += 1
        if !covered.contains(where: { $0.path == lesson.path }) { covered.append((lesson.path, lesson.title, lesson.number)) }
        // The lesson's heading is in cell 1's prose: a section of the transcript that starts
        // further on (`:goto 7`) gets it first, or its cells would sit under the lesson before.
        var prose = cell.prose
        if transcriptLesson != lesson.path, let heading = lesson.heading, !prose.split(separator: "\n").contains(where: { $0 == heading }) {
            prose = heading + (prose.isEmpty ? "" : "\n\n" + prose)
        }
        transcriptLesson = lesson.path
        let outcome = execute(cell.code, prose: prose, file: lesson.path, firstLine: cell.line, cell: position - 1)
        ran[position - 1] = outcome == .ok
        var result = outcome
        if cell.expectsError {
            switch outcome {
            case .failed: result = .ok   // the error this cell shows on purpose
            case .interrupted: break
            case .ok:
                let why = "cell \(position) is marked `swift error` to show an error, but it ran without one"
                write("error: " + why)
                result = .failed(why)
            }
        }
        // The end is said as the last cell finishes, not at one more Enter.
        if position == lesson.cells.count { write(ending) }
        return result
    }

    /// Runs every remaining cell, stopping at the first that fails.
    @discardableResult
    public func runRest() -> Outcome {
        guard let lesson else { return .failed("no lesson is loaded") }
        // At the end already: runNext says so (the last cell said the ending).
        if position == lesson.cells.count { return runNext() }
        while position < lesson.cells.count {
            let outcome = runNext()
            if outcome != .ok { return outcome }
        }
        return .ok
    }

    /// Runs code typed by the user (or the lesson's cell number `cell`, counted from 0); it joins
    /// the transcript like a cell. Errors name `file` and the line there, counting the code's
    /// first line as `firstLine`.
    @discardableResult
    public func execute(_ code: String, prose: String? = nil, file: String = "<input>", firstLine: Int = 1, cell: Int? = nil) -> Outcome {
        let recorder = Recorder(forwardingTo: session.frontEnd)
        session.frontEnd = recorder
        defer {
            session.frontEnd = recorder.next
            transcript.append(Entry(prose: prose, code: code, outputs: recorder.outputs))
        }
        do {
            try session.run(code, file: file, firstLine: firstLine)
            return .ok
        } catch var error as ScriptError {
            if let name = error.undefinedName, let hint = whereDefined(name, before: cell ?? position, running: cell) { error.hint = hint }
            let source = SourceText(code, file: file, firstLine: firstLine)
            let rendered = error.rendered(in: source, color: color)
            recorder.record(error.rendered(in: source, color: false))
            write(error.kind == .interrupted && echoesInterrupt ? "\n" + rendered : rendered)
            return error.kind == .interrupted ? .interrupted : .failed(error.kind == .check ? "check failed: \(error.message)" : error.message)
        } catch {
            write("error: \(describe(error))")
            recorder.record("error: \(describe(error))")
            return .failed(describe(error))
        }
    }

    /// Where the lesson defines `name`, when the cell that does has not run (or stopped at an
    /// error): the nearest such cell before cell `before` (from 0), else the first after it.
    /// `running` is the lesson cell that met the name, if a cell did. When other cells before
    /// it have not run either, running only the defining cell would fail on the next name they
    /// define: the hint is then to run them all, in order, from the first.
    func whereDefined(_ name: String, before: Int, running: Int?) -> String? {
        guard let lesson else { return nil }
        let defining = lesson.cells.indices.filter { ran[$0] != true && lesson.cells[$0].defines(name) }
        if let earlier = defining.last(where: { $0 < before }) {
            let missed = (0..<before).filter { ran[$0] == nil }
            if ran[earlier] == nil, missed.count > 1, let first = missed.first {
                return "'\(name)' is defined in cell \(earlier + 1); \(cellList(missed)) have not run: :goto \(first + 1), then Enter runs them in order"
            }
            let state = ran[earlier] == false ? "which stopped at an error" : "which has not run"
            let back = running.map { ", then :goto \($0 + 1) runs this cell again" } ?? ""
            return "'\(name)' is defined in cell \(earlier + 1), \(state): :goto \(earlier + 1) runs it\(back)"
        }
        return defining.first(where: { $0 > (running ?? before - 1) }).map { "'\(name)' is defined in cell \($0 + 1), further on in the lesson" }
    }

    /// A numbered outline of the cells, with a marker at the next one.
    public var outline: String {
        guard let lesson else { return "no lesson is loaded" }
        return lesson.cells.enumerated().map { i, cell in
            let first = cell.code.split(separator: "\n").first.map(String.init) ?? ""
            let heading = cell.prose.split(separator: "\n").last { $0.hasPrefix("#") }.map { " — " + $0.drop { $0 == "#" || $0 == " " } } ?? ""
            return (i == position ? "▶ " : "  ") + String(i + 1).padding(toLength: 3, withPad: " ", startingAt: 0) + first + heading
        }.joined(separator: "\n")
    }

    /// A rule as wide as the text (at most 72), with a label in it.
    func header(_ label: String) -> String {
        let text = label.isEmpty ? String(repeating: "─", count: min(width, 72))
            : "── \(label) " + String(repeating: "─", count: max(4, min(width, 72) - label.count - 4))
        return color ? "\u{1B}[2m\(text)\u{1B}[0m" : text
    }

    // MARK: Transcripts

    /// Writes the transcript: Jupyter (nbformat 4) when the name ends in `.ipynb`, else Markdown
    /// with pictures saved beside it.
    public func save(to path: String) throws {
        if path.hasSuffix(".ipynb") { try saveNotebook(path) } else { try saveMarkdown(path) }
    }

    func saveMarkdown(_ path: String) throws {
        let url = URL(fileURLWithPath: path)
        // The pictures' folder is made beside the file, never the folder the file goes in: a
        // mistyped folder is an error whether or not the session drew anything.
        var isFolder: ObjCBool = false
        let folder = url.deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) else { throw FileError(path: path, writing: true, errno: ENOENT) }
        guard isFolder.boolValue else { throw FileError(path: path, writing: true, errno: ENOTDIR) }
        let stem = url.deletingPathExtension().lastPathComponent
        let imageDirectory = url.deletingLastPathComponent().appendingPathComponent("\(stem)-images")
        var text = "# \(transcriptTitle)\n\nA Normlab session.\n"
        var imageCount = 0
        for entry in transcript {
            if let prose = entry.prose, !prose.isEmpty { text += "\n" + prose + "\n" }
            text += "\n```swift\n\(entry.code)\n```\n"
            var pending: [String] = []
            func flushText() {
                if !pending.isEmpty { text += "\n```text\n" + pending.joined(separator: "\n") + "\n```\n"; pending = [] }
            }
            for output in entry.outputs {
                switch output {
                case .text(let t): pending.append(stripEscapes(t))
                case .image(let image, let range):
                    flushText()
                    imageCount += 1
                    try FileManager.default.createDirectory(at: imageDirectory, withIntermediateDirectories: true)
                    let file = "\(stem)-images/image-\(imageCount).png"
                    try savePNG(image, to: url.deletingLastPathComponent().appendingPathComponent(file).path, range: range)
                    text += "\n![output \(imageCount)](\(file))\n"
                }
            }
            flushText()
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    /// The transcript's title, by the lessons it ran cells of: "Transcript: Lesson 1: …" for
    /// one, "Transcript: Lessons 1–3, 5" for several numbered ones, else their titles.
    var transcriptTitle: String {
        guard covered.count > 1 else { return "Transcript" + (covered.first.map { ": " + $0.title } ?? "") }
        let numbers = covered.compactMap(\.number)
        guard numbers.count == covered.count else { return "Transcript: " + covered.map(\.title).joined(separator: "; ") }
        return "Transcript: Lessons " + numberRanges(numbers)
    }

    func saveNotebook(_ path: String) throws {
        var document = NotebookDocument()
        for (i, entry) in transcript.enumerated() {
            if let prose = entry.prose { document.markdown(prose) }
            let outputs = try entry.outputs.map { output -> [String: Any] in
                switch output {
                case .text(let t): return NotebookDocument.stream(stripEscapes(t))
                case .image(let image, let range): return try NotebookDocument.image(image, range: range, description: "<image \(image.shape)>")
                }
            }
            document.code(entry.code, executionCount: i + 1, outputs: outputs)
        }
        try document.write(to: path)
    }
}

/// Numbers as runs of consecutive ones, in order: "1–3, 5".
func numberRanges(_ numbers: [Int]) -> String {
    var runs: [ClosedRange<Int>] = []
    for n in Set(numbers).sorted() {
        if let last = runs.last, last.upperBound + 1 == n { runs[runs.count - 1] = last.lowerBound...n } else { runs.append(n...n) }
    }
    return runs.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)–\($0.upperBound)" }.joined(separator: ", ")
}

/// Cells by their indices (from 0), as numbered for the student: "cell 3", "cells 1–6, 9".
func cellList(_ indices: [Int]) -> String {
    (indices.count == 1 ? "cell " : "cells ") + numberRanges(indices.map { $0 + 1 })
}

/// Text without ANSI escape sequences (for transcripts).
func stripEscapes(_ text: String) -> String {
    var out = ""
    var escaping = false
    for c in text {
        if c == "\u{1B}" { escaping = true; continue }
        if escaping { if c.isLetter { escaping = false }; continue }
        out.append(c)
    }
    return out
}
