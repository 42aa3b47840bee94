import Foundation
import XCTest
@testable import Kernel

/// What `normlab kernel install --prefix DIR` says about finding the kernel: how, for a folder
/// Jupyter does not search by itself; nothing where it does.
final class KernelSpecTests: XCTestCase {
    func testAPlainFolderNeedsJupyterPath() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("normlab-prefix-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.standardizedFileURL.path + "/share/jupyter"
        XCTAssertEqual(KernelSpec.prefixDataDirectory(folder.path + "/./"), data)
        let how = try XCTUnwrap(KernelSpec.howJupyterFinds(prefix: folder.path, environment: [:]))
        XCTAssertTrue(how.hasPrefix("Jupyter finds it with JUPYTER_PATH=\(data), e.g. export JUPYTER_PATH=\(data) "), how)
        // A JUPYTER_PATH of other folders: the new one goes in front of them.
        XCTAssertTrue(KernelSpec.howJupyterFinds(prefix: folder.path, environment: ["JUPYTER_PATH": "/elsewhere"])?
            .hasPrefix("Jupyter finds it with JUPYTER_PATH=\(data):$JUPYTER_PATH,") == true)
        // Nothing to say when JUPYTER_PATH names it, or when it is the active environment.
        XCTAssertNil(KernelSpec.howJupyterFinds(prefix: folder.path, environment: ["JUPYTER_PATH": "/elsewhere:" + data + "/"]))
        XCTAssertNil(KernelSpec.howJupyterFinds(prefix: folder.path, environment: ["VIRTUAL_ENV": folder.path]))
        XCTAssertNil(KernelSpec.howJupyterFinds(prefix: folder.path, environment: ["CONDA_PREFIX": folder.path + "/"]))
        // A venv's or a conda environment's folder: their own Jupyter looks there.
        for marker in ["pyvenv.cfg", "conda-meta"] {
            let path = folder.appendingPathComponent(marker).path
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data()))
            XCTAssertNil(KernelSpec.howJupyterFinds(prefix: folder.path, environment: [:]), marker)
            try FileManager.default.removeItem(atPath: path)
        }
        for system in ["/usr", "/usr/local/"] { XCTAssertNil(KernelSpec.howJupyterFinds(prefix: system, environment: [:]), system) }
        XCTAssertEqual(KernelSpec.shellQuoted("/tmp/my kernels/it's"), "'/tmp/my kernels/it'\\''s'")
    }

    /// The README's Jupyter commands work as written: each `jupyter` subcommand it runs comes with
    /// a pip line for its package, and its sh lines name the built binary, not a `normlab` on PATH.
    func testTheReadmesJupyterCommandsSayWhatToInstall() throws {
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let pip = readme.split(separator: "\n").filter { $0.contains("pip install") }.flatMap { $0.split(whereSeparator: { " (),;`".contains($0) }) }
        for (command, package) in [("jupyter nbconvert", "nbconvert"), ("jupyter lab", "jupyterlab")] where readme.contains(command) {
            XCTAssertTrue(pip.contains(Substring(package)), "the README runs `\(command)` but no pip line installs \(package)")
        }
        let blocks = readme.components(separatedBy: "```sh\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        let bare = blocks.flatMap { $0.split(separator: "\n") }.filter { $0.hasPrefix("normlab ") }
        XCTAssertEqual(bare, [], "a shell line of the README runs `normlab`, which is on no PATH after `swift build`")
    }
}
