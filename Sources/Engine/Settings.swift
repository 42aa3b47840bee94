import Foundation
import Synchronization

/// Engine-wide settings: which backend runs the kernels, how many threads it may use, the
/// allocation limit, and how tensors print. Safe to read and change from any thread.
public enum Runtime {
    struct Settings: Sendable {
        var backend: any Backend = SIMDBackend()
        var threads: Int = ProcessInfo.processInfo.activeProcessorCount
        var allocationLimit: Int = 4 << 30
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
    }

    /// Lends the global stream (restarted by `seed`) to code that takes a generator.
    public static func withGlobalGenerator<R>(_ body: (inout RandomGenerator) throws -> R) rethrows -> R {
        try generator.withLock { try body(&$0) }
    }
}
