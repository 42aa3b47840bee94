import Dispatch
import Engine
import Foundation
import Preview
import Script

/// Where a `:` command runs: the REPL on a terminal, or the Jupyter kernel behind a notebook.
/// The commands that need only the session are written once, against this; the REPL adds the
/// ones that step through a lesson.
public protocol CommandHost: AnyObject {
    var session: Session { get }
    /// True for the REPL, which also has the lesson commands; false for a notebook.
    var isTerminal: Bool { get }
    /// A short answer.
    func say(_ text: String)
    /// A long answer (help): a terminal pages it, a notebook prints it as the cell's output.
    func page(_ text: String)
    /// Forgets every variable, and whatever the front end keeps of them (the REPL's transcript).
    func resetVariables()
}

/// A `:` command of the REPL and the kernel: one table, so that help, completion and the
/// notebook's answer to a terminal-only command cannot drift apart.
public struct Command: Sendable {
    public let name: String
    public let usage: String
    public let doc: String
    public let action: Action

    public enum Action: Sendable {
        /// Needs the session alone: the REPL and a notebook both run it.
        case session(@Sendable (CommandHost, String) throws -> Void)
        /// Steps through a lesson or leaves the terminal: the REPL runs it; a notebook answers
        /// with what to do there instead.
        case terminal(inANotebook: String)
    }

    init(_ name: String, _ usage: String, _ doc: String, _ action: Action) {
        (self.name, self.usage, self.doc, self.action) = (name, usage, doc, action)
    }

    public var isTerminalOnly: Bool {
        if case .terminal = action { return true }
        return false
    }

    /// Runs a command that needs the session alone; a terminal-only one is an error that says
    /// what to do in a notebook (the REPL runs those itself, before asking this).
    public func run(in host: CommandHost, argument: String) throws {
        switch action {
        case .session(let body): try body(host, argument)
        case .terminal(let instead):
            throw ScriptError(.runtime, ":\(name) is a terminal command: it works in the REPL (normlab repl), not in a notebook",
                              hint: "in a notebook, " + instead)
        }
    }

    public static let all: [Command] = [
        Command("help", ":help [name]", "this list, or help on a builtin, method or variable (also: name?)", .session { host, arg in
            host.page(arg.isEmpty ? Command.help(terminal: host.isTerminal) + "\n\n" + host.session.helpIndex : host.session.help(arg))
        }),
        Command("next", ":next (or Enter)", "show and run the next cell", .terminal(inANotebook: "Shift-Enter runs a cell and moves to the next")),
        Command("prev", ":prev", "run again the cell that ran last", .terminal(inANotebook: "select the cell above and press Shift-Enter")),
        Command("goto", ":goto N", "run cell N", .terminal(inANotebook: "click the cell and press Shift-Enter")),
        Command("cells", ":cells", "the lesson's cells, ▶ marks the next", .terminal(inANotebook: "the notebook shows every cell; its table of contents lists the headings")),
        Command("run", ":run", "run the rest of the lesson", .terminal(inANotebook: "Run → Run Selected Cell and All Below (or Run All Cells)")),
        Command("load", ":load FILE|N", "open a lesson file, or lesson N", .terminal(inANotebook: "make the lesson a notebook with `normlab notebook N --out lesson.ipynb` and open that")),
        Command("reload", ":reload", "read the lesson file again, keeping the position", .terminal(inANotebook: "edit the cells themselves, or make the notebook again with `normlab notebook N`")),
        Command("reset", ":reset", "forget every variable", .session { host, _ in host.resetVariables(); host.say("Variables cleared.") }),
        Command("vars", ":vars", "the session's variables: name, type, shape", .session { host, _ in host.say(host.session.variablesTable) }),
        Command("time", ":time EXPR", "the median time of an expression over repeats", .session { host, arg in host.say(try host.session.time(arg)) }),
        Command("backend", ":backend [reference|simd]", "switch the engine's backend", .session { host, arg in
            switch arg {
            case "": break
            case "reference": Runtime.backend = ReferenceBackend()
            case "simd": Runtime.backend = SIMDBackend()
            default: throw ScriptError(.runtime, "the backends are 'reference' and 'simd'")
            }
            host.say("backend: \(Runtime.backend.name), threads: \(Runtime.threads)")
        }),
        Command("threads", ":threads N", "threads for the SIMD backend", .session { host, arg in
            guard let n = Int(arg), n >= 1 else { throw ScriptError(.runtime, ":threads needs a number ≥ 1") }
            Runtime.threads = n; host.say("threads: \(n)")
        }),
        Command("memory", ":memory [SIZE]", "memory held by tensors, and the budget for it (:memory 8GiB sets it)", .session { host, arg in
            if !arg.isEmpty {
                guard let bytes = parseBytes(arg) else { throw ScriptError(.runtime, ":memory needs a size such as 8GiB or 512MiB") }
                Runtime.memoryBudget = bytes
            }
            host.say("tensors hold \(formatBytes(Runtime.liveTensorBytes)) (\(formatBytes(Runtime.peakTensorBytes)) at most so far); "
                     + "budget \(formatBytes(Runtime.memoryBudget)), one tensor at most \(formatBytes(Runtime.allocationLimit))")
        }),
        Command("seed", ":seed [N]", "restart the random stream from seed N, or show the seed", .session { host, arg in
            if arg.isEmpty {
                host.say("seed: \(Runtime.lastSeed) (the last one set; :seed N or seed(N) restarts the stream)")
                return
            }
            guard let n = UInt64(arg) else { throw ScriptError(.runtime, ":seed needs a whole number ≥ 0, got '\(printable(arg))'") }
            Runtime.seed(n); host.say("seed: \(n)")
        }),
        Command("save", ":save FILE", "save the session as Markdown, or as a Jupyter notebook (.ipynb)",
                .terminal(inANotebook: "the notebook is the transcript: File → Save, or File → Save and Export Notebook As… → Markdown")),
        Command("quit", ":quit", "leave (also Ctrl-D)",
                .terminal(inANotebook: "close the tab, or Kernel → Shut Down Kernel; Kernel → Restart Kernel (or :reset) forgets the variables")),
    ]

