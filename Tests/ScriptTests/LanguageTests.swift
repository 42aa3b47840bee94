import Dispatch
import Foundation
import XCTest
import Engine
@testable import Script

/// Runs `source` and returns what bare expressions showed, one line each.
func evaluate(_ source: String, in interpreter: Interpreter = Interpreter()) throws -> [String] {
    var shown: [String] = []
    try interpreter.run(source) { shown.append($0.display) }
    return shown
}

final class LexerTests: XCTestCase {
    func testNumbersStringsAndComments() throws {
        let kinds = try tokenize("1e-5 1_000 [.5] \"a\\(x)b\" // comment\nx").map(\.kind)
        XCTAssertEqual(kinds, [.number(1e-5), .number(1000), .symbol(.leftBracket), .number(0.5), .symbol(.rightBracket),
                               .string([.text("a"), .code("x", Location(line: 1, column: 21)), .text("b")]),
                               .newline, .identifier("x"), .end])
        // After a value, `.5` is a member access (as `t.0` in Swift), not a number.
        XCTAssertEqual(try tokenize("x.5").map(\.kind), [.identifier("x"), .symbol(.dot), .number(5), .end])
    }

    func testNewlinesInsideBracketsDoNotEndStatements() throws {
        XCTAssertFalse(try tokenize("f(1,\n2)").contains { $0.kind == .newline })
        XCTAssertTrue(try tokenize("{\nx\n}").contains { $0.kind == .newline })
    }

    func testLexicalErrorsHaveLocations() {
        XCTAssertThrowsError(try tokenize("let s = \"open")) {
            let e = $0 as! ScriptError
            XCTAssertEqual(e.location, Location(line: 1, column: 9))
            XCTAssertEqual(e.message, "this string has no closing quote")
        }
        XCTAssertThrowsError(try tokenize("x = 1 $ 2")) { XCTAssertEqual(($0 as! ScriptError).message, "unexpected character '$'") }
    }
}

final class EvaluatorTests: XCTestCase {
    func testArithmeticAndPrecedence() throws {
        XCTAssertEqual(try evaluate("1 + 2 * 3\n2 ** 3 ** 2\n-2 ** 2\n(1 + 2) * 3\n7 % 3\n1 < 2 && 2 < 3\n1 > 2 ? 10 : 20 + 1"),
                       ["7", "512", "-4", "9", "1", "true", "21"])
    }

    func testVariablesFunctionsAndControlFlow() throws {
        let program = """
            func factorial(_ n: Int) -> Int {
                if n <= 1 { return 1 }
                return n * factorial(n - 1)
            }
            func scaled(_ x: Float, by factor: Float = 2) -> Float { return x * factor }
            var total = 0
            for i in 1...10 {
                if i % 2 == 0 { continue }
                if i > 7 { break }
                total += i
            }
            var n = 0
            while n < 5 { n += 1 }
            [factorial(5), scaled(3), scaled(3, by: 10), total, n]
            """
        XCTAssertEqual(try evaluate(program), ["[120, 6, 30, 16, 5]"])
    }

    func testStringsArraysAndRanges() throws {
        XCTAssertEqual(try evaluate("let name = \"σ\"\n\"\\(name) = \\(1 + 1)\"\n[1, 2, 3][-1]\nlet xs = [1, 2, 3, 4]\nxs[1..<3]\nxs.count"),
                       ["\"σ = 2\"", "3", "[2, 3]", "4"])
    }

    func testTensorsAndTheLastResult() throws {
        let i = Interpreter()
        XCTAssertEqual(try evaluate("[[1, 2], [3, 4]] @ [[1, 0], [0, 1]]", in: i), ["[[1. 2.]\n [3. 4.]]"])
        XCTAssertEqual(try evaluate("_ * 2", in: i), ["[[2. 4.]\n [6. 8.]]"])
    }

    func testLetCannotChangeAndErrorsKeepTheSession() throws {
        let i = Interpreter()
        _ = try evaluate("let a = 1\nvar b = 2", in: i)
        XCTAssertThrowsError(try evaluate("b = 3\na = 5", in: i)) {
            let e = $0 as! ScriptError
            XCTAssertEqual(e.message, "cannot assign to 'a': it was declared with 'let'")
            XCTAssertEqual(e.hint, "declare it with 'var' to change it")
            XCTAssertEqual(e.location, Location(line: 2, column: 1))
        }
        XCTAssertEqual(try evaluate("[a, b]", in: i), ["[1, 3]"], "the statement before the error ran; nothing was lost")
    }

