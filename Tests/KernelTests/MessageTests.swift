import Foundation
import XCTest
@testable import Kernel

/// Signatures and the wire format of the Jupyter protocol, against fixed vectors.
final class MessageTests: XCTestCase {
    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// RFC 4231's test cases for HMAC-SHA-256 (1–4, 6, 7; 5 tests truncated output).
    func testHMACSHA256MatchesRFC4231() {
        let block = "Test Using Larger Than Block-Size Key - Hash Key First"
        let longData = "This is a test using a larger than block-size key and a larger than block-size data. "
            + "The key needs to be hashed before being used by the HMAC algorithm."
        let cases: [(key: [UInt8], data: [UInt8], digest: String)] = [
            ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            ([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            (Array(1...25), [UInt8](repeating: 0xcd, count: 50), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            ([UInt8](repeating: 0xaa, count: 131), Array(block.utf8), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            ([UInt8](repeating: 0xaa, count: 131), Array(longData.utf8), "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
        ]
        for (i, c) in cases.enumerated() {
            XCTAssertEqual(hex(Signer.hmacSHA256(key: c.key, message: c.data)), c.digest, "RFC 4231 case \(i < 4 ? i + 1 : i + 2)")
        }
    }

    /// An execute_request as jupyter_client sends it; its signature computed with Python's
    /// hmac module: hmac.new(key, b"".join(frames), hashlib.sha256).hexdigest().
    let key = "5e3c2f7a-normlab-test-key"
    let frames: [[UInt8]] = [
        Array("client-identity".utf8), Array("<IDS|MSG>".utf8),
        Array("f1c4e083bcbf4759315365fcf65fed7a1b018d667bc656913ce668a6c49cd92b".utf8),
        Array(#"{"date":"2026-12-02T05:00:00.000000Z","msg_id":"a1","msg_type":"execute_request","session":"s1","username":"student","version":"5.3"}"#.utf8),
        Array("{}".utf8), Array("{}".utf8), Array(#"{"code":"1 + 1","silent":false,"store_history":true}"#.utf8),
    ]

    func testARequestIsReadAndItsSignatureChecked() throws {
        let message = try Message.decode(frames, signer: Signer(key: key))
        XCTAssertEqual(message.identities, [Array("client-identity".utf8)])
        XCTAssertEqual(message.type, "execute_request")
        XCTAssertEqual(message.content["code"] as? String, "1 + 1")
        XCTAssertEqual(message.content["silent"] as? Bool, false)

        var tampered = frames
        tampered[6] = Array(#"{"code":"2 + 2","silent":false,"store_history":true}"#.utf8)
        XCTAssertThrowsError(try Message.decode(tampered, signer: Signer(key: key))) {
            XCTAssertEqual($0 as? KernelError, .badMessage("the signature does not match"))
        }
        XCTAssertThrowsError(try Message.decode(frames, signer: Signer(key: "another key")))
        XCTAssertThrowsError(try Message.decode(Array(frames.prefix(5)), signer: Signer(key: key)), "too few frames")
        XCTAssertThrowsError(try Message.decode(frames.filter { $0 != Array("<IDS|MSG>".utf8) }, signer: Signer(key: key)), "no delimiter")
        XCTAssertThrowsError(try Signer(key: key, scheme: "hmac-md5"))
    }

    /// A reply goes back to the requester's identities, carries the request as its parent, and
    /// is signed over exactly the JSON it sends; an empty key signs nothing.
    func testARepliesIsSignedAndRoutedBack() throws {
        let signer = try Signer(key: key)
        let request = try Message.decode(frames, signer: signer)
        let reply = Message("execute_reply", content: ["status": "ok", "execution_count": 1], parent: request, session: "kernel-session")
        let wire = try reply.encode(signer: signer)
        XCTAssertEqual(wire[0], Array("client-identity".utf8))
        XCTAssertEqual(wire[1], Array("<IDS|MSG>".utf8))
        XCTAssertEqual(String(decoding: wire[2], as: UTF8.self), hex(Signer.hmacSHA256(key: Array(key.utf8), message: Array(wire[3...6].joined()))))
        let back = try Message.decode(wire, signer: signer)
        XCTAssertEqual(back.parentHeader["msg_id"] as? String, "a1")
        XCTAssertEqual(back.header["msg_type"] as? String, "execute_reply")
        XCTAssertEqual(back.header["version"] as? String, "5.3")
        XCTAssertEqual(back.header["session"] as? String, "kernel-session")
        XCTAssertNotNil((back.header["date"] as? String).flatMap { ISO8601DateFormatter.withFractionalSeconds.date(from: $0) })
        XCTAssertEqual(back.content["execution_count"] as? Int, 1)
        XCTAssertEqual(try Message("status", content: [:], session: "s").encode(signer: Signer(key: ""))[1], [], "an empty key: an empty signature")
    }

    func testTheConnectionFileGivesTheEndpoints() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("kernel-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try #"{"shell_port": 5001, "iopub_port": 5002, "stdin_port": 5003, "control_port": 5004, "hb_port": 5005, "ip": "127.0.0.1", "key": "k", "transport": "tcp", "signature_scheme": "hmac-sha256", "kernel_name": "normlab"}"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        let info = try ConnectionInfo.read(file)
        XCTAssertEqual(info.endpoint(info.shellPort), "tcp://127.0.0.1:5001")
        XCTAssertEqual(info.endpoint(info.heartbeatPort), "tcp://127.0.0.1:5005")
        try "{}".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ConnectionInfo.read(file))
    }
}

extension ISO8601DateFormatter {
    static var withFractionalSeconds: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
