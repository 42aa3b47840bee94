import ArgumentParser
import Engine
import Foundation
import Library
import Notebook
import Preview
import REPL

/// Opens the REPL, on a lesson or empty; plain lines (no editing, prompts or colour) when
/// standard input is not a terminal.
func openREPL(lesson: String?, strict: Bool, present: Bool) throws -> Int32 {
    let interactive = isatty(0) == 1
    let colorMode = interactive ? ColorMode.detect() : .ascii
    installInterruptHandler()
    // In a terminal all text is wrapped at words, never broken in the middle of one as the
    // terminal would; on a projector it also goes through the pager, a screenful at a time.
    let pager = Pager(color: colorMode != .ascii)
    let presenter = present && interactive ? pager : nil
    let output: (String) -> Void = !interactive ? { print($0) } : present ? { pager.flow($0) } : { print(pager.fit($0)) }
    let session = Session(colorMode: colorMode, interrupt: sharedInterrupt, output: output, live: presenter.map { pager in { pager.stream($0) } })
    let width = max(40, min(terminalColumns() - 2, present ? 72 : 96))
    let notebook = Notebook(session: session, width: width, color: colorMode != .ascii, write: output)
    notebook.echoesInterrupt = interactive
    let history = ProcessInfo.processInfo.environment["NORMLAB_HISTORY"]
        ?? (ProcessInfo.processInfo.environment["HOME"].map { $0 + "/.normlab_history" } ?? ".normlab_history")
    var reader: LineReader = PlainReader()
    if interactive, let editing = EditLineReader(historyFile: history, complete: { completions(in: session, line: $0) }) {
        reader = editing
    }
    let repl = REPL(notebook: notebook, reader: reader, interactive: interactive, strict: strict, presenter: presenter)
    if interactive && !present { repl.welcome() }
    if let lesson {
        do {
            try notebook.load(lessonPath(lesson))
            if interactive, let loaded = notebook.lesson {
                notebook.write("\n" + renderProse("# " + loaded.title, width: width, color: notebook.color)
                               + "\n\(loaded.cells.count) cells. Press Enter to run the first.")
            }
        } catch {
            notebook.write("error: \(describe(error))")
            return 1
        }
    }
    return repl.run()
}

/// `normlab` with no arguments: the REPL on lesson 1.
struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Open the REPL on lesson 1 (the default).")
    @Flag(help: "Exit with an error status on the first error (for scripts).")
    var strict = false
    func run() throws {
        let status = try openREPL(lesson: "1", strict: strict, present: false)
        if status != 0 { throw ExitCode(status) }
    }
}

struct Repl: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Open the REPL with an empty session.")
    @Flag(help: "Exit with an error status on the first error (for scripts).")
    var strict = false
    func run() throws {
        let status = try openREPL(lesson: nil, strict: strict, present: false)
        if status != 0 { throw ExitCode(status) }
    }
}

struct LessonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lesson", abstract: "Open the REPL on lesson N (or a lesson file).")
    @Argument(help: "A lesson number or a Markdown file.")
    var lesson: String
    @Flag(help: "For a projector: each cell a slide on a cleared screen, run by Enter; what does not fit waits for a key; text wraps at words.")
    var present = false
    @Flag(help: "Exit with an error status on the first error (for scripts).")
    var strict = false
    func run() throws {
        let status = try openREPL(lesson: lesson, strict: strict, present: present)
        if status != 0 { throw ExitCode(status) }
    }
}

/// Runs lessons straight through, and fails (naming file, cell and line) if a lesson cannot be
/// read, a cell errors or a check fails.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run lesson files non-interactively.",
                                                    discussion: "Example: normlab run --check Lessons/*.md")
    @Argument(help: "Lesson files (Markdown).")
    var files: [String]
    @Flag(help: "Run as a test: cells see checking() as true and train with their small presets.")
    var check = false
    @Flag(help: "Only print the summary.")
    var quiet = false

    func run() throws {
        var failures: [String] = []
        // Failures go to standard error, beside the lessons' own output on standard output.
        func fail(_ failure: String) {
            failures.append(failure)
            FileHandle.standardError.write(Data("✗ \(failure)\n".utf8))
        }
        for file in files {
            let session = Session(frontEnd: quiet ? SilentFrontEnd() : TerminalFrontEnd())
            session.checking = check
            let notebook = Notebook(session: session, width: 96, color: false, write: { quiet ? () : print($0) })
            do {
                try notebook.load(file)
            } catch {
                fail("\(printable(file)): \(describe(error))")
                continue
            }
            let start = Date()
            let outcome = notebook.runRest()
            let cells = notebook.lesson?.cells.count ?? 0
            if case .ok = outcome {
                print("✓ \(file): \(cells) cells in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
            } else {
                let index = max(0, notebook.position - 1)
                let line = notebook.lesson?.cells[index].line ?? 0
                let reason: String
                switch outcome {
                case .failed(let why): reason = why
                case .interrupted: reason = "interrupted"
                case .ok: reason = ""
                }
                fail("\(printable(file)): cell \(index + 1) (line \(line)): \(reason)")
            }
        }
        if !failures.isEmpty {
            FileHandle.standardError.write(Data("\n\(failures.count) lesson(s) failed:\n\(failures.map { "  " + $0 + "\n" }.joined())".utf8))
            throw ExitCode.failure
        }
    }
}

/// The reference page of every builtin, generated from the builtins table.
struct Docs: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print (or write) the reference page of every builtin.")
    @Option(help: "Write the page to this file instead of printing it.")
    var out: String?
    func run() throws {
        let page = referencePage()
        if let out { try page.write(toFile: out, atomically: true, encoding: .utf8); print("wrote \(out)") } else { print(page) }
    }
}
