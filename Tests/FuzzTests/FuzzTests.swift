import Dispatch
import Engine
import Foundation
import Library
import Notebook
import REPL
import Script
import SIMDKernels
import Synchronization
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The front end, made to hold (issue 17): seeded programs through the interpreter and through
/// the REPL's piped mode, each of which must give an answer (a result or an error message),
/// crash nothing, and stop when interrupted. Programs take turns: even ones go to the
/// interpreter (`Session.run`), odd ones line by line to the piped REPL, which runs them with
/// the same interpreter after its own reading of lines; each kind of program goes through both.
/// One mutated cell in five runs where its lesson's variables exist, the others alone (most
/// stop at their first name): a cell with its lesson's data runs for real, which is slow in a
/// debug build.
///
/// `NORMLAB_FUZZ=N` sets the number of programs (default 20,000), `NORMLAB_FUZZ_SEED=S` the
/// seed (default 17); both print, and a failure names the seed, the program's number and its
/// text. Expensive builtins (training, faces, metrics) are not denied: each program has a
/// deadline after which a watchdog sets the interrupt flag, as Ctrl-C does, and keeps it set;
/// a program still running `hangGrace` after that is a hang.
final class FuzzTests: XCTestCase {
    /// How long a program runs before it is interrupted. Short, so that the expensive ones do
    /// not eat the minute; what they do before it is still exercised.
    static let deadline: UInt64 = 10_000_000
    /// A lesson's own cell, run to build the variables its mutations use, may take longer.
    static let cellDeadline: UInt64 = 300_000_000
    /// How long an interrupted program may take to stop before it counts as a hang. Ctrl-C is
    /// meant to answer within 100 ms in a release build; a debug build is slower, and the
    /// largest latency seen is printed. `train_gan` finishes its iteration on Ctrl-C (so that
    /// what it keeps is a whole step), and the portable configuration compiles its kernels
    /// unoptimised in a debug build (it may have no unsafe flags): there one iteration of lesson
    /// 5's checking preset takes 2 s alone and 4 s with the other core busy, against 0.2 s with
    /// the CPU's kernels. A program that ignores the flag never stops, whichever the bound.
    static let hangGrace: UInt64 = vectorInstructions == "AVX2" ? 2_000_000_000 : 10_000_000_000

