import ArgumentParser
import CCodecs
import CCrypto
import CEditLine
import CPNG
import CZMQ
import Engine

/// What a bug report needs: Normlab's version, the backend, and the C libraries it linked.
struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the versions of Normlab and the libraries it uses.")

    func run() {
        let png = png_get_libpng_ver(nil).map { String(cString: $0) } ?? "unknown"
        print("normlab \(normlabVersion)")
        print("backend: \(Runtime.backend.name), threads: \(Runtime.threads)")
        print("libpng \(png), libjpeg API \(nl_jpeg_lib_version()), libedit \(LIBEDIT_MAJOR).\(LIBEDIT_MINOR)")
        print("ZeroMQ \(zeroMQVersion), \(String(cString: OpenSSL_version(OPENSSL_VERSION)))")
    }

    /// The version of the libzmq loaded, which may be newer than the headers built against.
    var zeroMQVersion: String {
        var (major, minor, patch): (Int32, Int32, Int32) = (0, 0, 0)
        zmq_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }
}
