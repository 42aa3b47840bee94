import ArgumentParser
import CEditLine
import CCodecs
import CPNG
import Engine

/// What a bug report needs: Normlab's version, the backend, and the C libraries it linked.
struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the versions of Normlab and the libraries it uses.")

    func run() {
        let png = png_get_libpng_ver(nil).map { String(cString: $0) } ?? "unknown"
        print("normlab \(normlabVersion)")
        print("backend: \(Runtime.backend.name), threads: \(Runtime.threads)")
        print("libpng \(png), libjpeg API \(nl_jpeg_lib_version()), libedit \(LIBEDIT_MAJOR).\(LIBEDIT_MINOR)")
    }
}
