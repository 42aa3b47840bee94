import Engine
import Foundation
import Library
import Notebook
import Preview
import Script

/// The read-eval-print loop: `:` commands, stepping through a lesson with Enter, and any other
/// line run in the same session. It never dies on a user error.
public final class REPL: CommandHost {
    public let notebook: Notebook
    let reader: LineReader
    let interactive: Bool
    let strict: Bool
    /// Lines of an unfinished statement (an open bracket or block), waiting for the rest.
    var pending = PendingInput()
    /// Empty lines typed in a row while a statement is unfinished: the second discards it.
    var emptyLinesWhilePending = 0
    /// The lines of the statement being typed, as typed, for the history.
    var typed: [String] = []
    /// Lines read so far: errors give the real line.
    var lineNumber = 0
    /// The continuation prompt is explained the first time it appears.
    var explainedContinuation = false
    var failed = false

    /// For a projector (`--present`): each cell a slide on a cleared screen, paged to fit, run
    /// when a key says so.
    let presenting: Bool
    let pager: Pager

    /// `presenter`: the pager that the session's and the notebook's output already go through
    /// when presenting on a projector.
    public init(notebook: Notebook, reader: LineReader, interactive: Bool, strict: Bool, presenter: Pager? = nil) {
        (self.notebook, self.reader, self.interactive, self.strict) = (notebook, reader, interactive, strict)
        presenting = presenter != nil && interactive
        pager = presenter ?? Pager(color: notebook.color)
    }

    public var session: Session { notebook.session }
    public var isTerminal: Bool { true }
    /// Forgets the transcript too: a saved session would show values no variable holds.
    public func resetVariables() { notebook.reset() }

    /// The bodies of the commands that step through a lesson or leave (`Command.all` has the
    /// rest, shared with the kernel, and the usage and help of these).
    static let lessonCommands: [String: @Sendable (REPL, String) throws -> Void] = [
        "next": { r, _ in r.runNextCell() },
        "prev": { r, _ in
            if r.notebook.lesson != nil && r.notebook.position == 0 {
                throw ScriptError(.runtime, "no cell of the lesson has run yet", hint: "Enter runs cell 1")
            }
            try r.notebook.go(to: r.notebook.position - 1); r.runNextCell()
        },
        "goto": { r, arg in
            guard let n = Int(arg) else { throw ScriptError(.runtime, ":goto needs a cell number", hint: ":cells lists them") }
            try r.notebook.go(to: n - 1); r.runNextCell()
        },
        "cells": { r, _ in r.say(r.notebook.outline) },
        "run": { r, _ in r.outcome(r.notebook.runRest()) },
        "load": { r, arg in
            try r.notebook.load(try lessonPath(arg))
            r.say("Loaded \(r.notebook.lesson?.title ?? arg): \(r.notebook.lesson?.cells.count ?? 0) cells. Press Enter to run the first.")
        },
        "reload": { r, _ in try r.notebook.reload(); r.say("Reloaded; next is cell \(r.notebook.position + 1).") },
        "save": { r, arg in
            guard !arg.isEmpty else { throw ScriptError(.runtime, ":save needs a file name, e.g. :save session.md or :save session.ipynb") }
            try r.notebook.save(to: arg); r.say("Saved \(printable(arg)).")
        },
        "quit": { _, _ in throw Quit() },
    ]

    struct Quit: Error {}

    var prompt: String {
        if !pending.isEmpty { return "   ...> " }
        // The next cell's number; once the last has run, that the lesson is done.
        let place = notebook.lesson.map { notebook.position < $0.cells.count ? "[\(notebook.position + 1)/\($0.cells.count)]" : "[done]" } ?? ""
        return "normlab\(place.isEmpty ? "" : " " + place)> "
    }

    public func say(_ text: String) { notebook.write(text) }

    /// Text that may be long (help): on a terminal wrapped at words and paged.
    public func page(_ text: String) {
        guard interactive else { return say(text) }
        pager.page(pager.fit(text))
    }

