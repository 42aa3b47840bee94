import Foundation
import XCTest

/// The built `normlab`, beside this test bundle, and the checkout it was built from.
let normlab = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("normlab").path
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Runs a program; its output (standard output and error together) and exit status.
@discardableResult
func execute(_ program: String, _ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil) throws -> (output: String, status: Int32) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    if let directory { process.currentDirectoryURL = directory }
    let pipe = Pipe()
    (process.standardOutput, process.standardError) = (pipe, pipe)
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (String(decoding: data, as: UTF8.self), process.terminationStatus)
}

/// The kernel as Jupyter runs it: installed with `normlab kernel install` into a folder of the
/// test's own (JUPYTER_PATH and JUPYTER_DATA_DIR point there, never at the user's kernels),
/// then driven by jupyter_client and nbclient, where Python has them.
final class JupyterTests: XCTestCase {
    var folder: URL!
    var environment: [String: String] = [:]
    let python = "/usr/bin/env"

    override func setUpWithError() throws {
        let probe = try? execute(python, ["python3", "-c", "import jupyter_client, nbclient, nbformat"])
        guard probe?.status == 0 else {
            throw XCTSkip("Python's jupyter_client, nbclient and nbformat are not installed (pip install jupyter_client nbclient nbformat)")
        }
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("normlab-jupyter-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let prefix = folder.appendingPathComponent("prefix").path
        let installed = try execute(normlab, ["kernel", "install", "--prefix", prefix])
        XCTAssertEqual(installed.status, 0, installed.output)
        environment = ["JUPYTER_PATH": prefix + "/share/jupyter", "JUPYTER_DATA_DIR": folder.appendingPathComponent("data").path,
                       "JUPYTER_RUNTIME_DIR": folder.appendingPathComponent("runtime").path, "JUPYTER_PLATFORM_DIRS": "1"]
    }

    override func tearDownWithError() throws {
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    var spec: URL { folder.appendingPathComponent("prefix/share/jupyter/kernels/normlab") }

    func testTheKernelspecNamesThisBinary() throws {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: spec.appendingPathComponent("kernel.json"))) as? [String: Any]
        let argv = json?["argv"] as? [String] ?? []
        XCTAssertEqual(argv.first.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path }, URL(fileURLWithPath: normlab).resolvingSymlinksInPath().path)
        XCTAssertEqual(Array(argv.dropFirst()), ["kernel", "--connection-file", "{connection_file}"])
        XCTAssertEqual(json?["display_name"] as? String, "Normlab")
        XCTAssertEqual(json?["language"] as? String, "swift")
        XCTAssertEqual(json?["interrupt_mode"] as? String, "signal")
        for size in [32, 64] {
            let png = try Data(contentsOf: spec.appendingPathComponent("logo-\(size)x\(size).png"))
            XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            // IHDR: width and height, big-endian, at bytes 16…23.
            let width = png[16..<20].reduce(0) { $0 << 8 | UInt32($1) }, height = png[20..<24].reduce(0) { $0 << 8 | UInt32($1) }
            XCTAssertEqual([width, height], [UInt32(size), UInt32(size)])
        }
        let listed = try execute(python, ["python3", "-c", "from jupyter_client.kernelspec import KernelSpecManager as M; print(M().find_kernel_specs()['normlab'])"],
                                 environment: environment)
        XCTAssertEqual(listed.output.trimmingCharacters(in: .whitespacesAndNewlines), spec.path, "jupyter_client finds it")
    }

    /// `kernel install --prefix` into a folder Jupyter does not search says how it finds it, and
    /// that way works: jupyter_client finds the kernel with the JUPYTER_PATH printed, not without.
    func testAPrefixInstallSaysHowJupyterFindsIt() throws {
        let prefix = folder.appendingPathComponent("plain").path
        let installed = try execute(normlab, ["kernel", "install", "--prefix", prefix], environment: ["JUPYTER_PATH": ""])
        XCTAssertEqual(installed.status, 0, installed.output)
        let data = prefix + "/share/jupyter"
        XCTAssertTrue(installed.output.contains("installed the Normlab kernel in \(data)/kernels/normlab\n"), installed.output)
        XCTAssertTrue(installed.output.contains("Jupyter finds it with JUPYTER_PATH=\(data),"), installed.output)
        let find = "from jupyter_client.kernelspec import KernelSpecManager as M; print(M().find_kernel_specs().get('normlab'))"
        let isolated = ["JUPYTER_DATA_DIR": folder.appendingPathComponent("data").path, "JUPYTER_PLATFORM_DIRS": "1"]
        let without = try execute(python, ["python3", "-c", find], environment: isolated.merging(["JUPYTER_PATH": ""]) { $1 })
        // (A normlab installed for the whole machine may be found; this one is not.)
        XCTAssertNotEqual(without.output.trimmingCharacters(in: .whitespacesAndNewlines), data + "/kernels/normlab", without.output)
        let with = try execute(python, ["python3", "-c", find], environment: isolated.merging(["JUPYTER_PATH": data]) { $1 })
        XCTAssertEqual(with.output.trimmingCharacters(in: .whitespacesAndNewlines), data + "/kernels/normlab", with.output)

        // A virtual environment's folder: its own Jupyter looks there, so nothing more is said.
        let venv = folder.appendingPathComponent("venv")
        try FileManager.default.createDirectory(at: venv, withIntermediateDirectories: true)
        try Data("home = /usr/bin\n".utf8).write(to: venv.appendingPathComponent("pyvenv.cfg"))
        let inVenv = try execute(normlab, ["kernel", "install", "--prefix", venv.path])
        XCTAssertEqual(inVenv.status, 0, inVenv.output)
        XCTAssertFalse(inVenv.output.contains("JUPYTER_PATH"), inVenv.output)
    }

    /// Every message the kernel answers, an interrupt during a long loop, a restart, a shutdown.
    func testTheProtocolUnderJupyterClient() throws {
        let result = try execute(python, ["python3", packageRoot.appendingPathComponent("Tests/KernelTests/Python/protocol.py").path], environment: environment)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("ok shutdown"), result.output)
    }

    /// Every lesson, converted with `normlab notebook` and run by nbclient with the lessons'
    /// small presets (the kernel's --check, as `normlab run --check`): every check passes and
    /// the pictures arrive as PNG.
    func testEveryLessonRunsAsANotebook() throws {
        // The test's kernelspec runs the checking presets, so lesson 5 trains in seconds.
        let file = spec.appendingPathComponent("kernel.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any] ?? [:]
        json["argv"] = (json["argv"] as? [String] ?? []) + ["--check"]
        try JSONSerialization.data(withJSONObject: json).write(to: file)

        let lessons = try FileManager.default.contentsOfDirectory(atPath: packageRoot.appendingPathComponent("Lessons").path)
            .filter { $0.hasSuffix(".md") && $0.first?.isNumber == true }.sorted()
        XCTAssertFalse(lessons.isEmpty)
        let notebooks = folder.appendingPathComponent("notebooks"), executed = folder.appendingPathComponent("executed")
        for directory in [notebooks, executed] { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
        var paths: [String] = []
        for lesson in lessons {
            let out = notebooks.appendingPathComponent(lesson.replacingOccurrences(of: ".md", with: ".ipynb")).path
            let converted = try execute(normlab, ["notebook", packageRoot.appendingPathComponent("Lessons/" + lesson).path, "--out", out])
            XCTAssertEqual(converted.status, 0, converted.output)
            paths.append(out)
        }
        let result = try execute(python, ["python3", packageRoot.appendingPathComponent("Tests/KernelTests/Python/lessons.py").path, executed.path] + paths,
                                 environment: environment)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertEqual(result.output.components(separatedBy: "\n").filter { $0.hasPrefix("ok ") }.count, lessons.count, result.output)
    }
}
