import Engine
import Foundation
import GAN
import Preview

/// The kernelspec: the folder `kernels/normlab` that tells Jupyter how to start this kernel.
public enum KernelSpec {
    public static let name = "normlab"

    /// Where Jupyter looks for a user's kernels: `$JUPYTER_DATA_DIR`, else the platform's
    /// data folder (`$XDG_DATA_HOME/jupyter` or `~/.local/share/jupyter`; macOS
    /// `~/Library/Jupyter`), as jupyter_core decides.
    public static func userDataDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let dir = environment["JUPYTER_DATA_DIR"], !dir.isEmpty { return dir }
        let home = environment["HOME"] ?? NSHomeDirectory()
        #if os(macOS)
        return home + "/Library/Jupyter"
        #else
        if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty { return xdg + "/jupyter" }
        return home + "/.local/share/jupyter"
        #endif
    }

    /// Where a prefix keeps its kernels (a virtual environment's, a conda environment's): `DIR/share/jupyter`.
    public static func prefixDataDirectory(_ prefix: String) -> String { prefix + "/share/jupyter" }

    /// kernel.json: the argv Jupyter runs (this binary's absolute path), the name shown, the
    /// language, and that an interrupt is a SIGINT, the same as Ctrl-C in the REPL.
    public static func json(executable: String) throws -> Data {
        let spec: [String: Any] = [
            "argv": [executable, "kernel", "--connection-file", "{connection_file}"],
            "display_name": "Normlab", "language": "swift", "interrupt_mode": "signal", "metadata": [String: Any](),
        ]
        return try JSONSerialization.data(withJSONObject: spec, options: [.prettyPrinted, .sortedKeys])
    }

    /// Writes `kernels/normlab/` under `dataDirectory`: kernel.json and the logo at 32 and 64
    /// pixels. Returns the folder.
    @discardableResult
    public static func install(dataDirectory: String, executable: String) throws -> String {
        let folder = dataDirectory + "/kernels/" + name
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try json(executable: executable).write(to: URL(fileURLWithPath: folder + "/kernel.json"), options: .atomic)
        for size in [32, 64] { try savePNG(logo(size: size), to: folder + "/logo-\(size)x\(size).png") }
        return folder
    }

    /// The logo: a face from Normlab's own synthetic set, drawn at the logo's size.
    public static func logo(size: Int) throws -> Tensor {
        try syntheticFaces(count: 1, size: size, seed: 3).images[0]
    }
}