    /// Shows and runs the next cell. On a projector it is a slide first: the screen cleared,
    /// prose and code paged to fit, and the cell runs when Enter says so (q leaves it for later);
    /// its output is paged below the slide.
    func runNextCell() {
        guard presenting, let slide = notebook.nextCell else { return outcome(notebook.runNext()) }
        pager.clearScreen()
        guard let onScreen = pager.page(pager.fit(slide), reserving: 1), pager.ask("Enter runs this cell, q leaves it for now") else { return }
        pager.startOutput(below: onScreen)
        outcome(notebook.runNext(showing: false))
    }

    /// What errors call the input: a script's lines, or what was typed.
    var inputName: String { interactive ? "<input>" : "<stdin>" }

    /// The exit status: a script (piped input) that had any error fails, as does `--strict`.
    var status: Int32 { failed && (strict || !interactive) ? 1 : 0 }

    /// Reads and runs lines until the input ends or `:quit`; the exit status.
    public func run() -> Int32 {
        while true {
            // What was on the screen has been seen by the time a line is typed.
            if presenting { pager.startOutput(below: 1) }
            let (line, cancelled) = reader.read(prompt: prompt)
            if cancelled { (pending, typed) = (PendingInput(), []); continue }
            guard var line else {
                if interactive { print("") }
                if let opening = pending.opening {
                    // The input ended inside a bracket or block: what is pending can never run.
                    say(opening.unfinished.rendered(source: pending.source, file: inputName, firstLine: pending.firstLine, color: notebook.color))
                    return 1
                }
                return status
            }
            lineNumber += 1
            typed.append(line)
            // A line pasted with its prompt still works.
            for p in ["normlab> ", "> "] where line.hasPrefix(p) { line = String(line.dropFirst(p.count)) }
            defer {
                // History keeps whole statements: a `func` typed over several lines comes back as one entry.
                if pending.isEmpty { reader.remember(typed.joined(separator: "\n").trimmingCharacters(in: .newlines)); typed = [] }
            }
            do {
                try handle(line)
            } catch is Quit {
                return status
            } catch {
                say("error: \(describe(error))")
                failed = true
            }
            if failed && strict && !interactive { return 1 }
        }
    }

    func handle(_ line: String) throws {
        if pending.isEmpty {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty {
                if notebook.lesson != nil { runNextCell() }
                return
            }
            if let (command, argument) = try Command.parse(trimmed) {
                if let body = REPL.lessonCommands[command.name] { try body(self, argument) } else { try command.run(in: self, argument: argument) }
                return
            }
            if ["exit", "quit", "exit()", "quit()"].contains(trimmed) && session.interpreter.variable(trimmed) == nil {
                say("To leave, type :quit or press Ctrl-D."); return
            }
        }
        if interactive, let opening = pending.opening, line.trimmingCharacters(in: .whitespaces).isEmpty {
            // A way out of an unfinished statement without Ctrl-C: Enter on an empty line twice.
            emptyLinesWhilePending += 1
            if emptyLinesWhilePending == 1 {
                // Two lines, each narrower than 80 columns: the terminal would break a word.
                say("(still inside \(opening.description):\n close it with '\(opening.bracket.closing?.rawValue ?? "")', or press Enter again to discard the unfinished statement)")
            } else {
                say("(discarded the unfinished statement)")
                pending = PendingInput()
                emptyLinesWhilePending = 0
            }
            return
        }
        emptyLinesWhilePending = 0
        if pending.isEmpty { pending = PendingInput(firstLine: interactive ? 1 : lineNumber) }
        if case .incomplete(let opening) = pending.append(line) {
            if interactive && !explainedContinuation {
                say("(\(opening.description) is still open:\n finish it on the next lines, or press Enter twice or Ctrl-C to start over)")
                explainedContinuation = true
            }
            return
        }
        let (source, firstLine) = (pending.source, pending.firstLine)
        pending = PendingInput()
        outcome(notebook.execute(source, file: inputName, firstLine: firstLine))
    }

    func outcome(_ result: Notebook.Outcome) {
        if case .ok = result { return }
        failed = true
    }

    /// The welcome screen: what this is and the few keys that matter.
    public func welcome() { say(REPL.welcomeText) }

