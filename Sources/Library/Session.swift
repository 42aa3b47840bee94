import Engine
import Foundation
import Preview
import Script

/// A running session of the lesson language: an interpreter with the builtins and tensor
/// members bound in, and the front end that shows what its cells do.
public final class Session {
    public let interpreter: Interpreter
    /// Renders text, pictures and progress: the terminal, the Jupyter kernel, or a recorder
    /// in front of either (the notebook's transcript).
    public var frontEnd: FrontEnd
    /// True under `normlab run --check`: cells that train read it (`checking()`) to run a small preset.
    public var checking = false

    static let builtinsByName = Dictionary(uniqueKeysWithValues: builtins.map { ($0.name, $0) })
    static let membersByName = Dictionary(uniqueKeysWithValues: tensorMembers.map { ($0.name, $0) })

    public init(frontEnd: FrontEnd, interrupt: InterruptFlag = InterruptFlag()) {
        self.interpreter = Interpreter(interrupt: interrupt)
        self.frontEnd = frontEnd
        interpreter.output = { [unowned self] in self.emit(text: $0) }
        for builtin in builtins {
            interpreter.builtins[builtin.name] = .builtin(BuiltinFunction(name: builtin.name) { [unowned self] args in
                try builtin.body(builtin.signature.bind(args), self)
            })
        }
        interpreter.members = { value, name, location in try Session.member(of: value, name, at: location) }
        interpreter.nameHints.merge(pytorchFunctionNames) { $1 }
    }

    /// A session on a terminal whose text goes to `output` (and live displays to `live`, when given).
    public convenience init(colorMode: ColorMode = .ascii, interrupt: InterruptFlag = InterruptFlag(), output: @escaping (String) -> Void = { print($0) },
                            live: ((String) -> Void)? = nil) {
        self.init(frontEnd: TerminalFrontEnd(colorMode: colorMode, write: output, live: live), interrupt: interrupt)
    }

    public var colorMode: ColorMode { frontEnd.colorMode }

    public func emit(text: String) { frontEnd.text(text) }
    public func show(_ picture: Picture, display: DisplayID? = nil) { frontEnd.show(picture, display: display) }

    /// Progress of a long builtin (shown at once when the total is known); call `finish()` when
    /// it ends, also on errors.
    public func progress(_ label: String, total: Int?) -> ProgressReporter {
        ProgressReporter(frontEnd: frontEnd, label: label, total: total)
    }

    /// Runs `load` with a "decoding" bar that appears when a folder is being decoded (not for a
    /// cached one).
    public func decoding<T>(_ load: (_ progress: @escaping @Sendable (Int, Int) -> Void) throws -> T) rethrows -> T {
        let bar = progress("decoding", total: nil)
        defer { bar.finish() }
        return try load { done, total in bar.update(done, of: total) }
    }

    /// Runs source (from `file`, starting at its line `firstLine`); each bare expression's
    /// value is shown (and bound to `_`).
    public func run(_ source: String, file: String = "<input>", firstLine: Int = 1) throws {
        try interpreter.run(source, file: file, firstLine: firstLine) { [unowned self] value in self.frontEnd.result(value.display) }
    }

    /// Properties and methods: tensor members from the table, fields of records, counts.
    static func member(of value: Value, _ name: String, at location: Location) throws -> Value? {
        switch value {
        case .tensor(let t):
            guard let member = membersByName[name] else {
                throw ScriptError(.runtime, "a Tensor has no property or method '\(name)'", at: location, hint: missingMemberHint(name))
            }
            if member.isProperty {
                return try member.body(t, member.signature.bind(Arguments(positional: [], labeled: [], location: location, function: name)))
            }
            return .builtin(BuiltinFunction(name: name) { args in try member.body(t, member.signature.bind(args)) })
        case .object(let object as Record):
            guard let field = object.fields.first(where: { $0.name == name }) else {
                throw ScriptError(.runtime, "\(object.typeName) has no field '\(name)'", at: location,
                                  hint: "its fields: " + object.fields.map(\.name).joined(separator: ", "))
            }
            return field.value
        default: return nil
        }
    }
}
