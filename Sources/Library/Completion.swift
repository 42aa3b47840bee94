import Foundation
import Script

/// What Tab offers: candidates that each replace the text from `start` (a character offset
/// in the text before the cursor) to the cursor.
public struct Completion: Equatable, Sendable {
    public var start: Int
    public var candidates: [String]

    public init(start: Int, candidates: [String]) { (self.start, self.candidates) = (start, candidates) }

    /// The longest prefix every candidate shares: what Tab can insert without choosing.
    public var common: String {
        guard var common = candidates.first else { return "" }
        for c in candidates.dropFirst() { while !c.hasPrefix(common) { common.removeLast() } }
        return common
    }
}

/// Where the cursor is, as far as completion needs to know: inside a string literal (and
/// where its text starts), inside a comment, and which calls' parentheses are open.
struct CursorContext {
    struct Frame {
        /// The dotted name before `(` (`["x", "sum"]`); nil for `[`, `{` and `\(` in a string.
        var callee: [String]?
        var isInterpolation = false
        /// Labels already written in this call.
        var labels: Set<String> = []
    }
    var frames: [Frame] = []
    var stringStart: Int?
    var inComment = false

    init(_ chars: [Character]) {
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if inComment {
                if c == "\n" { inComment = false }
            } else if stringStart != nil {
                if c == "\\", i + 1 < chars.count {
                    if chars[i + 1] == "(" {
                        frames.append(Frame(callee: nil, isInterpolation: true))
                        stringStart = nil
                    }
                    i += 1
                } else if c == "\"" || c == "\n" {
                    stringStart = nil
                }
            } else {
                switch c {
                case "/" where i + 1 < chars.count && chars[i + 1] == "/": inComment = true
                case "\"": stringStart = i + 1
                case "(": frames.append(Frame(callee: dottedName(chars, before: i)))
                case "[", "{": frames.append(Frame(callee: nil))
                case ")", "]", "}":
                    if let frame = frames.popLast(), frame.isInterpolation { stringStart = i + 1 }
                case ":":
                    if let name = dottedName(chars, before: i), name.count == 1, !frames.isEmpty { frames[frames.count - 1].labels.insert(name[0]) }
                default: break
                }
            }
            i += 1
        }
    }
}

private func isNameCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }

/// The dotted name that ends just before `index` (`run.samples` → ["run", "samples"]), if any.
func dottedName(_ chars: [Character], before index: Int) -> [String]? {
    var start = index
    while start > 0, isNameCharacter(chars[start - 1]) || chars[start - 1] == "." { start -= 1 }
    let text = String(chars[start..<index])
    guard !text.isEmpty, !text.hasPrefix("."), !text.hasSuffix("."), text.first?.isNumber == false else { return nil }
    return text.split(separator: ".").map(String.init)
}

extension Session {
    /// Tab completion of the text before the cursor: names; after a dot, the members of that
    /// value's type; inside a call's parentheses, the labels it takes and has not been given;
    /// inside a string, paths of files.
    public func complete(_ before: String) -> Completion {
        let chars = Array(before)
        let context = CursorContext(chars)
        if let start = context.stringStart { return Completion(start: start, candidates: pathCompletions(String(chars[start...]))) }
        guard !context.inComment else { return Completion(start: chars.count, candidates: []) }
        var start = chars.count
        while start > 0, isNameCharacter(chars[start - 1]) { start -= 1 }
        let fragment = String(chars[start...])
        if fragment.first?.isNumber == true { return Completion(start: start, candidates: []) }
        if start > 0, chars[start - 1] == "." {
            var baseStart = start - 1
            while baseStart > 0, isNameCharacter(chars[baseStart - 1]) || chars[baseStart - 1] == "." { baseStart -= 1 }
            let base = String(chars[baseStart..<(start - 1)])
            // `x.` a name; `f(2).T.` a value known only when it runs; `1.` a number, not a member.
            let names: [String]
            if !base.isEmpty && !base.hasPrefix(".") {
                names = base.first?.isNumber == true ? [] : memberNames(of: base.split(separator: ".").map(String.init))
            } else {
                names = baseStart > 0 && ")]".contains(chars[baseStart - 1]) ? memberNames(of: []) : []
            }
            return Completion(start: start, candidates: names.filter { $0.hasPrefix(fragment) }.sorted())
        }
        var candidates: [String] = []
        if let frame = context.frames.last, let callee = frame.callee {
            candidates = labels(of: callee).filter { !frame.labels.contains($0) && $0.hasPrefix(fragment) }.map { $0 + ": " }
        }
        if !fragment.isEmpty || candidates.isEmpty {
            candidates += Set(interpreter.names.filter { $0.hasPrefix(fragment) && $0 != "_" }).sorted()
        }
        return Completion(start: start, candidates: candidates)
    }

    /// The value a dotted name holds, following variables and record fields.
    func resolve(_ name: [String]) -> Value? {
        guard let first = name.first, var value = interpreter.variable(first) else { return nil }
        for field in name.dropFirst() {
            guard case .object(let record as Record) = value, let next = record.fields.first(where: { $0.name == field }) else { return nil }
            value = next.value
        }
        return value
    }

    /// What can follow a dot: a record's fields, an array's or string's count, a tensor's
    /// members (also for values not known until they run, such as `zeros(2).`).
    func memberNames(of base: [String]) -> [String] {
        switch resolve(base) {
        case .object(let record as Record)?: return record.fields.map(\.name)
        case .array?: return ["append", "count"]
        case .string?: return ["count"]
        case .tensor?, nil: return tensorMembers.map(\.name)
        default: return []
        }
    }

    /// The labels a call to this name takes: a builtin's, a tensor method's, or those of a
    /// function written in the session.
    func labels(of callee: [String]) -> [String] {
        if callee.count == 1, let builtin = Session.builtinsByName[callee[0]] { return builtin.signature.labels }
        if callee.count == 1, case .function(let f)? = interpreter.variable(callee[0]) { return f.parameters.compactMap(\.label) }
        if callee.count > 1, let member = Session.membersByName[callee[callee.count - 1]] {
            switch resolve(Array(callee.dropLast())) {
            case .tensor?, nil: return member.signature.labels
            default: return []
            }
        }
        return []
    }
}

/// Files and folders whose path begins with `fragment` (`Lessons/03` → `Lessons/03-adain.md`),
/// folders with a `/` so that Tab can go on into them. Hidden files only when asked for (`.`).
public func pathCompletions(_ fragment: String) -> [String] {
    let slash = fragment.lastIndex(of: "/")
    let folder = slash.map { String(fragment[...$0]) } ?? ""
    let prefix = slash.map { String(fragment[fragment.index(after: $0)...]) } ?? fragment
    let home = ProcessInfo.processInfo.environment["HOME"] ?? ""
    let listed = folder.isEmpty ? "." : (folder.hasPrefix("~/") ? home + folder.dropFirst() : folder)
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: listed) else { return [] }
    return names.filter { $0.hasPrefix(prefix) && ($0.first != "." || prefix.hasPrefix(".")) }.sorted().map { name in
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: listed + (listed.hasSuffix("/") ? "" : "/") + name, isDirectory: &isFolder)
        return folder + name + (exists && isFolder.boolValue ? "/" : "")
    }
}
