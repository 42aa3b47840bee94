import Foundation
import XCTest

extension TerminalREPLTests {
    /// Issue 17.7 in a terminal 80 columns wide: a training cell shows its bar before anything
    /// else, every redraw fits the width (a wider line wraps and `\r` then leaves a line
    /// behind), the samples come as pictures of the terminal's width, and `:save` keeps their
    /// pixels and the bar's last line, not the terminal's characters.
    func testTrainingShowsABarThatFitsAndSavesPictures() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("normlab-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        try spawn(["repl"], environment: ["TERM": "xterm-256color", "COLORTERM": "truecolor", "HOME": home.path, "COLUMNS": "80", "LINES": "24",
                                         "PATH": "/usr/bin:/bin"])
        guard waitFor("normlab> ") else { return }
        screen = ""
        type("let run = train_gan(\"plain\", iterations: 6, size: 8, width: 16, faces: 16, every: 3)\r")
        guard waitFor("normlab> ", seconds: 60) else { return }
        let output = screen
        guard let first = output.range(of: "train plain: 0%"), let picture = output.range(of: "▀") else { return XCTFail(output) }
        XCTAssertLessThan(first.lowerBound, picture.lowerBound, "the bar comes first")
        // The terminal turns "\n" into "\r\n", one Character to Swift: lines first, then redraws.
        let redraws = output.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\r").filter { $0.hasPrefix("train plain") }
        XCTAssertGreaterThanOrEqual(redraws.count, 2)
        for line in redraws {
            let visible = line.replacingOccurrences(of: "\u{1B}[K", with: "").split(separator: "\n")[0]
            XCTAssertLessThanOrEqual(visible.count, 79, String(visible))
        }
        XCTAssertTrue(redraws.last!.contains("6/6"), redraws.last!)
        let transcript = home.appendingPathComponent("session.md").path
        type(":save \(transcript)\r")
        waitFor("Saved")
        let saved = (try? String(contentsOfFile: transcript, encoding: .utf8)) ?? ""
        XCTAssertTrue(saved.contains("![output 1](session-images/image-1.png)"), saved)
        XCTAssertFalse(saved.contains("image-2.png"), "one display, kept as its last picture")
        XCTAssertFalse(saved.contains("▀"), saved)
        XCTAssertTrue(saved.contains("train plain: 100%|"), saved)
        type(":quit\r")
    }
}
