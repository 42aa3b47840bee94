import Dispatch
import Synchronization
import XCTest
@testable import SIMDKernels

/// SIMDKernels.concurrentPerform: every index runs exactly once, and the call returns only
/// after all of them, whether the pool's threads are spinning, asleep, or already busy.
final class WorkerPoolTests: XCTestCase {
    /// Counts how often each index ran.
    final class Tally: @unchecked Sendable {
        let counts: UnsafeMutablePointer<Atomic<Int>>
        let size: Int
        init(_ size: Int) {
            self.size = size
            counts = .allocate(capacity: size)
            for i in 0..<size { (counts + i).initialize(to: Atomic(0)) }
        }
        deinit { counts.deinitialize(count: size); counts.deallocate() }
        func mark(_ i: Int) { counts[i].add(1, ordering: .relaxed) }
        var values: [Int] { (0..<size).map { counts[$0].load(ordering: .relaxed) } }
    }

    /// The threads that ran some index, behind a pthread mutex (NSLock): ThreadSanitizer does
    /// not see Synchronization.Mutex's futex on Linux, and reported its accesses as races.
    final class ThreadSet: @unchecked Sendable {
        private let lock = NSLock()
        private var ids = Set<UInt>()
        func insertCurrent() { lock.withLock { _ = ids.insert(UInt(pthread_self())) } }
        func removeAll() { lock.withLock { ids.removeAll() } }
        var count: Int { lock.withLock { ids.count } }
    }

    func testEveryIndexRunsOnceAcrossManyRegions() {
        // Back-to-back regions of every size from 0 to 9 (threads spinning between them), each
        // checked before the next starts: an index lost, repeated, or still running at return
        // would show here.
        for round in 0..<20_000 {
            let iterations = round % 10
            let tally = Tally(max(iterations, 1))
            concurrentPerform(iterations: iterations) { tally.mark($0) }
            let expected = (0..<max(iterations, 1)).map { $0 < iterations ? 1 : 0 }
            if tally.values != expected { XCTFail("round \(round), \(iterations) iterations: \(tally.values)"); return }
        }
    }

    func testRegionAfterThePoolHasGoneToSleep() {
        concurrentPerform(iterations: 2) { _ in }
        usleep(20_000)   // past the pool's spinning time, so its threads wait on the semaphore
        for _ in 0..<5 {
            let tally = Tally(4)
            concurrentPerform(iterations: 4) { tally.mark($0) }
            XCTAssertEqual(tally.values, [1, 1, 1, 1])
            usleep(3_000)
        }
    }

    func testThreadsCapsTheThreadsOfARegion() {
        // The pool has grown to 4 threads here; a region for 2 threads must still use only 2.
        concurrentPerform(iterations: 4) { _ in usleep(1_000) }
        let threads = ThreadSet()
        for _ in 0..<20 {
            concurrentPerform(iterations: 16, threads: 2) { _ in
                threads.insertCurrent()
                usleep(200)
            }
            let used = threads.count
            if used > 2 { XCTFail("a 2-thread region ran on \(used) threads"); return }
            threads.removeAll()
        }
    }

    func testNestedRegionsAndCallersOnSeveralThreads() {
        // A region opened inside a region, or from another thread while one runs, goes to GCD.
        let tally = Tally(8 * 8)
        DispatchQueue.concurrentPerform(iterations: 3) { _ in
            for _ in 0..<50 {
                let inner = Tally(8 * 8)
                concurrentPerform(iterations: 8) { i in concurrentPerform(iterations: 8) { j in inner.mark(i * 8 + j) } }
                XCTAssertEqual(inner.values, Array(repeating: 1, count: 64))
            }
        }
        concurrentPerform(iterations: 8) { i in concurrentPerform(iterations: 8) { j in tally.mark(i * 8 + j) } }
        XCTAssertEqual(tally.values, Array(repeating: 1, count: 64))
    }

    func testWritesOfEveryIndexAreVisibleAfterTheCall() {
        // Plain (non-atomic) writes, each index its own slot: the caller reads them all.
        let count = 7
        let slots = UnsafeMutablePointer<Int>.allocate(capacity: count)
        defer { slots.deallocate() }
        for round in 1...2_000 {
            concurrentPerform(iterations: count) { i in slots[i] = round * 10 + i }
            for i in 0..<count where slots[i] != round * 10 + i { XCTFail("round \(round), slot \(i): \(slots[i])"); return }
        }
    }
}
