import Dispatch
import Engine
import Foundation
import Library
import Notebook
import Preview
import Script

/// The read-eval-print loop: `:` commands, stepping through a lesson with Enter, and any other
/// line run in the same session. It never dies on a user error.
public final class REPL {
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

    var session: Session { notebook.session }

    struct Command: Sendable {
        let usage: String
        let doc: String
        let run: @Sendable (REPL, String) throws -> Void
    }

    static let commands: [(String, Command)] = [
        ("help", Command(usage: ":help [name]", doc: "this list, or help on a builtin or method (also: name?)") { r, arg in
            r.show(arg.isEmpty ? r.commandHelp + "\n\n" + r.session.helpIndex : r.session.help(arg))
        }),
        ("next", Command(usage: ":next (or Enter)", doc: "show and run the next cell") { r, _ in r.runNextCell() }),
        ("prev", Command(usage: ":prev", doc: "run the previous cell again") { r, _ in
            try r.notebook.go(to: max(0, r.notebook.position - 2)); r.runNextCell()
        }),
        ("goto", Command(usage: ":goto N", doc: "run cell N") { r, arg in
            guard let n = Int(arg) else { throw ScriptError(.runtime, ":goto needs a cell number", hint: ":cells lists them") }
            try r.notebook.go(to: n - 1); r.runNextCell()
        }),
        ("cells", Command(usage: ":cells", doc: "the lesson's cells, ▶ marks the next") { r, _ in r.say(r.notebook.outline) }),
        ("run", Command(usage: ":run", doc: "run the rest of the lesson") { r, _ in r.outcome(r.notebook.runRest()) }),
        ("load", Command(usage: ":load FILE|N", doc: "open a lesson file, or lesson N") { r, arg in
            try r.notebook.load(try lessonPath(arg))
            r.say("Loaded \(r.notebook.lesson?.title ?? arg): \(r.notebook.lesson?.cells.count ?? 0) cells. Press Enter to run the first.")
        }),
        ("reload", Command(usage: ":reload", doc: "read the lesson file again, keeping the position") { r, _ in
            try r.notebook.reload(); r.say("Reloaded; next is cell \(r.notebook.position + 1).")
        }),
        ("reset", Command(usage: ":reset", doc: "forget every variable") { r, _ in r.notebook.reset(); r.say("Variables cleared.") }),
        ("vars", Command(usage: ":vars", doc: "the session's variables: name, type, shape") { r, _ in r.say(r.variablesTable) }),
        ("time", Command(usage: ":time EXPR", doc: "the median time of an expression over repeats") { r, arg in try r.time(arg) }),
        ("backend", Command(usage: ":backend [reference|simd]", doc: "switch the engine's backend") { r, arg in
            switch arg {
            case "": break
            case "reference": Runtime.backend = ReferenceBackend()
            case "simd": Runtime.backend = SIMDBackend()
            default: throw ScriptError(.runtime, "the backends are 'reference' and 'simd'")
            }
            r.say("backend: \(Runtime.backend.name), threads: \(Runtime.threads)")
        }),
        ("threads", Command(usage: ":threads N", doc: "threads for the SIMD backend") { r, arg in
            guard let n = Int(arg), n >= 1 else { throw ScriptError(.runtime, ":threads needs a number ≥ 1") }
            Runtime.threads = n; r.say("threads: \(n)")
        }),
        ("memory", Command(usage: ":memory [SIZE]", doc: "memory held by tensors, and the budget for it (:memory 8GiB sets it)") { r, arg in
            if !arg.isEmpty {
                guard let bytes = parseBytes(arg) else { throw ScriptError(.runtime, ":memory needs a size such as 8GiB or 512MiB") }
                Runtime.memoryBudget = bytes
            }
            r.say("tensors hold \(formatBytes(Runtime.liveTensorBytes)) (\(formatBytes(Runtime.peakTensorBytes)) at most so far); "
                  + "budget \(formatBytes(Runtime.memoryBudget)), one tensor at most \(formatBytes(Runtime.allocationLimit))")
        }),
        ("seed", Command(usage: ":seed [N]", doc: "restart the random stream from seed N, or show the seed") { r, arg in
            if arg.isEmpty {
                r.say("seed: \(Runtime.lastSeed) (the last one set; :seed N or seed(N) restarts the stream)")
                return
            }
            guard let n = UInt64(arg) else { throw ScriptError(.runtime, ":seed needs a whole number ≥ 0, got '\(arg)'") }
            Runtime.seed(n); r.say("seed: \(n)")
        }),
        ("save", Command(usage: ":save FILE", doc: "save the session as Markdown, or as a Jupyter notebook (.ipynb)") { r, arg in
            guard !arg.isEmpty else { throw ScriptError(.runtime, ":save needs a file name, e.g. :save session.md or :save session.ipynb") }
            try r.notebook.save(to: arg); r.say("Saved \(printable(arg)).")
        }),
        ("quit", Command(usage: ":quit", doc: "leave (also Ctrl-D)") { _, _ in throw Quit() }),
    ]

    struct Quit: Error {}