    /// An undefined name is named on the error, so that a lesson can say which of its cells
    /// defines it; other errors name none.
    func testAnUndefinedNameIsNamedOnTheError() throws {
        let i = Interpreter()
        for (source, name) in [("estimate(1)", "estimate"), ("total = 2", "total"), ("total += 2", "total")] {
            XCTAssertThrowsError(try evaluate(source, in: i)) { XCTAssertEqual(($0 as? ScriptError)?.undefinedName, name, source) }
        }
        XCTAssertThrowsError(try evaluate("let a = 1\na = 2", in: i)) { XCTAssertNil(($0 as? ScriptError)?.undefinedName) }
        XCTAssertThrowsError(try evaluate("func f() -> Float { return missing }\nf()", in: i)) {
            XCTAssertEqual(($0 as? ScriptError)?.undefinedName, "missing", "named from inside a function too")
        }
    }

    func testErrorMessagesRenderWithACaret() throws {
        let source = "let weights = 1\nlet y = wieghts + 1"
        do {
            _ = try evaluate(source)
            XCTFail("expected an error")
        } catch let error as ScriptError {
            XCTAssertEqual(error.rendered(source: source, file: "cell.swift"), """
                error: 'wieghts' is not defined
                --> cell.swift:2:9
                1 │ let weights = 1
                2 │ let y = wieghts + 1
                  │         ^
                  │ hint: did you mean 'weights'?
                """)
        }
        XCTAssertThrowsError(try evaluate("let x = (1 + 2")) {
            XCTAssertEqual(($0 as! ScriptError).message, "expected ')' to close the parenthesis, found the end of the input")
        }
        XCTAssertThrowsError(try evaluate("1 +")) { XCTAssertEqual(($0 as! ScriptError).kind, .syntax) }
        XCTAssertThrowsError(try evaluate("\"a\" + 1")) { XCTAssertEqual(($0 as! ScriptError).hint, "to put a value in a string write \"…\\(value)…\"") }
        XCTAssertThrowsError(try evaluate("func f(scale s: Float) { return s }\nf(scal: 2)")) {
            XCTAssertEqual(($0 as! ScriptError).hint, "did you mean 'scale:'?")
        }
    }

    /// An error inside a function defined by earlier code points into the function, at its own
    /// file and line, with the call that led there (issue 18.12: the caret stood under the
    /// current line at the function's column).
    func testAnErrorInsideAFunctionPointsIntoItsDefinition() throws {
        let interpreter = Interpreter()
        let definition = SourceText("func scaled(x) {\n    return x * factor\n}", file: "lesson.md", firstLine: 10)
        try interpreter.run(definition.text, file: definition.file, firstLine: definition.firstLine)
        let call = SourceText("let a = 1\nscaled(x: 2)", file: "<stdin>", firstLine: 40)
        XCTAssertThrowsError(try interpreter.run(call.text, file: call.file, firstLine: call.firstLine)) { error in
            XCTAssertEqual((error as? ScriptError)?.rendered(in: call), """
                error: 'factor' is not defined
                --> lesson.md:11:16
                10 │ func scaled(x) {
                11 │     return x * factor
                   │                ^
                  note: inside 'scaled', reached from the call at <stdin>:41:7
                """)
        }
        // Called from a function of the same code, the note names the outermost call.
        let same = SourceText("func outer() {\n  return scaled(x: 1)\n}\nouter()", file: "<stdin>", firstLine: 50)
        XCTAssertThrowsError(try interpreter.run(same.text, file: same.file, firstLine: same.firstLine)) { error in
            let text = (error as? ScriptError)?.rendered(in: same) ?? ""
            XCTAssertTrue(text.hasPrefix("error: 'factor' is not defined\n--> lesson.md:11:16"), text)
            XCTAssertTrue(text.hasSuffix("note: inside 'scaled', reached from the call at <stdin>:53:6"), text)
        }
    }

    func testRunawayRecursionIsAnError() {
        XCTAssertThrowsError(try evaluate("func f(_ n: Int) { return f(n + 1) }\nf(0)")) {
            let error = $0 as! ScriptError
            XCTAssertTrue(error.message.hasPrefix("maximum recursion depth exceeded: "), error.message)
            XCTAssertTrue(error.message.hasSuffix("calls inside one another (the last of 'f') fill the stack"), error.message)
        }
    }

    /// Issue 17 item 4: `for i in 1...1000000000 { }` built the whole array first (40 GB, the
    /// process aborted). A range yields its numbers one at a time, and Ctrl-C stops the loop.
    func testALoopOverABillionIsLazyAndInterruptible() throws {
        XCTAssertEqual(try evaluate("var n = 0\nfor i in 1...1000000000 {\n  n += 1\n  if i == 3 { break }\n}\nn"), ["3"])
        let flag = InterruptFlag()
        let i = Interpreter(interrupt: flag)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { flag.request() }
        XCTAssertThrowsError(try evaluate("var last = 0\nfor k in 1...1000000000 { last = k }", in: i)) {
            XCTAssertEqual(($0 as? ScriptError)?.kind, .interrupted)
        }
        XCTAssertEqual(try evaluate("last > 0 && last < 1000000000", in: i), ["true"], "stopped part-way, the variable kept")
    }