    /// The keys of the welcome screen, two to a row, each column as wide as its widest entry:
    /// the first row's single entry may be longer than its column.
    static let welcomeText: String = {
        let left = [("Enter", "run the next cell of the lesson"), (":cells", "the lesson's outline"), (":help", "commands and builtins"),
                    ("Tab", "complete names and methods"), (":save f.md", "keep this session (.ipynb too)")]
        let right: [(String, String)?] = [nil, (":goto N", "run cell N"), ("name?", "help on a name"), ("Ctrl-C", "stop a running cell"),
                                          (":quit", "leave (Ctrl-D)")]
        func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
        let keyWidth = (left.map(\.0.count).max() ?? 0) + 2
        let doesWidth = (zip(left, right).filter { $0.1 != nil }.map(\.0.1.count).max() ?? 0) + 4
        let rightKeyWidth = (right.compactMap { $0?.0.count }.max() ?? 0) + 2
        let keys = zip(left, right).map { l, r in "  " + pad(l.0, keyWidth) + (r.map { pad(l.1, doesWidth) + pad($0.0, rightKeyWidth) + $0.1 } ?? l.1) }
        return (["Normlab \u{2014} spectral norm, AdaIN and WGAN-GP, step by step", ""] + keys
                + ["", "Type any line to run it between cells; variables stay."]).joined(separator: "\n")
    }()
}

/// The lessons folder: $NORMLAB_LESSONS, ./Lessons, or the one beside the package this binary was built in.
public func lessonsDirectory() -> String {
    if let env = ProcessInfo.processInfo.environment["NORMLAB_LESSONS"] { return env }
    if FileManager.default.fileExists(atPath: "Lessons") { return "Lessons" }
    // The running binary's own path (Linux: /proc/self/exe, Darwin: the loader's), which
    // argv[0] is not when normlab was found through PATH or a symbolic link.
    var url = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])).resolvingSymlinksInPath()
    for _ in 0..<5 {
        url.deleteLastPathComponent()
        let candidate = url.appendingPathComponent("Lessons").path
        if FileManager.default.fileExists(atPath: candidate) { return candidate }
    }
    return "Lessons"
}

/// A lesson by number (`2` → Lessons/02-….md) or by path.
public func lessonPath(_ argument: String) throws -> String {
    let directory = lessonsDirectory()
    let lessons = Lesson.numberedFiles(in: directory)
    let hint = "give a lesson number (1…\(lessons.count)) or a lesson file; the lessons: "
        + lessons.map { $0.path.dropFirst(directory.count + 1) }.joined(separator: ", ")
    guard let n = Int(argument) else {
        guard !argument.isEmpty else { throw ScriptError(.runtime, "which lesson?", hint: hint) }
        guard FileManager.default.fileExists(atPath: argument) else { throw ScriptError(.runtime, "there is no lesson file '\(argument)'", hint: hint) }
        return argument
    }
    guard let file = lessons.first(where: { $0.number == n }) else {
        throw ScriptError(.runtime, "there is no lesson \(n) in \(directory)", hint: hint)
    }
    return file.path
}

/// Tab completion of the text before the cursor: `:` commands, files after `:load` and
/// `:save` (and lessons by number's name after `:load`), and everything else as the session
/// completes code (names, members, labels, paths in strings).
public func completions(in session: Session, line: String) -> Completion {
    if let commands = Command.completions(of: line, terminal: true) { return commands }
    for command in [":load ", ":save "] where line.hasPrefix(command) {
        let start = command.count + line.dropFirst(command.count).prefix { $0 == " " }.count
        let fragment = String(line.dropFirst(start))
        var candidates = pathCompletions(fragment)
        if command == ":load " {
            candidates = candidates.filter { $0.hasSuffix("/") || $0.hasSuffix(".md") }
            // `:load 03` + Tab: the lesson of that number, wherever the lessons are.
            if !fragment.contains("/") {
                candidates += pathCompletions(lessonsDirectory() + "/" + fragment).filter { $0.hasSuffix(".md") && !candidates.contains($0) }
            }
        }
        return Completion(start: start, candidates: candidates)
    }
    return session.complete(line)
}
