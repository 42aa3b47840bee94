import SIMDKernels
import Synchronization
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
    /// What this storage counts against the memory budget until it is freed.
    private let bytes: Int

    /// Allocates `shape.count` floats, 64-byte aligned for the SIMD kernels, uninitialised.
    /// Throws instead of trapping when the size is over `Runtime.allocationLimit`, when the
    /// tensors already live plus this one would pass `Runtime.memoryBudget`, or when malloc fails.
    init(uninitializedFor shape: Shape, op: String) throws {
        let (count, bytes) = try TensorMemory.check(shape, op: op, reserving: true)
        _ = SIMDKernels.heapSetUp
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, max(bytes, 64)) == 0, let raw else {
            TensorMemory.release(bytes)
            throw EngineError.outOfMemory(op: op, shape: shape, bytes: bytes)
        }
        self.pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        self.bytes = bytes
    }

    convenience init(zerosFor shape: Shape, op: String) throws {
        try self.init(uninitializedFor: shape, op: op)
        pointer.initialize(repeating: 0, count: count)
    }

    deinit {
        free(pointer)
        TensorMemory.release(bytes)
    }

    /// No elements: stands in for an output that a derivative does not read.
    // Small allocations are never refused (TensorMemory.alwaysGranted); failing here would be a broken engine invariant.
    static let empty = try! Storage(uninitializedFor: [0], op: "empty")

    var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
    var readOnly: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }
}

/// The bytes held by live tensors, counted as storages are allocated and freed, against the
/// budget in `Runtime.memoryBudget`.
enum TensorMemory {
    static let live = Atomic<Int>(0)
    static let peak = Atomic<Int>(0)

    /// Allocations this small (a scalar, a few numbers) are counted but never refused, so that
    /// making a scalar cannot fail; they cannot exhaust memory before a larger one is refused.
    static let alwaysGranted = 64

    /// The element count and bytes of `shape` (counted as live when `reserving`); throws when the
    /// size overflows, is over the per-tensor limit, or would take the live total past the budget.
    static func check(_ shape: Shape, op: String, reserving: Bool) throws -> (count: Int, bytes: Int) {
        let count = try shape.validated(op: op).count
        let limits = Runtime.settings.withLock { (single: $0.allocationLimit, budget: $0.memoryBudget) }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        guard !overflow, bytes <= limits.single else {
            throw EngineError.allocationTooLarge(op: op, shape: shape, bytes: overflow ? Int.max : bytes, limit: limits.single)
        }
        let total = reserving ? live.add(bytes, ordering: .relaxed).newValue : live.load(ordering: .relaxed) + bytes
        if bytes > alwaysGranted, total > limits.budget {
            if reserving { live.subtract(bytes, ordering: .relaxed) }
            throw EngineError.memoryBudgetExceeded(op: op, shape: shape, bytes: bytes, live: total - bytes, budget: limits.budget)
        }
        if reserving { peak.max(total, ordering: .relaxed) }
        return (count, bytes)
    }

    static func release(_ bytes: Int) { live.subtract(bytes, ordering: .relaxed) }
}
