import ArgumentParser
import Foundation
import Kernel
import Notebook
import REPL

/// `normlab kernel`: Normlab as a Jupyter kernel, and the kernelspec that lets Jupyter start it.
struct KernelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel", abstract: "Run as a Jupyter kernel (Jupyter starts it), or install its kernelspec.",
        discussion: "First `normlab kernel install`, then choose the Normlab kernel in JupyterLab, Jupyter Notebook or VS Code.",
        subcommands: [Serve.self, Install.self], defaultSubcommand: Serve.self)

    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve the Jupyter messaging protocol (what kernel.json runs).")
        @Option(help: "The connection file Jupyter writes (ports, key).") var connectionFile: String
        @Flag(help: "Cells that train run their small preset, as `normlab run --check` does.") var check = false
        func run() throws {
            try Kernel.serve(connectionFile: connectionFile, checking: check, version: normlabVersion)
        }
    }

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the kernelspec (kernel.json and a logo) where Jupyter finds it.",
            discussion: "Without options, or with --user: your Jupyter data folder ($JUPYTER_DATA_DIR, or ~/.local/share/jupyter). "
                + "With --prefix: DIR/share/jupyter, e.g. a virtual environment's (any other folder needs JUPYTER_PATH, which it prints).")
        @Flag(help: "Install for the current user (the default).") var user = false
        @Option(help: "Install into DIR/share/jupyter instead.") var prefix: String?
        func run() throws {
            if user && prefix != nil { throw ValidationError("--user and --prefix are exclusive") }
            let executable = Bundle.main.executableURL?.resolvingSymlinksInPath().path ?? CommandLine.arguments[0]
            let data = prefix.map(KernelSpec.prefixDataDirectory) ?? KernelSpec.userDataDirectory()
            let folder = try KernelSpec.install(dataDirectory: data, executable: executable)
            print("installed the Normlab kernel in \(folder)")
            // A prefix that is no Python environment is a folder Jupyter never looks in by itself.
            if let prefix, let how = KernelSpec.howJupyterFinds(prefix: prefix) { print(how) }
        }
    }
}

/// `normlab notebook`: a lesson as an unexecuted Jupyter notebook for the Normlab kernel.
struct NotebookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notebook", abstract: "Turn a lesson into a Jupyter notebook (prose as Markdown cells, code as code cells).",
        discussion: "Example: normlab notebook Lessons/02-spectral-norm.md --out spectral-norm.ipynb")
    @Argument(help: "A lesson file, or a lesson number.") var lesson: String
    @Option(help: "The notebook to write (default: the lesson's name with .ipynb, here).") var out: String?
    func run() throws {
        let path = try lessonPath(lesson)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("cannot read \(path)") }
        let file = out ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent + ".ipynb"
        try NotebookDocument(lesson: Lesson(path: path, text: text)).write(to: file)
        print("wrote \(file)")
    }
}
