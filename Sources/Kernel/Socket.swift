import CZMQ
import Foundation

/// A ZeroMQ context: the kernel's five sockets live in one.
final class SocketContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    init() throws {
        guard let handle = zmq_ctx_new() else { throw KernelError.socket("cannot create a context: \(lastError())") }
        self.handle = handle
    }

    /// Ends every socket's blocking call with ETERM; then the context is gone.
    func terminate() { zmq_ctx_term(handle) }
}

/// One ZeroMQ socket, used by one thread at a time (ZeroMQ sockets are not thread-safe: the
/// iopub socket, which every thread publishes on, is behind a lock in `Kernel`).
final class Socket: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    init(_ context: SocketContext, type: Int32, bind endpoint: String) throws {
        guard let handle = zmq_socket(context.handle, type) else { throw KernelError.socket("cannot create a socket: \(lastError())") }
        self.handle = handle
        // Closing drops what was not sent instead of waiting for a peer that may be gone.
        var linger: Int32 = 0
        zmq_setsockopt(handle, ZMQ_LINGER, &linger, MemoryLayout<Int32>.size)
        guard zmq_bind(handle, endpoint) == 0 else {
            let why = lastError()
            zmq_close(handle)
            throw KernelError.socket("cannot bind \(endpoint): \(why)")
        }
    }

    func close() { zmq_close(handle) }

    /// The next multipart message; nil once the context is terminated. A signal (SIGINT, an
    /// interrupt) that lands during the wait is not an error: the wait goes on.
    func receive() -> [[UInt8]]? {
        var frames: [[UInt8]] = []
        while true {
            var message = zmq_msg_t()
            zmq_msg_init(&message)
            defer { zmq_msg_close(&message) }
            if zmq_msg_recv(&message, handle, 0) < 0 {
                if zmq_errno() == EINTR { continue }
                return nil
            }
            let size = zmq_msg_size(&message)
            frames.append(size == 0 ? [] : Array(UnsafeRawBufferPointer(start: zmq_msg_data(&message), count: size)))
            if zmq_msg_more(&message) == 0 { return frames }
        }
    }

    /// Sends the frames as one multipart message.
    func send(_ frames: [[UInt8]]) {
        for (i, frame) in frames.enumerated() {
            let flags = i < frames.count - 1 ? ZMQ_SNDMORE : 0
            while frame.withUnsafeBytes({ zmq_send(handle, $0.baseAddress, $0.count, flags) }) < 0 && zmq_errno() == EINTR {}
        }
    }
}

func lastError() -> String { String(cString: zmq_strerror(zmq_errno())) }
