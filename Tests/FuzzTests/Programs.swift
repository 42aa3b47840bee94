import Foundation
import Notebook

/// SplitMix64: a small generator whose whole state is one number, so program `i` of seed `s`
/// is the same on every machine and every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64, index: Int) { state = seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index) &* 0xBF58_476D_1CE4_E5B9 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The kinds of program the harness makes, each aimed at one way a front end breaks.
enum ProgramKind: String, CaseIterable {
    /// A lesson cell with a few edits, run where the lesson's variables exist.
    case mutatedCell
    /// Calls of builtins and tensor methods with extreme arguments: huge, negative and
    /// fractional shapes, NaN and infinities, wrong types, missing and unknown labels.
    case builtinCall
    /// Bytes of any value (an invalid UTF-8 sequence arrives as U+FFFD, as `readLine` gives it).
    case randomBytes
    /// Thousands of brackets, operators, blocks or members inside one another.
    case deepNesting
    /// Recursion without end, mutual recursion, loops without end.
    case recursion
}

/// Where the programs come from: the lessons' cells, the reference's examples, and the
/// builtins' labels as the reference declares them.
struct Corpus {
    struct Cell { let lesson: String; let number: Int; let code: String }
    var cells: [Cell] = []
    /// Builtin name → its labels (without the colon).
    var builtins: [(name: String, labels: [String])] = []
    /// Identifiers and members seen in the cells: names a mutation can swap in.
    var identifiers: [String] = []
    var members: [String] = []

    init(lessons directory: URL) throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".md") }.sorted()
        for file in files {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            for (i, cell) in Lesson(path: file, text: text).cells.enumerated() {
                cells.append(Cell(lesson: file, number: i + 1, code: cell.code))
            }
            if file == "reference.md" { builtins = Corpus.signatures(in: text) }
        }
        let code = cells.map(\.code).joined(separator: "\n")
        identifiers = Array(Set(Corpus.matches(of: "\\b[A-Za-z_][A-Za-z0-9_]*\\b", in: code))).sorted()
        members = Array(Set(Corpus.matches(of: "\\.[A-Za-z_][A-Za-z0-9_]*", in: code).map { String($0.dropFirst()) })).sorted()
    }

    /// `name(_ x: T, label: T = d, …)` lines of the reference, as names and labels.
    static func signatures(in reference: String) -> [(name: String, labels: [String])] {
        reference.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("`"), let open = line.firstIndex(of: "("), let close = line.lastIndex(of: ")"), open < close else { return nil }
            let name = String(line.dropFirst().prefix { $0.isLetter || $0.isNumber || $0 == "_" })
            guard !name.isEmpty else { return nil }
            let labels = matches(of: "(^|, )([A-Za-z]+):", in: String(line[open..<close]))
                .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: ", :")) }
            return (name, labels)
        }
    }

    static func matches(of pattern: String, in text: String) -> [String] {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
        let ns = text as NSString
        return regex.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { ns.substring(with: $0.range) }
    }
}

/// Values at the edges: shapes too large to allocate or to count, negative and fractional
/// sizes, NaN, infinities, the limits of Int and Float.
let extremeNumbers = ["0", "-0", "1", "-1", "2", "3.5", "-7", "65536", "-65536", "100000", "1e9", "-1e9", "2147483648",
                      "9223372036854775807", "18446744073709551616", "1e12", "1e15", "1e18", "1e308", "-1e308", "1e-320",
                      "(0 / 0)", "(1 / 0)", "(-1 / 0)", "0.0000001", "1_000_000_000", "4294967296"]

/// Pieces of the language a mutation inserts.
let fragments = ["(", ")", "[", "]", "{", "}", ",", ".", "..<", "...", "\"", "\\", "\\(", "//", "/*", "\n", "let ", "var ",
                 "func ", "return ", "for ", " in ", "while ", "if ", "else ", "break", "continue", " ? ", ":", " = ", " == ",
                 " + ", " - ", " * ", " / ", " ** ", " @ ", " % ", "!", " && ", " || ", "_", ".T", ".shape", ".sum()", ".item()",
                 ".requiringGrad()", "[0]", "[-1]", "[0..<1000000000]", "(", "x", "\t", "\u{0}", "é", "😀", "\u{FFFD}", "#", "$", "`"]

