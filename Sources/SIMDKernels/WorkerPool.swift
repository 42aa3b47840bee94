import CPlatform
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs `body(i)` for each i in 0..<iterations, on the calling thread and up to `threads` − 1
/// pool threads (by default one per iteration), and returns when all are done:
/// DispatchQueue.concurrentPerform, without its wake-up cost. Each thread takes the next index
/// not yet taken, so `body` must not care which thread runs an index.
///
/// A training step opens many parallel regions of a few hundred µs. GCD's worker threads go to
/// sleep between them and wake late, leaving one core idle for much of each short region.
/// Pool threads instead spin for a while after a region before they sleep, and whoever is free
/// takes the next index, so a late thread costs nothing but its share.
public func concurrentPerform(iterations: Int, threads: Int? = nil, _ body: (Int) -> Void) {
    let threads = min(iterations, threads ?? iterations)
    if threads <= 1 { for i in 0..<iterations { body(i) }; return }
    WorkerPool.shared.perform(iterations, helpers: threads - 1, body)
}

/// Part `part` of `count` items cut into `parts` nearly equal, consecutive parts.
@inline(__always)
func evenShare(_ part: Int, of parts: Int, _ count: Int) -> Range<Int> { count * part / parts..<count * (part + 1) / parts }

/// Pool threads that stay after their first use. One region runs at a time; a region opened
/// inside another (or on another thread meanwhile) goes to GCD instead.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()

    /// The region being run, in one word so that a thread never pairs one region's counter
    /// with another's limit: generation (bits 40…), iterations (bits 20–39), next index (0–19).
    private let claims = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let sleepers = Atomic<Int>(0)
    /// How many more pool threads may join the region (the rest of the pool sits it out).
    private let seats = Atomic<Int>(0)
    private let wake = DispatchSemaphore(value: 0)
    /// The region's body: written by the caller before it publishes the region in `claims`,
    /// read only by a thread that has claimed an index of that region, which the caller does
    /// not finish waiting for until that index is done.
    private nonisolated(unsafe) var body: ((Int) -> Void)?
    private nonisolated(unsafe) var generation = 0
    private let started = Mutex(0)
    /// Threads spin this long for the next region before they sleep: longer than most serial
    /// stretches between the regions of a training step (tens of µs).
    private let spinNanoseconds: UInt64 = 1_000_000
    private let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    private static let maximumIterations = 1 << 20

    func perform(_ iterations: Int, helpers: Int, _ body: (Int) -> Void) {
        guard iterations < Self.maximumIterations,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            let next = Atomic<Int>(0)
            withoutActuallyEscaping(body) { body in
                let shared = UncheckedSendable(value: body)
                DispatchQueue.concurrentPerform(iterations: helpers + 1) { _ in
                    while case let i = next.add(1, ordering: .relaxed).oldValue, i < iterations { shared.value(i) }
                }
            }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        startThreads(helpers)
        withoutActuallyEscaping(body) { body in
            self.body = body
            finished.store(0, ordering: .relaxed)
            seats.store(helpers, ordering: .relaxed)
            generation = generation % (1 << 23) + 1   // the word's 23 bits of generation
            claims.store(generation << 40 | iterations << 20, ordering: .sequentiallyConsistent)
            // Paired with a sleeper's increment, then its reload of `claims`: either it sees
            // this region, or we see it asleep and wake it.
            for _ in 0..<min(sleepers.load(ordering: .sequentiallyConsistent), helpers) { wake.signal() }
            work(on: generation)
            while finished.load(ordering: .acquiring) < iterations {}
            self.body = nil
        }
    }

    /// Claims and runs indices of region `generation` until none is left.
    private func work(on generation: Int) {
        var word = claims.load(ordering: .acquiring)
        while true {
            let (region, limit, next) = (word >> 40, (word >> 20) & 0xFFFFF, word & 0xFFFFF)
            guard region == generation, next < limit else { return }
            let (exchanged, original) = claims.compareExchange(expected: word, desired: word + 1, ordering: .acquiringAndReleasing)
            if exchanged {
                body?(next)
                finished.add(1, ordering: .releasing)
                word = claims.load(ordering: .acquiring)
            } else {
                word = original
            }
        }
    }

    private func startThreads(_ wanted: Int) {
        started.withLock { count in
            while count < wanted {
                // Threads past the core count share a core with another: they sleep at once
                // instead of spinning against it.
                let spins = count + 1 < cores
                count += 1
                let context = Unmanaged.passRetained(WorkerContext(pool: self, spins: spins)).toOpaque()
                _ = nl_thread_start({ context in
                    guard let context else { return nil }
                    let worker = Unmanaged<WorkerContext>.fromOpaque(context).takeRetainedValue()
                    worker.pool.serve(spins: worker.spins)
                }, context)
            }
        }
    }

    /// A pool thread's life: wait for a region newer than the last one seen, help with it.
    private func serve(spins: Bool) -> Never {
        var seen = claims.load(ordering: .acquiring) >> 40
        while true {
            let spinUntil = DispatchTime.now().uptimeNanoseconds + (spins ? spinNanoseconds : 0)
            var word = claims.load(ordering: .acquiring)
            while word >> 40 == seen {
                if DispatchTime.now().uptimeNanoseconds >= spinUntil {
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    if claims.load(ordering: .sequentiallyConsistent) >> 40 == seen { wake.wait() }
                    sleepers.subtract(1, ordering: .sequentiallyConsistent)
                }
                word = claims.load(ordering: .acquiring)
            }
            seen = word >> 40
            // A seat taken late, from the next region, only leaves that region one thread short.
            if seats.subtract(1, ordering: .relaxed).oldValue > 0 { work(on: seen) }
        }
    }
}

private final class WorkerContext {
    let pool: WorkerPool, spins: Bool
    init(pool: WorkerPool, spins: Bool) { self.pool = pool; self.spins = spins }
}

/// A closure handed to GCD, which wants it Sendable; the caller waits until GCD is done with it.
struct UncheckedSendable<T>: @unchecked Sendable { let value: T }
