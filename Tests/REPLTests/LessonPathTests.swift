import Foundation
import XCTest

final class LessonPathTests: XCTestCase {
    /// A normlab found through PATH, by a symbolic link, from another folder: argv[0] is then
    /// just "normlab", and the lessons are found from the binary's real path.
    func testLessonsAreFoundWhenNormlabIsRunThroughPATHFromAnotherFolder() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("normlab-path-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let bin = folder.appendingPathComponent("bin"), elsewhere = folder.appendingPathComponent("elsewhere")
        for directory in [bin, elsewhere] { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
        try FileManager.default.createSymbolicLink(atPath: bin.appendingPathComponent("normlab").path, withDestinationPath: normlab)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["normlab", "lesson", "2", "--strict"]
        process.currentDirectoryURL = elsewhere
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = bin.path + ":" + (environment["PATH"] ?? "/usr/bin")
        environment["HOME"] = folder.path
        environment["NORMLAB_LESSONS"] = nil
        process.environment = environment
        let stdin = Pipe(), stdout = Pipe()
        (process.standardInput, process.standardOutput, process.standardError) = (stdin, stdout, stdout)
        try process.run()
        stdin.fileHandleForWriting.write(Data(":cells\n".utf8))
        try stdin.fileHandleForWriting.close()
        let output = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("What σ(W) means"), output)
    }
}