/// Arguments of any type for a builtin call.
let argumentValues = ["randn(2, 3)", "randn(1, 3, 4, 4)", "tensor([1, 2])", "tensor([(0 / 0), (1 / 0), (-1 / 0)])", "zeros(0)",
                      "ones(2, 0, 3)", "tensor(5)", "[]", "[1, -1]", "[[1, 2], [3]]", "\"8gaussians\"", "\"plain\"", "\"\"",
                      "\"no such file.png\"", "true", "[\"a\": 1]", "1...3", "0..<0", "print", "grad"]

struct ProgramMaker {
    let corpus: Corpus
    var rng: SeededGenerator

    mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }
    mutating func count(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }

    /// Program `index`: its kind is fixed by the index so every run has the same mix, and the
    /// mutated cells go round all the cells in turn.
    mutating func program(_ index: Int) -> (kind: ProgramKind, cell: Corpus.Cell?, source: String) {
        switch index % 40 {
        case 0..<20:
            let cell = corpus.cells[(index / 40 * 20 + index % 40) % corpus.cells.count]
            return (.mutatedCell, cell, mutated(cell.code))
        case 20..<32: return (.builtinCall, nil, builtinCalls())
        case 32..<37: return (.randomBytes, nil, randomBytes())
        // Few of these two, since a debug build takes a while to read thousands of levels and
        // to recurse until the stack is nearly full.
        case 37: return (.deepNesting, nil, deepNesting())
        default: return (.recursion, nil, recursion())
        }
    }

    mutating func mutated(_ code: String) -> String {
        var scalars = Array(code.unicodeScalars)
        for _ in 0..<count(1...4) {
            let at = count(0...scalars.count)
            switch count(0...8) {
            case 0:  // a number at the edge in place of a number
                if let span = numberSpan(in: scalars, near: at) {
                    scalars.replaceSubrange(span, with: pick(extremeNumbers).unicodeScalars)
                }
            case 1: scalars.removeSubrange(at..<min(scalars.count, at + count(1...20)))
            case 2: scalars.insert(contentsOf: pick(fragments).unicodeScalars, at: at)
            case 3:
                let end = min(scalars.count, at + count(1...40))
                scalars.insert(contentsOf: scalars[at..<end], at: at)
            case 4: scalars = Array(scalars[0..<at])
            case 5:  // an identifier or member swapped in
                let word = chance(0.5) ? pick(corpus.identifiers) : "." + pick(corpus.members) + (chance(0.5) ? "()" : "")
                scalars.insert(contentsOf: word.unicodeScalars, at: at)
            case 6:  // two lines exchanged
                var lines = String(String.UnicodeScalarView(scalars)).split(separator: "\n", omittingEmptySubsequences: false)
                if lines.count > 1 { lines.swapAt(count(0...lines.count - 1), count(0...lines.count - 1)) }
                scalars = Array(lines.joined(separator: "\n").unicodeScalars)
            case 7: scalars.insert(Unicode.Scalar(UInt8(count(0...255))), at: at)
            default:  // an argument at the edge
                scalars.insert(contentsOf: (", " + pick(corpus.builtins.flatMap(\.labels) + ["axes", "count"]) + ": " + pick(extremeNumbers)).unicodeScalars, at: at)
            }
        }
        return String(String.UnicodeScalarView(scalars))
    }

    /// The digits (with sign, point and exponent) around `at`, if `at` is in a number.
    func numberSpan(in scalars: [Unicode.Scalar], near at: Int) -> Range<Int>? {
        guard let start = scalars[min(at, scalars.count)...].firstIndex(where: { ("0"..."9").contains($0) }) else { return nil }
        let end = scalars[start...].firstIndex { !("0"..."9").contains($0) && $0 != "." && $0 != "e" && $0 != "_" } ?? scalars.count
        return start..<end
    }

    mutating func value(depth: Int) -> String {
        if depth < 2 && chance(0.2) { return call(depth: depth + 1) }
        return chance(0.5) ? pick(extremeNumbers) : pick(argumentValues)
    }

    mutating func call(depth: Int) -> String {
        if chance(0.25) {
            let receiver = depth < 2 && chance(0.3) ? call(depth: depth + 1) : pick(argumentValues)
            let member = pick(corpus.members)
            let arguments = (0..<count(0...2)).map { _ in value(depth: depth) }
            return "\(receiver).\(member)" + (chance(0.8) ? "(\(arguments.joined(separator: ", ")))" : "")
        }
        let builtin = pick(corpus.builtins)
        var arguments = (0..<count(0...3)).map { _ in value(depth: depth) }
        for label in builtin.labels where chance(0.4) { arguments.append("\(label): \(value(depth: depth))") }
        if chance(0.1) { arguments.append("\(pick(corpus.identifiers)): 1") }
        return "\(builtin.name)(\(arguments.shuffled(using: &rng).joined(separator: ", ")))"
    }

    mutating func builtinCalls() -> String {
        (0..<count(1...3)).map { _ in chance(0.3) ? "let v = " + call(depth: 0) + "\nv" : call(depth: 0) }.joined(separator: "\n")
    }

    mutating func randomBytes() -> String {
        let bytes = (0..<count(0...300)).map { _ in chance(0.7) ? UInt8(count(32...126)) : UInt8(count(0...255)) }
        return String(decoding: bytes, as: UTF8.self)
    }

    mutating func deepNesting() -> String {
        // 5,000 levels is past the stack's limit (a few thousand); more would only measure how
        // fast a debug build reads.
        let n = pick([10, 100, 1_000, 5_000])
        func repeated(_ s: String) -> String { String(repeating: s, count: n) }
        switch count(0...12) {
        case 0: return repeated("(") + "1" + repeated(")")
        case 1: return repeated("[") + "1" + repeated("]")
        case 2: return repeated("(")
        case 3: return repeated("-") + "1"
        case 4: return repeated("!") + "true"
        case 5: return repeated("if true {\n") + "print(1)\n" + repeated("}\n")
        case 6: return "1" + repeated(" + 1")
        case 7: return "let t = ones(2, 2)\nt" + repeated(".T")
        case 8: return repeated("tensor(") + "1" + repeated(")")
        case 9: return repeated("\"\\(") + "1" + repeated(")\"")
        case 10: return repeated("{\n")
        case 11: return repeated("f(x: ") + "1" + repeated(")")
        default: return String(repeating: "let a = 1\n", count: min(n, 20_000)) + "a"
        }
    }

    mutating func recursion() -> String {
        let k = pick(["10", "1000", "100000", "1000000", "1e9"])
        return pick([
            "func f(_ n: Int) -> Int { return f(n + 1) }\nf(0)",
            "func f(_ n: Int) -> Int { return 1 + f(n) }\nf(0)",
            "func a(_ n: Int) -> Int { return b(n) }\nfunc b(_ n: Int) -> Int { return a(n) }\na(1)",
            "func f(_ x: Int = f()) -> Int { return x }\nf()",
            "func f(_ n: Int) -> Tensor { return f(n) + ones(2) }\nf(0)",
            "func f(_ n: Int) -> Int {\n  if n == 0 { return 0 }\n  return f(n - 1) + 1\n}\nf(\(k))",
            "func f(_ n: Int) -> String { return \"\\(f(n))\" }\nf(0)",
            "func f() { for i in 1...\(k) { f() } }\nf()",
            "var x = 0\nwhile true { x += 1 }",
            "for i in 1...\(k) { }",
            "var xs = []\nfor i in 1...\(k) { xs.append(i) }\nxs.count",
            "var t = ones(2)\nfor i in 1...\(k) { t = t * 1.0000001 }\nt",
            "func f(_ g: Int) -> Int { return g(g) }\nf(f)",
            "let x = randn(3).requiringGrad()\nvar y = x\nfor i in 1...\(k) { y = y * 1.0000001 }\ngrad(of: y.sum(), wrt: x)",
        ])
    }
}
