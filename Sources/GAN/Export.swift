import Engine
import Foundation

/// The study's models and training loop as a PyTorch script (`Resources/normlab_gan.py`),
/// which reads and writes the checkpoints `Trainer` does: see its docstring.
public enum PyTorchExport {
    public static let fileName = "normlab_gan.py"

    /// The script's text, as compiled into the binary.
    public static var script: String { String(decoding: PackageResources.normlab_gan_py, as: UTF8.self) }

    /// Writes `directory/normlab_gan.py` (creating the directory), returning its path.
    @discardableResult
    public static func write(to directory: String) throws -> String {
        try createFolder(directory)
        let path = directory + "/" + fileName
        try writeFileAtomically(Data(script.utf8), to: path)
        return path
    }
}
