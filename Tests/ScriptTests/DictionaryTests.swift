import XCTest
@testable import Script

/// `["name": value]`: the dictionary a .safetensors file loads as.
final class DictionaryTests: XCTestCase {
    func testLiteralsSubscriptsAndProperties() throws {
        XCTAssertEqual(try evaluate("""
            let d = ["w": 1, "b": [2, 3]]
            d
            d["b"]
            d.keys
            d.values
            d.count
            [:]
            [:].count
            ["a": 1,]
            """), ["[\"w\": 1, \"b\": [2, 3]]", "[2, 3]", "[\"w\", \"b\"]", "[1, [2, 3]]", "2", "[:]", "0", "[\"a\": 1]"])
    }

    func testAssigningAKeyMakesANewDictionary() throws {
        XCTAssertEqual(try evaluate("""
            var d = [:]
            d["x"] = 1
            d["y"] = 2
            d["x"] += 10
            let e = d
            d["y"] = 0
            d
            e
            """), ["[\"x\": 11, \"y\": 0]", "[\"x\": 11, \"y\": 2]"])
    }

    func testMistakesAreErrors() {
        let cases: [(String, String)] = [
            ("[\"a\": 1][\"b\"]", "no key \"b\" in the dictionary"),
            ("[1: 2]", "a dictionary's keys are strings"),
            ("[\"a\": 1, \"a\": 2]", "the key \"a\" appears twice"),
            ("[\"a\": 1, 2]", "expected ':' between a key and its value in a dictionary, found ']'"),
            ("[\"a\": 1][0]", "a dictionary's key is one string"),
            ("let d = [\"a\": 1]\nd[\"a\"] = 2", "cannot change 'd': it was declared with 'let'"),
            ("[\"a\": 1].size", "a Dictionary has no property or method 'size'"),
        ]
        for (source, message) in cases {
            XCTAssertThrowsError(try evaluate(source), source) { XCTAssertEqual(($0 as? ScriptError)?.message, message, source) }
        }
    }
}
