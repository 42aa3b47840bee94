#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// glibc's malloc, set up once for an engine that allocates and frees buffers of up to tens of
/// MB on every op, on several threads:
/// - blocks up to 32 MiB come from the heap instead of mmap, and a freed block is not handed
///   back to the kernel, so the next buffer of that size reuses warm pages instead of faulting
///   in fresh ones that the kernel must clear (7% of a training step);
/// - one arena for every thread: a worker thread's own arena gave its freed packing buffers
///   back to the kernel on every product, so a two-thread 512³ GEMM spent more time clearing
///   pages (260 faults per call) than multiplying. One lock is cheap at a few allocations per op.
public let heapSetUp: Void = {
    #if canImport(Glibc)
    // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD and M_ARENA_MAX in <malloc.h>.
    let (trimThreshold, mmapThreshold, arenaMax): (Int32, Int32, Int32) = (-1, -3, -8)
    _ = mallopt(mmapThreshold, 32 << 20)
    _ = mallopt(trimThreshold, 1 << 30)
    _ = mallopt(arenaMax, 1)
    #endif
}()

#if canImport(Glibc)
// <malloc.h> is not part of Swift's Glibc module.
@_silgen_name("mallopt") private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

/// Scratch for `count` floats, released with `releaseScratch(_:count:)`. From 4 MB on, a buffer
/// comes from its own mapping, 2 MB-aligned and offered to the kernel for huge pages (where it
/// allows them, as Debian's default "madvise" does), and is kept for reuse: a grouped weight
/// gradient writes its 8 MB transposed column matrix in 64-byte pieces spread over thousands of
/// 4 KB pages, and the TLB misses made such writing 25% slower (conv3's forward columns, when
/// they too were one 8 MB matrix: 1.15 against 0.93 ms). The heap could not give huge pages:
/// its memory is reused, already faulted in as 4 KB pages.
func allocateScratch(_ count: Int) -> UnsafeMutablePointer<Float> {
    let bytes = max(count, 1) * MemoryLayout<Float>.stride
    guard bytes >= HugeScratch.minimum else { return .allocate(capacity: max(count, 1)) }
    return HugeScratch.shared.take(bytes: bytes).bindMemory(to: Float.self, capacity: count)
}

func releaseScratch(_ pointer: UnsafeMutablePointer<Float>, count: Int) {
    let bytes = max(count, 1) * MemoryLayout<Float>.stride
    if bytes >= HugeScratch.minimum { HugeScratch.shared.give(UnsafeMutableRawPointer(pointer)) } else { pointer.deallocate() }
}

/// Large scratch mappings, kept after use (up to `kept` of them) so that their huge pages are
/// faulted in once, not on every call.
final class HugeScratch: @unchecked Sendable {
    static let shared = HugeScratch()
    static let minimum = 4 << 20
    private static let pageSize = 2 << 20, kept = 8

    private struct Mapping: @unchecked Sendable { let base: UnsafeMutableRawPointer, size: Int, aligned: UnsafeMutableRawPointer, usable: Int }
    private let state = Mutex((free: [Mapping](), inUse: [Mapping]()))

    func take(bytes: Int) -> UnsafeMutableRawPointer {
        if let reused = state.withLock({ state -> Mapping? in
            // The smallest free mapping that is large enough.
            guard let index = state.free.indices.filter({ state.free[$0].usable >= bytes }).min(by: { state.free[$0].usable < state.free[$1].usable })
            else { return nil }
            let mapping = state.free.remove(at: index)
            state.inUse.append(mapping)
            return mapping
        }) { return reused.aligned }
        let usable = roundUp(bytes, Self.pageSize), size = usable + Self.pageSize
        guard let base = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), base != MAP_FAILED else {
            fatalError("out of memory for \(bytes) bytes of scratch")
        }
        let aligned = base + (Self.pageSize - Int(bitPattern: base) % Self.pageSize) % Self.pageSize
        _ = madvise(aligned, usable, MADV_HUGEPAGE)
        state.withLock { $0.inUse.append(Mapping(base: base, size: size, aligned: aligned, usable: usable)) }
        return aligned
    }

    func give(_ pointer: UnsafeMutableRawPointer) {
        let unmap = state.withLock { state -> Mapping? in
            guard let index = state.inUse.firstIndex(where: { $0.aligned == pointer }) else { return nil }
            let mapping = state.inUse.remove(at: index)
            state.free.append(mapping)
            guard state.free.count > Self.kept else { return nil }
            return state.free.removeFirst()
        }
        if let unmap { munmap(unmap.base, unmap.size) }
    }
}
