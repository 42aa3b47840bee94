#if canImport(Glibc)
import Glibc
#endif

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
/// is aligned to 2 MB and offered to the kernel for huge pages (where it allows them, as
/// Debian's default "madvise" does): a grouped convolution writes its 8 MB column matrix in
/// 64-byte pieces spread over thousands of 4 KB pages, and the TLB misses made that 25% slower
/// (1.15 against 0.93 ms for conv3's).
func allocateScratch(_ count: Int) -> UnsafeMutablePointer<Float> {
    let bytes = max(count, 1) * MemoryLayout<Float>.stride
    guard bytes >= hugeScratchMinimum else { return .allocate(capacity: max(count, 1)) }
    var raw: UnsafeMutableRawPointer?
    guard posix_memalign(&raw, 2 << 20, bytes) == 0, let raw else { fatalError("out of memory for \(bytes) bytes of scratch") }
    #if canImport(Glibc)
    _ = madvise(raw, bytes, MADV_HUGEPAGE)
    #endif
    return raw.bindMemory(to: Float.self, capacity: count)
}

func releaseScratch(_ pointer: UnsafeMutablePointer<Float>, count: Int) {
    if max(count, 1) * MemoryLayout<Float>.stride >= hugeScratchMinimum { free(pointer) } else { pointer.deallocate() }
}

private let hugeScratchMinimum = 4 << 20