    var commandHelp: String {
        let width = (REPL.commands.map(\.1.usage.count).max() ?? 0) + 2
        return "Commands:\n" + REPL.commands.map { "  " + $0.1.usage.padding(toLength: width, withPad: " ", startingAt: 0) + $0.1.doc }.joined(separator: "\n")
            + "\n\nAny other line runs in the session. Tab completes names, the labels of the call being written, members after a dot, "
            + "and file paths in strings and after :load and :save; Ctrl-C stops a running cell."
    }

    var prompt: String {
        if !pending.isEmpty { return "   ...> " }
        let place = notebook.lesson.map { "[\(min(notebook.position + 1, $0.cells.count))/\($0.cells.count)]" } ?? ""
        return "normlab\(place.isEmpty ? "" : " " + place)> "
    }

    func say(_ text: String) { notebook.write(text) }

    /// Text that may be long (help): on a terminal wrapped at words and paged.
    func show(_ text: String) {
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
            if trimmed.hasPrefix(":") {
                let word = trimmed.dropFirst().prefix { !$0.isWhitespace }
                let argument = trimmed.dropFirst(word.count + 1).trimmingCharacters(in: .whitespaces)
                let matches = REPL.commands.filter { $0.0.hasPrefix(word) }
                guard let command = matches.first(where: { $0.0 == word }) ?? (matches.count == 1 ? matches.first : nil), !word.isEmpty else {
                    throw ScriptError(.runtime, "unknown command ':\(word)'",
                                      hint: matches.count > 1 ? "did you mean " + matches.map { ":" + $0.0 }.joined(separator: " or ") + "?" : ":help lists the commands")
                }
                try command.1.run(self, argument)
                return
            }
            if trimmed.hasSuffix("?") && trimmed.dropLast().allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }) {
                show(session.help(String(trimmed.dropLast()))); return
            }
            if trimmed.hasPrefix("?") { show(session.help(String(trimmed.dropFirst()))); return }
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

    var variablesTable: String {
        let rows = session.interpreter.variables.filter { $0.name != "_" }
        guard !rows.isEmpty else { return "no variables yet" }
        return rows.map { name, value in
            let shape: String
            if case .tensor(let t) = value { shape = t.shape.description } else { shape = "" }
            return name.padding(toLength: 14, withPad: " ", startingAt: 0) + value.typeName.padding(toLength: 12, withPad: " ", startingAt: 0) + shape
        }.joined(separator: "\n")
    }

    /// Like IPython's %timeit: repeats until about half a second has passed, reports the median.
    func time(_ expression: String) throws {
        guard !expression.isEmpty else { throw ScriptError(.runtime, ":time needs an expression, e.g. :time randn(512, 512) @ randn(512, 512)") }
        var samples: [Double] = []
        let previous = session.frontEnd
        session.frontEnd = SilentFrontEnd()
        defer { session.frontEnd = previous }
        let deadline = DispatchTime.now().uptimeNanoseconds + 500_000_000
        repeat {
            let start = DispatchTime.now().uptimeNanoseconds
            try session.run(expression)
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        } while (samples.count < 3 || DispatchTime.now().uptimeNanoseconds < deadline) && samples.count < 1000
        let median = samples.sorted()[samples.count / 2]
        let text = median < 1e-3 ? String(format: "%.1f µs", median * 1e6) : (median < 1 ? String(format: "%.2f ms", median * 1e3) : String(format: "%.3f s", median))
        previous.text("\(text) median of \(samples.count) runs (backend \(Runtime.backend.name), \(Runtime.threads) thread\(Runtime.threads == 1 ? "" : "s"))")
    }

    /// The welcome screen: what this is and the few keys that matter.
    public func welcome() {
        let lines = [
            "Normlab \u{2014} spectral norm, AdaIN and WGAN-GP, step by step",
            "",
            "  Enter         run the next cell of the lesson",
            "  :cells        the lesson's outline          :goto N   run cell N",
            "  :help         commands and builtins         name?     help on a name",
            "  Tab           complete names and methods    Ctrl-C    stop a running cell",
            "  :save f.md    keep this session (.ipynb too) :quit     leave (Ctrl-D)",
            "",
            "Type any line to run it between cells; variables stay.",
        ]
        say(lines.joined(separator: "\n"))
    }
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
    let lessons = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".md") && $0.first?.isNumber == true }.sorted()
    let hint = "give a lesson number (1…\(lessons.count)) or a lesson file; the lessons: " + lessons.joined(separator: ", ")
    guard let n = Int(argument) else {
        guard !argument.isEmpty else { throw ScriptError(.runtime, "which lesson?", hint: hint) }
        guard FileManager.default.fileExists(atPath: argument) else { throw ScriptError(.runtime, "there is no lesson file '\(argument)'", hint: hint) }
        return argument
    }
    guard let file = lessons.first(where: { $0.hasPrefix(String(format: "%02d-", n)) }) else {
        throw ScriptError(.runtime, "there is no lesson \(n) in \(directory)", hint: hint)
    }
    return directory + "/" + file
}

/// Tab completion of the text before the cursor: `:` commands, files after `:load` and
/// `:save` (and lessons by number's name after `:load`), and everything else as the session
/// completes code (names, members, labels, paths in strings).
public func completions(in session: Session, line: String) -> Completion {
    if line.hasPrefix(":") && !line.contains(" ") {
        return Completion(start: 0, candidates: REPL.commands.map { ":" + $0.0 }.filter { $0.hasPrefix(line) })
    }
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
