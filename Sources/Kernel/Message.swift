import CCrypto
import Foundation

/// The connection file a Jupyter front end writes for the kernel it starts: where to bind each
/// socket, and the key that signs every message.
public struct ConnectionInfo: Decodable, Sendable {
    public var transport: String
    public var ip: String
    public var shellPort: Int
    public var iopubPort: Int
    public var stdinPort: Int
    public var controlPort: Int
    public var heartbeatPort: Int
    public var key: String
    public var signatureScheme: String

    enum CodingKeys: String, CodingKey {
        case transport, ip, key
        case shellPort = "shell_port", iopubPort = "iopub_port", stdinPort = "stdin_port", controlPort = "control_port"
        case heartbeatPort = "hb_port", signatureScheme = "signature_scheme"
    }

    public static func read(_ path: String) throws -> ConnectionInfo {
        guard let data = FileManager.default.contents(atPath: path) else { throw KernelError.connectionFile(path, "cannot read it") }
        do { return try JSONDecoder().decode(ConnectionInfo.self, from: data) } catch {
            throw KernelError.connectionFile(path, "not a Jupyter connection file: \(error)")
        }
    }

    /// ZeroMQ's address of a port: `tcp://127.0.0.1:5555`, or for the ipc transport a path
    /// named after the ip and port, as jupyter_client names it.
    func endpoint(_ port: Int) -> String {
        transport == "ipc" ? "ipc://\(ip)-\(port)" : "\(transport)://\(ip):\(port)"
    }
}

public enum KernelError: Error, CustomStringConvertible, Equatable {
    case connectionFile(String, String)
    case unsupportedScheme(String)
    case badMessage(String)
    case socket(String)

    public var description: String {
        switch self {
        case .connectionFile(let path, let why): return "connection file \(path): \(why)"
        case .unsupportedScheme(let s): return "the signature scheme \(s) is not supported (only hmac-sha256)"
        case .badMessage(let why): return "malformed message: \(why)"
        case .socket(let why): return "ZeroMQ: \(why)"
        }
    }
}

/// Signs messages with HMAC-SHA256 (OpenSSL's libcrypto) keyed by the connection file's key;
/// an empty key means messages are not signed (the signature frame is empty).
public struct Signer: Sendable {
    let key: [UInt8]

    public init(key: String, scheme: String = "hmac-sha256") throws {
        guard key.isEmpty || scheme == "hmac-sha256" else { throw KernelError.unsupportedScheme(scheme) }
        self.key = Array(key.utf8)
    }

    /// The lower-case hex digest of the frames, concatenated.
    public func signature(_ frames: [[UInt8]]) -> String {
        guard !key.isEmpty else { return "" }
        return Signer.hmacSHA256(key: key, message: Array(frames.joined())).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `signature` is the frames' signature, compared in time that does not depend on
    /// where they differ.
    public func verify(_ signature: [UInt8], _ frames: [[UInt8]]) -> Bool {
        let expected = Array(self.signature(frames).utf8)
        guard signature.count == expected.count else { return false }
        return zip(signature, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        key.withUnsafeBufferPointer { k in
            message.withUnsafeBufferPointer { m in
                _ = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress, m.count, &digest, &length)
            }
        }
        return Array(digest.prefix(Int(length)))
    }
}

/// A JSON object as JSONSerialization reads and writes it.
public typealias JSONObject = [String: Any]

/// One message of the Jupyter protocol, 5.3. On the wire: the routing identities, the
/// delimiter `<IDS|MSG>`, the signature, the header, parent header, metadata and content as
/// JSON, then any binary buffers.
public struct Message {
    public var identities: [[UInt8]] = []
    public var header: JSONObject
    public var parentHeader: JSONObject = [:]
    public var metadata: JSONObject = [:]
    public var content: JSONObject
    public var buffers: [[UInt8]] = []

    static let delimiter = Array("<IDS|MSG>".utf8)
    public static let protocolVersion = "5.3"

    public var type: String { header["msg_type"] as? String ?? "" }

    /// A new message of `type` in `session`: a reply or output carries its request as parent
    /// (and goes back to the requester's identities).
    public init(_ type: String, content: JSONObject, parent: Message? = nil, session: String) {
        header = ["msg_id": UUID().uuidString.lowercased(), "session": session, "username": "normlab",
                  "date": Message.timestamp(), "msg_type": type, "version": Message.protocolVersion]
        self.content = content
        if let parent { (parentHeader, identities) = (parent.header, parent.identities) }
    }

    public init(header: JSONObject, parentHeader: JSONObject = [:], metadata: JSONObject = [:], content: JSONObject,
                identities: [[UInt8]] = [], buffers: [[UInt8]] = []) {
        (self.header, self.parentHeader, self.metadata, self.content, self.identities, self.buffers) =
            (header, parentHeader, metadata, content, identities, buffers)
    }

    /// Reads the frames of a message, checking its signature.
    public static func decode(_ frames: [[UInt8]], signer: Signer) throws -> Message {
        guard let split = frames.firstIndex(of: delimiter) else { throw KernelError.badMessage("no <IDS|MSG> delimiter") }
        let rest = Array(frames[(split + 1)...])
        guard rest.count >= 5 else { throw KernelError.badMessage("\(rest.count) frames after the delimiter, expected at least 5") }
        let parts = Array(rest[1...4])
        guard signer.verify(rest[0], parts) else { throw KernelError.badMessage("the signature does not match") }
        func object(_ bytes: [UInt8], _ name: String) throws -> JSONObject {
            guard let value = try? JSONSerialization.jsonObject(with: Data(bytes)), let object = value as? JSONObject else {
                throw KernelError.badMessage("the \(name) is not a JSON object")
            }
            return object
        }
        return Message(header: try object(parts[0], "header"), parentHeader: try object(parts[1], "parent header"),
                       metadata: try object(parts[2], "metadata"), content: try object(parts[3], "content"),
                       identities: Array(frames[..<split]), buffers: Array(rest.dropFirst(5)))
    }

    /// The frames to send, signed.
    public func encode(signer: Signer) throws -> [[UInt8]] {
        let parts = try [header, parentHeader, metadata, content].map { object -> [UInt8] in
            guard JSONSerialization.isValidJSONObject(object) else { throw KernelError.badMessage("cannot write \(object) as JSON") }
            return Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
        }
        return identities + [Message.delimiter, Array(signer.signature(parts).utf8)] + parts + buffers
    }

    /// ISO 8601 with microseconds, in UTC, as the protocol's dates are.
    static func timestamp(_ date: Date = Date()) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
