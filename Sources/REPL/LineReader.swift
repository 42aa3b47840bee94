import CEditLine
import CPlatform
import Foundation
import Library
import Script
#if canImport(Glibc)
import Glibc
#endif

/// Where input lines come from: libedit on a terminal, plain `readLine` otherwise.
public protocol LineReader: AnyObject {
    /// The next line, or nil at the end of input. `cancelled` is true when Ctrl-C discarded it.
    func read(prompt: String) -> (line: String?, cancelled: Bool)
    func remember(_ line: String)
}

/// Reads standard input line by line, without editing, prompts or escape codes.
public final class PlainReader: LineReader {
    public init() {}
    public func read(prompt: String) -> (line: String?, cancelled: Bool) { (Swift.readLine(strippingNewline: true), false) }
    public func remember(_ line: String) {}
}

/// The process-wide interrupt flag: set by the SIGINT handler, checked by running code.
public let sharedInterrupt = InterruptFlag()

/// Ctrl-C: without SA_RESTART, so a read at the prompt returns with EINTR (the line is
/// discarded); during a computation the running code sees the flag between operations.
public func installInterruptHandler() {
    _ = nl_signal_handle(SIGINT) { _ in sharedInterrupt.request() }
}

/// Line editing with libedit: history (saved to a file), Emacs keys, Tab completion.
public final class EditLineReader: LineReader {
    let editLine: OpaquePointer
    let history: OpaquePointer
    var event = HistEvent()
    let historyFile: String
    /// Completes the text before the cursor.
    let complete: (_ before: String) -> Completion
    /// The prompt libedit asks for through a C callback.
    nonisolated(unsafe) static var prompt = strdup("> ")
    nonisolated(unsafe) static weak var current: EditLineReader?

    public init?(historyFile: String, complete: @escaping (String) -> Completion) {
        // libedit decides at init whether input is UTF-8.
        setlocale(LC_ALL, "")
        guard let e = el_init("normlab", nl_stdin(), nl_stdout(), nl_stderr()), let h = history_init() else { return nil }
        (editLine, history, self.historyFile, self.complete) = (e, h, historyFile, complete)
        nl_history_setsize(h, &event, 2000)
        nl_history_unique(h, &event, 1)
        withHistoryFile(writing: false) { fd in nl_history_load(h, &event, "/dev/fd/\(fd)") }
        nl_el_set_history(e, h)
        nl_el_set_editor(e, "emacs")
        nl_el_set_signal(e, 0)
        nl_el_set_prompt(e) { _ in EditLineReader.prompt }
        nl_el_add_function(e, "normlab-complete", "complete a name") { e, _ in
            guard let e, let reader = EditLineReader.current else { return UInt8(CC_ERROR) }
            return reader.completion(e)
        }
        nl_el_bind(e, "^I", "normlab-complete")
        nl_el_source_default(e)
        EditLineReader.current = self
    }

    deinit {
        saveHistory()
        history_end(history)
        el_end(editLine)
    }

    /// Why the history file is not used, once said; nil while it is.
    var historyRefused: String?

    /// Runs `body` with the history file open, never through a symbolic link (O_NOFOLLOW): a
    /// link planted at its path would otherwise have each saved line overwrite its target.
    func withHistoryFile(writing: Bool, _ body: (Int32) -> Void) {
        guard historyRefused == nil else { return }
        func refuse(_ why: String) {
            historyRefused = why
            FileHandle.standardError.write(Data("note: the history is not kept in \(historyFile): \(why)\n".utf8))
        }
        let fd = open(historyFile, (writing ? O_WRONLY | O_CREAT : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == ELOOP { refuse("it is a symbolic link, which Normlab does not follow") }
            else if writing || errno != ENOENT { refuse(String(cString: strerror(errno))) }
            return
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { refuse("it is not a regular file"); return }
        body(fd)
    }

    /// Writes the history, readable by its owner only.
    func saveHistory() {
        withHistoryFile(writing: true) { fd in
            guard fchmod(fd, 0o600) == 0, ftruncate(fd, 0) == 0, let file = fdopen(dup(fd), "w") else { return }
            nl_history_save_fp(history, &event, file)
            fclose(file)
        }
    }

    public func read(prompt: String) -> (line: String?, cancelled: Bool) {
        free(EditLineReader.prompt)
        EditLineReader.prompt = strdup(prompt)
        var count: Int32 = 0
        errno = 0
        guard let raw = el_gets(editLine, &count) else {
            if errno == EINTR {
                sharedInterrupt.clear()
                print("^C")
                return (nil, true)
            }
            return (nil, false)
        }
        var line = String(cString: raw)
        if line.hasSuffix("\n") { line.removeLast() }
        return (line, false)
    }

    public func remember(_ line: String) {
        guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { return }
        nl_history_enter(history, &event, line)
        saveHistory()
    }

    /// Tab: one candidate is inserted; several insert their common prefix and are listed. The
    /// candidates replace the fragment before the cursor (a path may replace more than a word).
    func completion(_ e: OpaquePointer) -> UInt8 {
        guard let info = el_line(e)?.pointee, let start = info.buffer else { return UInt8(CC_ERROR) }
        let before = String(decoding: UnsafeBufferPointer(start: UnsafeRawPointer(start).assumingMemoryBound(to: UInt8.self),
                                                          count: info.cursor - start), as: UTF8.self)
        let completion = complete(before)
        let candidates = completion.candidates
        let typed = String(before.dropFirst(completion.start))
        let replacement = candidates.count == 1 ? candidates[0] : completion.common
        if replacement.count > typed.count || (replacement != typed && candidates.count == 1) {
            if replacement.hasPrefix(typed) {
                el_insertstr(e, String(replacement.dropFirst(typed.count)))
            } else {
                el_deletestr(e, Int32(typed.count))
                el_insertstr(e, replacement)
            }
            return UInt8(CC_REFRESH)
        }
        if candidates.count > 1 {
            // Paths are listed by their names, as a shell lists them.
            let folder = completion.common.lastIndex(of: "/").map { completion.common[...$0].count } ?? 0
            print("\n" + candidates.map { $0.dropFirst(folder).trimmingCharacters(in: .whitespaces) }.joined(separator: "  "))
            return UInt8(CC_REDISPLAY)
        }
        return UInt8(CC_REFRESH)
    }
}
