import CPlatform
import CZMQ
import Engine
import Foundation
import Library
import Notebook
import Script

/// Normlab as a Jupyter kernel (messaging protocol 5.3): the same session as the REPL's, with
/// its output as Jupyter messages. Cells run on the calling thread, which serves the shell
/// socket; the heartbeat and control sockets have threads of their own, so the heartbeat
/// answers and a shutdown or interrupt request is heard while a cell runs.
public final class Kernel: CommandHost, @unchecked Sendable {
    let signer: Signer
    let context: SocketContext
    let shell, control, iopub, stdin, heartbeat: Socket
    public let session: Session
    let frontEnd: KernelFrontEnd
    let sessionID = UUID().uuidString.lowercased()
    let version: String
    /// The iopub socket is the only one used from several threads.
    let iopubLock = NSLock()
    /// The request whose output is being published.
    var current: Message?
    var executionCount = 0
    var history: [(count: Int, code: String)] = []

    /// Binds the sockets of the connection file. `interrupt` is the flag SIGINT sets;
    /// `checking` runs the lessons' small presets, as `normlab run --check` does.
    public init(connection: ConnectionInfo, interrupt: InterruptFlag, checking: Bool = false, version: String) throws {
        signer = try Signer(key: connection.key, scheme: connection.signatureScheme)
        context = try SocketContext()
        shell = try Socket(context, type: ZMQ_ROUTER, bind: connection.endpoint(connection.shellPort))
        control = try Socket(context, type: ZMQ_ROUTER, bind: connection.endpoint(connection.controlPort))
        iopub = try Socket(context, type: ZMQ_PUB, bind: connection.endpoint(connection.iopubPort))
        stdin = try Socket(context, type: ZMQ_ROUTER, bind: connection.endpoint(connection.stdinPort))
        heartbeat = try Socket(context, type: ZMQ_REP, bind: connection.endpoint(connection.heartbeatPort))
        self.version = version
        var publish: (String, JSONObject) -> Void = { _, _ in }
        frontEnd = KernelFrontEnd { publish($0, $1) }
        session = Session(frontEnd: frontEnd, interrupt: interrupt)
        session.checking = checking
        publish = { [unowned self] type, content in self.publish(type, content, parent: self.current) }
    }

    /// Reads the connection file, binds, and serves until a shutdown request. SIGINT (Jupyter's
    /// interrupt in signal mode) sets the session's interrupt flag, as Ctrl-C does in the REPL.
    public static func serve(connectionFile: String, checking: Bool, version: String) throws -> Never {
        _ = nl_signal_handle(SIGINT) { _ in kernelInterrupt.request() }
        try Kernel(connection: ConnectionInfo.read(connectionFile), interrupt: kernelInterrupt, checking: checking, version: version).run()
    }

    /// Serves until a shutdown request; never returns.
    public func run() -> Never {
        Thread.detachNewThread { [self] in
            // Echoes every message back, which is all a heartbeat is.
            while let frames = heartbeat.receive() { heartbeat.send(frames) }
        }
        Thread.detachNewThread { [self] in
            while let frames = control.receive() { handle(frames, on: control) }
        }
        publish("status", ["execution_state": "starting"], parent: nil)
        while let frames = shell.receive() { handle(frames, on: shell) }
        exit(0)
    }

    func handle(_ frames: [[UInt8]], on socket: Socket) {
        let request: Message
        do { request = try Message.decode(frames, signer: signer) } catch {
            FileHandle.standardError.write(Data("normlab kernel: ignored a message: \(error)\n".utf8))
            return
        }
        let type = request.type
        // Control answers only what must be heard while a cell runs: a second thread may not run the session.
        guard type.hasSuffix("_request"), socket !== control || ["kernel_info_request", "shutdown_request", "interrupt_request"].contains(type) else {
            FileHandle.standardError.write(Data("normlab kernel: no answer to \(type)\n".utf8))
            return
        }
        publish("status", ["execution_state": "busy"], parent: request)
        defer { publish("status", ["execution_state": "idle"], parent: request) }
        let reply: JSONObject
        switch type {
        case "kernel_info_request": reply = kernelInfo
        case "execute_request": reply = execute(request)
        case "complete_request": reply = complete(request.content)
        case "inspect_request": reply = inspect(request.content)
        case "is_complete_request": reply = isComplete(request.content)
        case "history_request": reply = historyReply(request.content)
        case "comm_info_request": reply = ["status": "ok", "comms": JSONObject()]
        case "interrupt_request":
            session.interpreter.interrupt.request()
            reply = ["status": "ok"]
        case "shutdown_request":
            let restart = request.content["restart"] as? Bool ?? false
            send(Message("shutdown_reply", content: ["status": "ok", "restart": restart], parent: request, session: sessionID), on: socket)
            publish("status", ["execution_state": "idle"], parent: request)
            // The reply leaves through ZeroMQ's I/O thread; give it a moment before the process ends.
            Thread.sleep(forTimeInterval: 0.1)
            exit(0)
        default:
            FileHandle.standardError.write(Data("normlab kernel: no answer to \(type)\n".utf8))
            return
        }
        send(Message(String(type.dropLast("_request".count)) + "_reply", content: reply, parent: request, session: sessionID), on: socket)
    }

