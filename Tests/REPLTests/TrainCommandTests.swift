import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `normlab train` killed and resumed, as a user's run is (issue 18 item 8).
final class TrainCommandTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("normlab-TrainCommandTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// `normlab train --tiny` of the sn variant into `out`, a checkpoint after every iteration.
    func train(_ out: String, iterations: Int = 150, resume: Bool = false) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: normlab)
        process.arguments = ["train", "--tiny", "--variant", "sn", "--iterations", String(iterations), "--checkpoint-every", "1", "--sample-every", "1000",
                             "--out", directory.appendingPathComponent(out).path] + (resume ? ["--resume"] : [])
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Runs killed with SIGKILL at seeded moments (mid-iteration, mid-write, between the
    /// checkpoint and log.csv), each time resumed, end exactly where an unbroken run ends: the
    /// same checkpoint bytes, every log row, no temporary file left.
    func testRunsKilledAtRandomMomentsEndAsAnUnbrokenRun() throws {
        let straight = try train("straight")
        straight.waitUntilExit()
        XCTAssertEqual(straight.terminationStatus, 0)

        let killed = directory.appendingPathComponent("killed")
        func started() -> Bool { FileManager.default.fileExists(atPath: killed.appendingPathComponent("checkpoint.safetensors").path) }
        var seed: UInt64 = 18
        var kills = 0
        for _ in 0..<6 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let run = try train("killed", resume: started())
            usleep(100_000 + UInt32((seed >> 40) % 600_000))   // 0.1 to 0.7 s
            if run.isRunning {
                kill(run.processIdentifier, SIGKILL)
                kills += 1
            }
            run.waitUntilExit()
        }
        let finish = try train("killed", resume: started())
        finish.waitUntilExit()
        XCTAssertEqual(finish.terminationStatus, 0)
        print("\(kills) runs killed with SIGKILL before finishing")

        let straightDirectory = directory.appendingPathComponent("straight")
        for file in ["log.csv", "checkpoint.safetensors"] {
            XCTAssertEqual(try Data(contentsOf: killed.appendingPathComponent(file)), try Data(contentsOf: straightDirectory.appendingPathComponent(file)), file)
        }
        let log = try String(contentsOf: killed.appendingPathComponent("log.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(log.count, 151, "a header and every iteration")
        let left = try FileManager.default.contentsOfDirectory(atPath: killed.path).filter { $0.contains(".tmp-") && !$0.hasPrefix(".samples") }
        XCTAssertEqual(left, [], "temporary files of killed writers are removed")
    }

    func testAResumeWithNothingToDoSaysSo() throws {
        let first = try train("done", iterations: 2)
        first.waitUntilExit()
        let (output, status, _) = try runPiped(["train", "--resume", "--out", directory.appendingPathComponent("done").path, "--iterations", "2"], input: "")
        XCTAssertEqual(status, 0)
        XCTAssertTrue(output.contains("nothing to do: the checkpoint in \(directory.appendingPathComponent("done").path)/ is at iteration 2 and the run stops at 2"), output)
    }
}
