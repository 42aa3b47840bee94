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

    /// Where a prefix keeps its kernels (a virtual environment's, a conda environment's):
    /// `DIR/share/jupyter`, as an absolute path (kernel.json and JUPYTER_PATH need one).
    public static func prefixDataDirectory(_ prefix: String) -> String {
        URL(fileURLWithPath: prefix).standardizedFileURL.path + "/share/jupyter"
    }

    /// How Jupyter finds a kernelspec installed with `--prefix DIR`, when it does not look there
    /// by itself; nil when it does. Jupyter looks in the user's folder, in `sys.prefix/share/jupyter`
    /// of the Python that runs it, in /usr/local and /usr, and in JUPYTER_PATH: so nothing needs
    /// saying for a Python environment (a venv's pyvenv.cfg, conda's conda-meta, or the active
    /// one), for /usr/local and /usr, or when JUPYTER_PATH names the folder already.
    public static func howJupyterFinds(prefix: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        let root = URL(fileURLWithPath: prefix).standardizedFileURL.path
        let data = prefixDataDirectory(prefix)
        let listed = (environment["JUPYTER_PATH"] ?? "").split(separator: ":").map { URL(fileURLWithPath: String($0)).standardizedFileURL.path }
        let active = ["VIRTUAL_ENV", "CONDA_PREFIX"].compactMap { environment[$0] }.filter { !$0.isEmpty }.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        let environmentMarkers = ["pyvenv.cfg", "conda-meta"].map { root + "/" + $0 }
        if listed.contains(data) || active.contains(root) || ["/usr", "/usr/local"].contains(root)
            || environmentMarkers.contains(where: FileManager.default.fileExists) {
            return nil
        }
        let value = shellQuoted(data) + ((environment["JUPYTER_PATH"] ?? "").isEmpty ? "" : ":$JUPYTER_PATH")
        return "Jupyter finds it with JUPYTER_PATH=\(value), e.g. export JUPYTER_PATH=\(value) before starting Jupyter "
            + "(\(root) is not a Python environment, where Jupyter would look by itself)"
    }

    /// A path as a shell reads it back: quoted when it holds anything but plain characters.
    static func shellQuoted(_ path: String) -> String {
        let plain = path.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "/._-+,@%=".unicodeScalars.contains($0) }
        return plain ? path : "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

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