    func send(_ message: Message, on socket: Socket) {
        do { socket.send(try message.encode(signer: signer)) } catch {
            FileHandle.standardError.write(Data("normlab kernel: cannot send \(message.type): \(error)\n".utf8))
        }
    }

    func publish(_ type: String, _ content: JSONObject, parent: Message?) {
        var message = Message(type, content: content, parent: parent, session: sessionID)
        // On iopub the first frame is a topic that subscribers may filter on, not a route.
        message.identities = [Array("kernel.\(sessionID).\(type)".utf8)]
        iopubLock.lock()
        defer { iopubLock.unlock() }
        send(message, on: iopub)
    }

    var kernelInfo: JSONObject {
        ["status": "ok", "protocol_version": Message.protocolVersion, "implementation": "normlab", "implementation_version": version,
         "language_info": NotebookDocument.languageInfo,
         "banner": "Normlab \(version): spectral norm, AdaIN and WGAN-GP, step by step. name? describes a builtin; :help lists them all.",
         "help_links": [JSONObject](), "debugger": false]
    }

    // MARK: Requests

    func execute(_ request: Message) -> JSONObject {
        let code = request.content["code"] as? String ?? ""
        let silent = request.content["silent"] as? Bool ?? false
        if !silent && (request.content["store_history"] as? Bool ?? true) {
            executionCount += 1
            history.append((executionCount, code))
        }
        if !silent { publish("execute_input", ["code": code, "execution_count": executionCount], parent: request) }
        current = request
        frontEnd.executionCount = executionCount
        session.frontEnd = silent ? SilentFrontEnd() : frontEnd
        // An interrupt that came while nothing ran is not for this cell.
        session.interpreter.interrupt.clear()
        defer { current = nil; session.frontEnd = frontEnd }
        // What errors point into: the cell, or the expression of `:time EXPR`.
        var source = code
        do {
            if let (command, argument) = try Kernel.command(in: code) {
                source = argument
                try command.run(in: self, argument: argument)
            } else {
                do { try session.run(code, file: "In[\(executionCount)]") } catch let error as ScriptError {
                    throw Kernel.explained(error, in: code)
                }
            }
            return ["status": "ok", "execution_count": executionCount, "user_expressions": JSONObject(), "payload": [JSONObject]()]
        } catch {
            let (name, value, traceback) = describe(error, code: source)
            if !silent { publish("error", ["ename": name, "evalue": value, "traceback": traceback], parent: request) }
            return ["status": "error", "execution_count": executionCount, "ename": name, "evalue": value, "traceback": traceback]
        }
    }

    /// A cell that is one `:` command or a question about a name (`adain?`, `?x`), read as the
    /// REPL reads such a line; nil for code.
    static func command(in code: String) throws -> (command: Command, argument: String)? {
        guard let line = onlyLine(of: code) else { return nil }
        return try Command.parse(line)
    }

    /// The cell's one line, trimmed, when it has no other (blank lines aside).
    static func onlyLine(of code: String) -> String? {
        let line = code.trimmingCharacters(in: .whitespacesAndNewlines)
        return line.contains(where: \.isNewline) ? nil : line
    }

    /// A parse error on a line of a longer cell that is a command (`:vars`) or `name?`: the
    /// error says that such a line needs a cell of its own, which is all the kernel reads.
    static func explained(_ error: ScriptError, in code: String) -> ScriptError {
        let lines = code.split(separator: "\n", omittingEmptySubsequences: false)
        guard error.kind == .syntax, error.function == nil, let number = error.location?.line, lines.indices.contains(number - 1) else { return error }
        let line = lines[number - 1].trimmingCharacters(in: .whitespaces)
        guard Command.isCommand(line) else { return error }
        var explained = error
        explained.hint = "'\(printable(line))' is not code but a command: give it a cell of its own"
        return explained
    }

