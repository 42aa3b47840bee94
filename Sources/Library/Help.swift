import Script

/// Help, the index of every builtin and the reference page: all drawn from the declarations.
extension Session {
    /// Help for a builtin, a tensor member or a variable, or what might have been meant.
    public func help(_ name: String) -> String {
        if let known = helpIfKnown(name) { return known }
        let bare = name.hasPrefix(".") ? String(name.dropFirst()) : name
        let hint = suggestion(for: bare, among: builtins.map(\.name) + tensorMembers.map(\.name)).map { " (did you mean '\($0)'?)" } ?? ""
        return "no builtin, method or variable named '\(bare)'\(hint); `:help` lists them all"
    }

    /// Help for a builtin, a tensor member or a variable; nil when the name is none of them.
    public func helpIfKnown(_ name: String) -> String? {
        let bare = name.hasPrefix(".") ? String(name.dropFirst()) : name
        if let b = Session.builtinsByName[bare] { return b.help }
        if let m = Session.membersByName[bare] { return m.help }
        if let v = interpreter.variable(bare) {
            switch v {
            case .tensor(let t): return "\(bare): Tensor \(t.shape)"
            case .function(let f): return "\(bare): " + v.plain.replacingOccurrences(of: "func \(f.name)", with: "func")
            case .object(let record as Record): return "\(bare): \(record.typeName) with fields " + record.fields.map(\.name).joined(separator: ", ")
            default: return "\(bare): \(v.typeName)"
            }
        }
        return nil
    }

    /// Every builtin by topic, one line each, and how labels are spelled. The names are a
    /// column as wide as the longest, two spaces from the descriptions, so that a pager wraps a
    /// description under itself.
    public var helpIndex: String {
        let width = builtins.map(\.name.count).max() ?? 0
        return Builtin.Topic.allCases.map { topic in
            "\(topic.rawValue):\n" + builtins.filter { $0.topic == topic }.map { "  \($0.name.padding(toLength: width, withPad: " ", startingAt: 0))  \($0.doc)" }.joined(separator: "\n")
        }.joined(separator: "\n\n") + "\n\nTensor properties and methods: " + tensorMembers.map(\.name).joined(separator: ", ")
            + "\n\n" + labelConvention
    }
}

/// Which spelling of a label is canonical, and the other spellings accepted.
public let labelConvention: String = {
    // One entry per alias and label, naming every function that takes it.
    var users: [String: [String]] = [:], order: [String] = []
    for signature in builtins.map(\.signature) + tensorMembers.map(\.signature) {
        for p in signature.parameters {
            for alias in p.aliases {
                let key = "\(alias): for \(p.label ?? p.name):"
                if users[key] == nil { order.append(key) }
                users[key, default: []].append(signature.name)
            }
        }
    }
    let aliases = order.map { "\($0) (\(users[$0, default: []].joined(separator: ", ")))" }
    return "Labels are spelled the Swift way, in camelCase (keepDims:, createGraph:, outputPadding:): help, completion and the "
        + "reference show that spelling, which is the canonical one."
        + (aliases.isEmpty ? "" : " Accepted as aliases, PyTorch's spelling: " + aliases.joined(separator: ", ") + ".")
}()

/// The reference page of every builtin and tensor member, drawn from the tables.
public func referencePage() -> String {
    func entry(_ title: String, _ signature: Signature, _ doc: String, _ example: String) -> String {
        var text = "\n### `\(title)`\n\n`\(signature.text)`\n\n\(doc)\n"
        if !signature.parameters.isEmpty {
            text += "\n" + signature.parameters.map { p in
                let alias = p.aliases.isEmpty ? "" : " (also accepted: " + p.aliases.map { "`\($0):`" }.joined(separator: ", ") + ")"
                return "- `\(p.label.map { $0 + ":" } ?? p.name)` — \(p.doc)\(alias)"
            }.joined(separator: "\n") + "\n"
        }
        return text + "\n```swift\n\(example)\n```\n"
    }
    var page = "# Builtins reference\n\nGenerated from the builtins table (`normlab docs`); `help(\"name\")` shows the same in the REPL.\n\n"
        + labelConvention + "\n"
    for topic in Builtin.Topic.allCases {
        page += "\n## \(topic.rawValue)\n"
        for b in builtins where b.topic == topic { page += entry(b.name, b.signature, b.doc, b.example) }
    }
    page += "\n## Tensor properties and methods\n"
    for m in tensorMembers { page += entry("." + m.name, m.signature, m.doc, m.example) }
    return page
}