    func testSeededProgramsAllAnswerAndStopWhenInterrupted() throws {
        let environment = ProcessInfo.processInfo.environment
        let count = environment["NORMLAB_FUZZ"].flatMap { Int($0) } ?? 20_000
        let seed = environment["NORMLAB_FUZZ_SEED"].flatMap { UInt64($0) } ?? 17
        // To run one program again: NORMLAB_FUZZ_FROM=its number, NORMLAB_FUZZ=its number + 1.
        let first = environment["NORMLAB_FUZZ_FROM"].flatMap { Int($0) } ?? 0
        print("fuzz: seed \(seed), \(count) programs (NORMLAB_FUZZ_SEED and NORMLAB_FUZZ set them)")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let corpus = try Corpus(lessons: root.appendingPathComponent("Lessons"))
        XCTAssertGreaterThan(corpus.cells.count, 50, "the lessons' cells and the reference's examples")
        XCTAssertGreaterThan(corpus.builtins.count, 40, "the reference's signatures")

        // Builtins that write files (save_png, save, :save) write into a folder of their own.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("normlab-fuzz-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let previousDirectory = FileManager.default.currentDirectoryPath
        _ = FileManager.default.changeCurrentDirectoryPath(folder.path)
        defer {
            _ = FileManager.default.changeCurrentDirectoryPath(previousDirectory)
            try? FileManager.default.removeItem(at: folder)
        }

        let interrupt = InterruptFlag()
        let session = Session(interrupt: interrupt, output: { _ in })
        session.checking = true  // the lessons' training cells take their small preset, as under `run --check`
        let settings = EngineSettings()
        // One kernel is not interrupted part-way, and filling gigabytes (ones(1_000_000_000) is
        // under the default 4 GiB limit) takes seconds: the programs here meet the limit's
        // error instead, which is what they test. At 64 MiB a debug build still spent over 2 s
        // in randn(128128, 128) and close() of it, each one call.
        Runtime.allocationLimit = 16 << 20
        Runtime.memoryBudget = 1 << 30
        let fuzzSettings = EngineSettings()
        defer { settings.restore() }
        let watchdog = Watchdog(interrupt: interrupt, grace: FuzzTests.hangGrace)
        CrashNote.install()
        defer { watchdog.stop(); CrashNote.uninstall() }
        let contextStarted = DispatchTime.now().uptimeNanoseconds
        let contexts = lessonContexts(corpus, session, watchdog)
        print("fuzz: the lessons' variables built in \(String(format: "%.1f", Double(DispatchTime.now().uptimeNanoseconds - contextStarted) / 1e9)) s")

        var answers: [String: Int] = [:]
        var secondsByKind: [ProgramKind: Double] = [:]
        let started = DispatchTime.now().uptimeNanoseconds
        for index in first..<max(first, count) {
            var maker = ProgramMaker(corpus: corpus, rng: SeededGenerator(seed: seed, index: index))
            let (kind, cell, source) = maker.program(index)
            let name = "seed \(seed) program \(index) (\(kind.rawValue)"
                + (cell.map { ", \($0.lesson) cell \($0.number)" + (index % 5 == 0 ? " with the lesson's variables" : " alone") } ?? "") + ")"
            do {
                let path = index % 2 == 0 ? "interpreter" : "piped REPL"
                let inContext = index % 5 == 0
                let note = "fuzz: \(name) through the \(path):\n" + excerpt(source)
                CrashNote.set(note)
                fuzzSettings.restore()  // `:threads`, `:memory` and `:backend` change them
                Runtime.seed(UInt64(index))
                session.interpreter.reset()
                if let lesson = cell?.lesson, inContext, let variables = contexts[lesson] {
                    for variable in variables { session.interpreter.setVariable(variable.name, variable.value) }
                }
                interrupt.clear()
                watchdog.begin(note, deadline: FuzzTests.deadline)
                let programStarted = DispatchTime.now().uptimeNanoseconds
                defer { secondsByKind[kind, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - programStarted) / 1e9 }
                let answer = path == "interpreter" ? runInInterpreter(source, session) : runPiped(source, session)
                watchdog.end()
                switch answer {
                case .some(let kind): answers[path + ": " + kind, default: 0] += 1
                case .none: XCTFail("\(name) through the \(path) gave no answer (no result, no error message):\n" + excerpt(source))
                }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        print("fuzz: \(count - first) programs, in turn through the interpreter and the piped REPL, in \(String(format: "%.1f", seconds)) s; 0 crashes, 0 hangs")
        print("fuzz: answers: " + answers.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        print("fuzz: seconds by kind: " + ProgramKind.allCases.map { "\($0.rawValue) \(String(format: "%.1f", secondsByKind[$0] ?? 0))" }.joined(separator: ", "))
        print("fuzz: \(watchdog.interrupts) programs interrupted at the deadline; the slowest to stop:")
        for (latency, note) in watchdog.slowestStops {
            print("fuzz:   \(String(format: "%.1f", Double(latency) / 1e6)) ms, " + note.dropFirst("fuzz: ".count).prefix(600))
        }
    }

    /// A program as a report shows it: whole if short, else its start and its length.
    func excerpt(_ source: String) -> String {
        source.count <= 1500 ? source + "\n" : source.prefix(1500) + "… (\(source.count) characters in all)\n"
    }

    /// The variables each lesson leaves, so a mutated cell runs where its names exist (a cell
    /// alone mostly stops at its first name). Built once, in checking mode.
    func lessonContexts(_ corpus: Corpus, _ session: Session, _ watchdog: Watchdog) -> [String: [(name: String, value: Value)]] {
        var contexts: [String: [(name: String, value: Value)]] = [:]
        for lesson in Set(corpus.cells.map(\.lesson)) where lesson != "reference.md" {
            session.interpreter.reset()
            Runtime.seed(0)
            for cell in corpus.cells where cell.lesson == lesson {
                let note = "fuzz: building the variables of \(lesson): cell \(cell.number)\n"
                CrashNote.set(note)
                session.interpreter.interrupt.clear()
                watchdog.begin(note, deadline: FuzzTests.cellDeadline)
                try? session.run(cell.code)
                watchdog.end(counted: false)
            }
            contexts[lesson] = session.interpreter.variables
        }
        return contexts
    }

    /// Runs `source` in the session; what kind of answer it gave, or nil for none.
    func runInInterpreter(_ source: String, _ session: Session) -> String? {
        do {
            try session.run(source)
            return "ran"
        } catch let error as ScriptError {
            return error.message.isEmpty ? nil : error.kind.rawValue
        } catch {
            return describe(error).isEmpty ? nil : "other error"
        }
    }

    /// Feeds `source` line by line to the REPL in piped mode, as `normlab repl < file` does; what
    /// kind of answer it gave, or nil for none (a failure status with no message).
    func runPiped(_ source: String, _ session: Session) -> String? {
        var written: [String] = []
        let notebook = Notebook(session: session, write: { written.append($0) })
        let status = REPL(notebook: notebook, reader: LinesReader(source), interactive: false, strict: false).run()
        if status == 0 { return "status 0" }
        return written.contains { $0.contains("error") || $0.contains("interrupted") || $0.contains("check failed") } ? "status \(status)" : nil
    }
}

/// The engine settings a program can change through REPL commands.
struct EngineSettings {
    let backend = Runtime.backend, threads = Runtime.threads, budget = Runtime.memoryBudget, limit = Runtime.allocationLimit
    func restore() {
        Runtime.backend = backend
        Runtime.threads = threads
        Runtime.memoryBudget = budget
        Runtime.allocationLimit = limit
    }
}

/// Piped input from a string: the lines `readLine` would give.
final class LinesReader: LineReader {
    var lines: [Substring]
    var next = 0
    init(_ text: String) { lines = text.split(separator: "\n", omittingEmptySubsequences: false) }
    func read(prompt: String) -> (line: String?, cancelled: Bool) {
        guard next < lines.count else { return (nil, false) }
        next += 1
        return (String(lines[next - 1]), false)
    }
    func remember(_ line: String) {}
}

/// Sets the interrupt flag when a program passes its deadline, and keeps setting it (Ctrl-C
/// held down) until the program ends; a program that outlives the grace after that is a hang,
/// which stops the test process with the seed, the number and the text of the program (a
/// hung thread cannot be failed any other way).
final class Watchdog: Sendable {
    struct Running { var note: String; var started: UInt64; var deadline: UInt64; var interrupted: UInt64? }
    struct Record { var interrupts = 0; var slowest: [(latency: UInt64, note: String)] = [] }
    let running = Mutex<Running?>(nil)
    let record = Mutex(Record())
    let stopped = Atomic<Bool>(false)
    let interrupt: InterruptFlag
    let grace: UInt64

    init(interrupt: InterruptFlag, grace: UInt64) {
        (self.interrupt, self.grace) = (interrupt, grace)
        Thread.detachNewThread { [self] in watch() }
    }

    func begin(_ note: String, deadline: UInt64) {
        running.withLock { $0 = Running(note: note, started: DispatchTime.now().uptimeNanoseconds, deadline: deadline) }
    }

    func end(counted: Bool = true) {
        // The clock is read under the lock: read before it, it could be earlier than a time the
        // other thread stored meanwhile.
        guard let (finished, now) = running.withLock({ state -> (Running, UInt64)? in
                  defer { state = nil }
                  return state.map { ($0, DispatchTime.now().uptimeNanoseconds) }
              }),
              let interrupted = finished.interrupted, counted else { return }
        record.withLock {
            $0.interrupts += 1
            $0.slowest = Array(($0.slowest + [(now - interrupted, finished.note)]).sorted { $0.latency > $1.latency }.prefix(5))
        }
    }

    func stop() { stopped.store(true, ordering: .relaxed) }

    var interrupts: Int { record.withLock { $0.interrupts } }
    /// The five programs that took longest to stop after the interrupt.
    var slowestStops: [(latency: UInt64, note: String)] { record.withLock { $0.slowest } }

    func watch() {
        while !stopped.load(ordering: .relaxed) {
            usleep(1_000)
            let hung: String? = running.withLock { state in
                let now = DispatchTime.now().uptimeNanoseconds
                guard var current = state, now - current.started > current.deadline else { return nil }
                interrupt.request()
                if current.interrupted == nil { current.interrupted = now; state = current }
                return now - (current.interrupted ?? now) > grace ? current.note : nil
            }
            if let hung {
                FileHandle.standardError.write(Data(("fuzz: HANG: still running \(grace / 1_000_000) ms after the interrupt\n" + hung).utf8))
                exit(1)
            }
        }
    }
}

/// What is running, written to standard error if the process dies of a signal: a crash names
/// its seed, number and program. The text is kept as raw bytes the handler can write without
/// allocating; the handler runs on a stack of its own, so a stack overflow is reported too.
enum CrashNote {
    nonisolated(unsafe) static var bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    nonisolated(unsafe) static var length = 0
    static let capacity = 1 << 16
    static let signals = [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE]

    static func set(_ note: String) {
        length = 0
        for byte in note.utf8.prefix(capacity) {
            bytes[length] = byte
            length += 1
        }
    }

    static func install() {
        _ = prefixLength
        let size = 1 << 16
        var stack = stack_t()
        stack.ss_sp = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        stack.ss_size = size
        sigaltstack(&stack, nil)
        for signal in signals {
            var action = sigaction()
            #if canImport(Glibc)
            action.__sigaction_handler.sa_handler = report
            #else
            action.__sigaction_u.__sa_handler = report
            #endif
            action.sa_flags = Int32(SA_ONSTACK)
            sigaction(signal, &action, nil)
        }
    }

    static func uninstall() {
        for number in signals { signal(number, SIG_DFL) }
    }

    /// The prefix is written from a static buffer: a signal handler must not allocate.
    nonisolated(unsafe) static let prefix = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 32)
    static let prefixLength: Int = {
        let text = Array("\nfuzz: CRASH (a signal) in ".utf8)
        _ = prefix.initialize(from: text)
        return text.count
    }()

    nonisolated(unsafe) static let report: @convention(c) (Int32) -> Void = { number in
        signal(number, SIG_DFL)
        _ = write(2, CrashNote.prefix.baseAddress, CrashNote.prefixLength)
        _ = write(2, CrashNote.bytes, CrashNote.length)
        raise(number)
    }
}