    // MARK: CommandHost

    public var isTerminal: Bool { false }
    public func say(_ text: String) { session.frontEnd.text(text) }
    /// Help (`name?`, `:help`) is the cell's output, not IPython's "page" payload: a payload
    /// is shown only by some front ends and never kept in the notebook (nbclient, nbconvert
    /// and a saved .ipynb drop it), and help in a lesson belongs with the cell that asked.
    public func page(_ text: String) { session.frontEnd.text(text) }
    public func resetVariables() { session.interpreter.reset() }

    /// Jupyter's three fields of an error: its kind, its message, and the lines to show (the
    /// error as the REPL prints it, with the cell's line and a caret).
    func describe(_ error: Error, code: String) -> (name: String, value: String, traceback: [String]) {
        guard let error = error as? ScriptError else { return ("Error", "\(error)", ["error: \(error)"]) }
        let name: String
        switch error.kind {
        case .syntax: name = "SyntaxError"
        case .runtime: name = "RuntimeError"
        case .check: name = "CheckFailed"
        case .interrupted: name = "KeyboardInterrupt"
        }
        let rendered = error.rendered(in: SourceText(code, file: "In[\(executionCount)]"))
        return (name, error.description, rendered.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
    }

    /// The REPL's completion of the text before the cursor.
    func complete(_ content: JSONObject) -> JSONObject {
        let code = content["code"] as? String ?? ""
        let cursor = content["cursor_pos"] as? Int ?? code.unicodeScalars.count
        let before = String(String.UnicodeScalarView(code.unicodeScalars.prefix(cursor)))
        let completion = Command.completions(of: before, terminal: false) ?? session.complete(before)
        // Jupyter counts the cursor in code points, Completion in characters.
        let start = String(before.prefix(completion.start)).unicodeScalars.count
        return ["status": "ok", "matches": completion.candidates, "cursor_start": start, "cursor_end": cursor, "metadata": JSONObject()]
    }

    /// Help for the name at the cursor, from the builtins table.
    func inspect(_ content: JSONObject) -> JSONObject {
        let code = Array((content["code"] as? String ?? "").unicodeScalars)
        var end = min(max(0, content["cursor_pos"] as? Int ?? code.count), code.count)
        func isName(_ c: Unicode.Scalar) -> Bool { c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "_" }
        while end < code.count, isName(code[end]) { end += 1 }
        var start = end
        while start > 0, isName(code[start - 1]) { start -= 1 }
        let name = String(String.UnicodeScalarView(code[start..<end]))
        guard !name.isEmpty, let help = session.helpIfKnown(name) else {
            return ["status": "ok", "found": false, "data": JSONObject(), "metadata": JSONObject()]
        }
        return ["status": "ok", "found": true, "data": ["text/plain": help], "metadata": JSONObject()]
    }

    /// The language's own answer: complete, incomplete (with the indent of the next line) or invalid.
    func isComplete(_ content: JSONObject) -> JSONObject {
        let code = content["code"] as? String ?? ""
        // A command runs as it is (an unknown one says so): the language would call `:` or `x?` invalid.
        if let line = Kernel.onlyLine(of: code), Command.isCommand(line) { return ["status": "complete"] }
        switch Parser.completeness(of: code) {
        case .complete: return ["status": "complete"]
        case .invalid: return ["status": "invalid"]
        case .incomplete:
            let last = code.split(separator: "\n", omittingEmptySubsequences: false).last ?? ""
            let indent = String(last.prefix { $0 == " " })
            let opens = ["{", "(", "["].contains(last.trimmingCharacters(in: .whitespaces).suffix(1))
            return ["status": "incomplete", "indent": indent + (opens ? "    " : "")]
        }
    }

    /// This kernel's inputs so far: all of them, or the last `n` for a "tail" request.
    func historyReply(_ content: JSONObject) -> JSONObject {
        var entries = history
        if content["hist_access_type"] as? String == "tail", let n = content["n"] as? Int { entries = Array(entries.suffix(max(0, n))) }
        if content["hist_access_type"] as? String == "search" { entries = [] }
        return ["status": "ok", "history": entries.map { [0, $0.count, $0.code] as [Any] }]
    }
}

/// The flag the kernel's SIGINT handler sets (a C handler can reach only globals).
let kernelInterrupt = InterruptFlag()
