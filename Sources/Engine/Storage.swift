import SIMDKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Contiguous Float32 elements, shared between tensor values. Tensors never write into a
/// storage another tensor can see (ops allocate their result; mutation copies first).
final class Storage: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    /// Allocates `shape.count` floats, 64-byte aligned for the SIMD kernels, uninitialised.
    /// Throws instead of trapping when the size is over `Runtime.allocationLimit` or malloc fails.
    init(uninitializedFor shape: Shape, op: String) throws {
        let count = try shape.validated(op: op).count
        let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        let limit = Runtime.allocationLimit
        guard !overflow, bytes <= limit else {
            throw EngineError.allocationTooLarge(op: op, shape: shape, bytes: overflow ? Int.max : bytes, limit: limit)
        }
        _ = SIMDKernels.heapSetUp
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, max(bytes, 64)) == 0, let raw else {
            throw EngineError.outOfMemory(op: op, shape: shape, bytes: bytes)
        }
        self.pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
    }

    convenience init(zerosFor shape: Shape, op: String) throws {
        try self.init(uninitializedFor: shape, op: op)
        pointer.initialize(repeating: 0, count: count)
    }

    deinit { free(pointer) }

    /// No elements: stands in for an output that a derivative does not read.
    // 64 bytes always fit under any limit; failing here would be a broken engine invariant.
    static let empty = try! Storage(uninitializedFor: [0], op: "empty")

    var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
    var readOnly: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }
}