    func testInterruptStopsALoopAndKeepsVariables() throws {
        let flag = InterruptFlag()
        let i = Interpreter(interrupt: flag)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { flag.request() }
        XCTAssertThrowsError(try evaluate("var count = 0\nwhile true { count += 1 }", in: i)) {
            XCTAssertEqual(($0 as! ScriptError).kind, .interrupted)
        }
        let count = try evaluate("count > 0", in: i)
        XCTAssertEqual(count, ["true"])
    }

    /// Ctrl-C during a program's last statement, inside one operation that cannot stop midway:
    /// the program that was running reports it, and the next program runs.
    func testAnInterruptDuringTheLastStatementStopsThatProgramNotTheNext() throws {
        let flag = InterruptFlag()
        let i = Interpreter(interrupt: flag)
        i.builtins["press"] = .builtin(BuiltinFunction(name: "press") { _ in flag.request(); return .number(1) })
        XCTAssertThrowsError(try evaluate("let pressed = press()", in: i)) {
            XCTAssertEqual(($0 as? ScriptError)?.kind, .interrupted)
        }
        XCTAssertEqual(try evaluate("pressed", in: i), ["1"], "the statement ran to its end and keeps its value")
        XCTAssertEqual(try evaluate("2\n3", in: i), ["2", "3"])
    }
}

/// Thousands of random and mutated inputs: the interpreter always answers (a value or a
/// ScriptError) and never crashes.
final class RobustnessTests: XCTestCase {
    func testRandomAndMutatedInputsNeverCrash() throws {
        var rng = RandomGenerator(seed: 77)
        let seeds = ["let x = tensor([[1, 2], [3, 4]])", "x @ x.T", "for i in 0..<3 { print(i) }", "func f(_ a: Int) { return a * 2 }",
                     "f(3) + [1, 2][1]", "\"σ = \\(1 + 2)\"", "if 1 < 2 { 3 } else { 4 }", "zeros(2, 3).sum(axes: [1])",
                     "var k = 0\nwhile k < 3 { k += 1 }", "x[0, 1..<2]", "-(2 ** 3) % 5", "[1, [2, 3]]"]
        let alphabet = Array("()[]{}.,:;+-*/%@=<>!&|?\"\\ \n0123456789abcxyz_letvarfuncifelsefor")
        // A mutated loop can run forever; a watchdog interrupts whatever is running every 20 ms
        // (an interrupt is one more outcome the interpreter must handle).
        let flag = InterruptFlag()
        let interpreter = Interpreter(interrupt: flag)
        let done = InterruptFlag()
        let watchdog = Thread {
            while !done.isRequested { Thread.sleep(forTimeInterval: 0.02); flag.request() }
        }
        watchdog.start()
        defer { done.request() }
        var answered = 0
        for round in 0..<3000 {
            var text = Array(seeds[Int(rng.next() % UInt64(seeds.count))])
            for _ in 0..<Int(rng.next() % 4) {
                let position = text.isEmpty ? 0 : Int(rng.next() % UInt64(text.count))
                switch rng.next() % 3 {
                case 0: text.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: position)
                case 1: if !text.isEmpty { text.remove(at: position) }
                default: if !text.isEmpty { text[position] = alphabet[Int(rng.next() % UInt64(alphabet.count))] }
                }
            }
            if round % 5 == 0 { text = (0..<Int(rng.next() % 30)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] } }
            if round % 97 == 0 { text = Array(String(repeating: "(", count: 500) + "1" + String(repeating: ")", count: 500)) }
            do { _ = try evaluate(String(text), in: interpreter) } catch is ScriptError {} catch {
                XCTFail("a non-ScriptError escaped for \(String(text).debugDescription): \(error)")
            }
            answered += 1
        }
        XCTAssertEqual(answered, 3000)
    }
}

