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
