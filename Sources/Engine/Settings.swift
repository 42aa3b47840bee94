import Foundation
import Synchronization

/// Engine-wide settings: which backend runs the kernels, how many threads it may use, the
/// allocation limit and memory budget, and how tensors print. Safe to read and change from any thread.
public enum Runtime {
    struct Settings: Sendable {
        var backend: any Backend = SIMDBackend()
        var threads: Int = ProcessInfo.processInfo.activeProcessorCount
        var allocationLimit: Int = 4 << 30
        var memoryBudget: Int = Runtime.defaultMemoryBudget
        var printOptions = PrintOptions()
    }
    static let settings = Mutex(Settings())
    // Its own lock: filling a tensor from it allocates, which reads the settings.
    static let generator = Mutex(RandomGenerator(seed: 0))

    /// The backend that runs every primitive kernel: `SIMDBackend()` (the default) or
    /// `ReferenceBackend()`, the readable oracle. Switching changes results by float rounding only.
    public static var backend: any Backend {
        get { settings.withLock { $0.backend } }
        set { settings.withLock { $0.backend = newValue } }
    }

    /// Threads a backend may use (default: the machine's cores; the reference backend uses one).
    public static var threads: Int {
        get { settings.withLock { $0.threads } }
        set { settings.withLock { $0.threads = max(1, newValue) } }
    }

    /// Largest single tensor, in bytes, an op may allocate; beyond it ops throw
    /// `EngineError.allocationTooLarge` instead of exhausting memory. Default 4 GiB.
    public static var allocationLimit: Int {
        get { settings.withLock { $0.allocationLimit } }
        set { settings.withLock { $0.allocationLimit = newValue } }
    }

    /// The most bytes all live tensors together may hold; an allocation that would pass it
    /// throws `EngineError.memoryBudgetExceeded`, naming the op, its size and what is live.
    /// Default: `defaultMemoryBudget`.
    public static var memoryBudget: Int {
        get { settings.withLock { $0.memoryBudget } }
        set { settings.withLock { $0.memoryBudget = max(0, newValue) } }
    }

    /// Half the memory this process can have: the machine's, or its control group's limit when
    /// that is lower (a container). The budget counts tensors only; the other half is for what
    /// is not a tensor (the kernels' scratch, decoded images, arrays the language makes, copies
    /// on the way to and from files) and for the rest of the machine.
    public static let defaultMemoryBudget: Int = availableMemory() / 2

    /// Bytes held by tensors now, and the most held at once since the process started.
    public static var liveTensorBytes: Int { TensorMemory.live.load(ordering: .relaxed) }
    public static var peakTensorBytes: Int { TensorMemory.peak.load(ordering: .relaxed) }

    /// Throws the error that allocating a tensor of `shape` now would meet (too large, over the
    /// budget, a size that overflows), without allocating: for code about to build one from
    /// something a user gave (an image header, a count).
    public static func checkAllocation(_ shape: Shape, op: String) throws {
        _ = try TensorMemory.check(shape, op: op, reserving: false)
    }

    public static var printOptions: PrintOptions {
        get { settings.withLock { $0.printOptions } }
        set { settings.withLock { $0.printOptions = newValue } }
    }

    /// The global random stream's state, to save in a checkpoint and restore for a bit-for-bit resume.
    public static var generatorState: RandomGenerator {
        get { generator.withLock { $0 } }
        set { generator.withLock { $0 = newValue } }
    }

    /// Restarts the global random stream used by `randn`/`rand` when no generator is passed.
    public static func seed(_ seed: UInt64) {
        generator.withLock { $0 = RandomGenerator(seed: seed) }
        seedValue.store(seed, ordering: .relaxed)
    }

    /// The seed the global stream last restarted from (0 at start), for `:seed` to show.
    public static var lastSeed: UInt64 { seedValue.load(ordering: .relaxed) }
    static let seedValue = Atomic<UInt64>(0)

    /// Lends the global stream (restarted by `seed`) to code that takes a generator.
    public static func withGlobalGenerator<R>(_ body: (inout RandomGenerator) throws -> R) rethrows -> R {
        try generator.withLock { try body(&$0) }
    }
}

/// Physical memory, or the control group's memory limit when lower (cgroup v2, then v1).
private func availableMemory() -> Int {
    var memory = Int(clamping: ProcessInfo.processInfo.physicalMemory)
    for file in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
        // "max" (no limit) or a number of bytes.
        if let text = try? String(contentsOfFile: file, encoding: .utf8),
           let limit = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), limit > 0 {
            memory = min(memory, limit)
        }
    }
    return memory
}