/// Nesting that once overflowed the stack or recursed when freed (issue 18, item 1 and 12).
final class DepthTests: XCTestCase {
    /// Runs `source` and expects a value, or the depth error; anything else fails.
    func assertValueOrDepthError(_ source: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try evaluate(source)
        } catch let error as ScriptError {
            XCTAssertTrue(error.message.hasPrefix("too deeply nested") || error.message.hasPrefix("maximum recursion depth exceeded"),
                          "\(what): \(error.message)", file: file, line: line)
        } catch {
            XCTFail("\(what): \(error)", file: file, line: line)
        }
    }

    func testAFlatSumOf90000TermsRunsAndIsFreedWithoutRecursion() throws {
        // A left-leaning tree of 90,000 '+' once crashed when freed; the sum is a flat list now.
        XCTAssertEqual(try evaluate(Array(repeating: "1", count: 90_000).joined(separator: "+")), ["90000"])
        XCTAssertEqual(try evaluate("let t = [1, 2] * 1\n" + Array(repeating: "t", count: 20_000).joined(separator: " - 1 + 1 + ")),
                       ["[20000. 40000.]"])
    }

    func testAFlatSumOf400TermsIsNotTooDeeplyNested() throws {
        // The old guard counted evaluation depth and refused this sum at 400 terms.
        XCTAssertEqual(try evaluate(Array(repeating: "1", count: 400).joined(separator: " + ")), ["400"])
        XCTAssertEqual(try evaluate(Array(repeating: "true", count: 400).joined(separator: " && ")), ["true"])
    }

    func testALongChainOfCallsIsAFlatList() throws {
        // f()()()… 50,000 times: each call applies to the last result, in a loop.
        XCTAssertEqual(try evaluate("func me() { return me }\nme" + String(repeating: "()", count: 50_000)), ["func me()"])
        XCTAssertEqual(try evaluate("[[[7]]]" + String(repeating: "[0]", count: 3)), ["7"])
    }

    func testDeepNestingEndsInAnErrorNotACrash() {
        let n = 4_000
        assertValueOrDepthError(String(repeating: "(", count: n) + "1" + String(repeating: ")", count: n), "4,000 parentheses")
        assertValueOrDepthError(String(repeating: "[", count: n) + "1" + String(repeating: "]", count: n), "4,000 brackets")
        assertValueOrDepthError("func f(_ x: Int) { return x }\n" + String(repeating: "f(", count: n) + "1" + String(repeating: ")", count: n), "4,000 calls")
        assertValueOrDepthError(Array(repeating: "1", count: n).joined(separator: " ** "), "4,000 powers")
        assertValueOrDepthError(String(repeating: "-", count: n) + "1", "4,000 minus signs")
        assertValueOrDepthError(String(repeating: "if true {\n", count: 8_000) + "1\n" + String(repeating: "}\n", count: 8_000), "8,000 blocks")
        assertValueOrDepthError(String(repeating: "1 > 0 ? ", count: n) + "1" + String(repeating: " : 0", count: n), "4,000 conditionals")
    }

    /// Found by the fuzz harness: each string inside `\(…)` was read again by every level
    /// around it, so 4,000 nested interpolations took 5 s (debug) before the depth error and
    /// did not answer Ctrl-C. Nesting is limited where the lexer first sees it.
    func testStringsNestedDeepInInterpolationsAreAnErrorAtOnce() throws {
        XCTAssertEqual(try evaluate(String(repeating: "\"\\(", count: 31) + "1" + String(repeating: ")\"", count: 31)), ["\"1\""])
        for n in [33, 4_000] {
            XCTAssertThrowsError(try evaluate(String(repeating: "\"\\(", count: n) + "1" + String(repeating: ")\"", count: n))) {
                XCTAssertEqual(($0 as? ScriptError)?.message, "strings are nested inside \\( … ) more than 32 deep")
            }
        }
        XCTAssertEqual(try evaluate("let a = 2\n\"\\(a) and \\(\"\\(a + 1)\") and \\((a))\""), ["\"2 and 3 and 2\""], "siblings and parentheses do not count")
    }

    func testDeepRecursionInAFunctionIsAnError() {
        XCTAssertThrowsError(try evaluate("func depth(_ n: Int) -> Int { return n == 0 ? 0 : 1 + depth(n - 1) }\ndepth(10000000)")) {
            XCTAssertTrue(($0 as! ScriptError).message.hasPrefix("maximum recursion depth exceeded"), "\($0)")
        }
        let i = Interpreter()
        XCTAssertEqual(try evaluate("func depth(_ n: Int) -> Int { return n == 0 ? 0 : 1 + depth(n - 1) }\ndepth(200)", in: i), ["200"])
        XCTAssertEqual(try evaluate("depth(3)", in: i), ["3"], "the session goes on after the error")
    }
}

final class ArrayTests: XCTestCase {
    func testArraysJoinAndAppendAsInSwift() throws {
        XCTAssertEqual(try evaluate("var xs = [1, 2]\nxs.append(3)\nxs + [4]\n[1, 2] * 1 + [10, 20]"), ["[1, 2, 3, 4]", "[11. 22.]"])
        XCTAssertEqual(try evaluate("([1, -2] * 1 - 1) ** 2"), ["[0. 9.]"], "a negative base squared, not NaN")
        XCTAssertThrowsError(try evaluate("let ys = [1]\nys.append(2)")) {
            XCTAssertEqual(($0 as! ScriptError).message, "cannot append to 'ys': it was declared with 'let'")
        }
    }
}