    static let byName = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// What a line asks for when it is not code: a `:` command (its name or an unambiguous
    /// prefix of it) with its argument, or help as `name?`, `?name` or `?` (which is `:help`).
    /// Nil for code; an unknown or ambiguous command is an error.
    public static func parse(_ line: String) throws -> (command: Command, argument: String)? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard let help = byName["help"] else { return nil }
        if trimmed.hasPrefix(":") {
            let word = trimmed.dropFirst().prefix { !$0.isWhitespace }
            let argument = trimmed.dropFirst(word.count + 1).trimmingCharacters(in: .whitespaces)
            let matches = all.filter { $0.name.hasPrefix(word) }
            guard !word.isEmpty, let command = matches.first(where: { $0.name == word }) ?? (matches.count == 1 ? matches.first : nil) else {
                throw ScriptError(.runtime, "unknown command ':\(printable(String(word)))'",
                                  hint: matches.count > 1 && !word.isEmpty ? "did you mean " + matches.map { ":" + $0.name }.joined(separator: " or ") + "?" : ":help lists the commands")
            }
            return (command, argument)
        }
        // `x.mean?` and `adain?` as IPython reads them; `?adain` too.
        if trimmed.hasSuffix("?") && trimmed.dropLast().allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }) {
            return (help, String(trimmed.dropLast()))
        }
        if trimmed.hasPrefix("?") { return (help, trimmed.dropFirst().trimmingCharacters(in: .whitespaces)) }
        return nil
    }

    /// Whether a line is a command or a question rather than code; an unknown `:word` counts (it
    /// runs, to say that it is unknown).
    public static func isCommand(_ line: String) -> Bool {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        return trimmed.hasPrefix(":") || (try? parse(trimmed)).flatMap { $0 } != nil
    }

    /// The commands there are where help is asked, and how the rest of the input is read.
    public static func help(terminal: Bool) -> String {
        let shown = all.filter { terminal || !$0.isTerminalOnly }
        let width = (shown.map(\.usage.count).max() ?? 0) + 2
        let table = shown.map { "  " + $0.usage.padding(toLength: width, withPad: " ", startingAt: 0) + $0.doc }.joined(separator: "\n")
        guard !terminal else {
            return "Commands:\n" + table
                + "\n\nAny other line runs in the session. Tab completes names, the labels of the call being written, members after a dot, "
                + "and file paths in strings and after :load and :save; Ctrl-C stops a running cell."
        }
        return "Commands (each a cell of its own):\n" + table
            + "\n\nIn the terminal's REPL only: " + all.filter(\.isTerminalOnly).map { ":" + $0.name }.joined(separator: " ")
            + "; here the notebook's cells and menus do their work.\n\nAny other cell runs in the session. Tab completes names, labels and "
            + "members, Shift-Tab shows a builtin's help, and the stop button interrupts a running cell."
    }

    /// Tab after `:` and part of a name: the commands there are where it is typed; nil when the
    /// line is not a command name being typed.
    public static func completions(of line: String, terminal: Bool) -> Completion? {
        guard line.hasPrefix(":"), !line.contains(" ") else { return nil }
        return Completion(start: 0, candidates: all.filter { terminal || !$0.isTerminalOnly }.map { ":" + $0.name }.filter { $0.hasPrefix(line) })
    }
}

extension Session {
    /// `:vars`: each variable with its type, and its shape when it is a tensor.
    public var variablesTable: String {
        let rows = interpreter.variables.filter { $0.name != "_" }
        guard !rows.isEmpty else { return "no variables yet" }
        return rows.map { name, value in
            let shape: String
            if case .tensor(let t) = value { shape = t.shape.description } else { shape = "" }
            return name.padding(toLength: 14, withPad: " ", startingAt: 0) + value.typeName.padding(toLength: 12, withPad: " ", startingAt: 0) + shape
        }.joined(separator: "\n")
    }

    /// `:time`, like IPython's %timeit: repeats the expression, showing nothing, until about half
    /// a second has passed (at least 3 runs, at most 1000), and reports the median.
    public func time(_ expression: String) throws -> String {
        guard !expression.isEmpty else { throw ScriptError(.runtime, ":time needs an expression, e.g. :time randn(512, 512) @ randn(512, 512)") }
        var samples: [Double] = []
        let previous = frontEnd
        frontEnd = SilentFrontEnd()
        defer { frontEnd = previous }
        let deadline = DispatchTime.now().uptimeNanoseconds + 500_000_000
        repeat {
            let start = DispatchTime.now().uptimeNanoseconds
            try run(expression)
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        } while (samples.count < 3 || DispatchTime.now().uptimeNanoseconds < deadline) && samples.count < 1000
        let median = samples.sorted()[samples.count / 2]
        let text = median < 1e-3 ? String(format: "%.1f µs", median * 1e6) : (median < 1 ? String(format: "%.2f ms", median * 1e3) : String(format: "%.3f s", median))
        return "\(text) median of \(samples.count) runs (backend \(Runtime.backend.name), \(Runtime.threads) thread\(Runtime.threads == 1 ? "" : "s"))"
    }
}
