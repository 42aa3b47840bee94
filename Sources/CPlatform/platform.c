#include "normlab_platform.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__APPLE__)
#include <sys/sysctl.h>
#endif

#if defined(__x86_64__)
// XCR0, the register the OS sets to say which register states it saves. Only to be read when
// CPUID says OSXSAVE (otherwise the instruction faults).
static uint64_t xcr0(void) {
    uint32_t low, high;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    return ((uint64_t)high << 32) | low;
}
#endif

nl_cpu_features nl_cpu_features_detect(void) {
    nl_cpu_features f = {0};
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    f.fma = c & (1u << 12);
    f.movbe = c & (1u << 22);
    f.avx = c & (1u << 28);
    f.f16c = c & (1u << 29);
    bool osxsave = c & (1u << 27);
    if (__get_cpuid_max(0, 0) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        f.bmi1 = b & (1u << 3);
        f.avx2 = b & (1u << 5);
        f.bmi2 = b & (1u << 8);
        f.avx512f = b & (1u << 16);
        f.avx512dq = b & (1u << 17);
        f.avx512cd = b & (1u << 28);
        f.avx512bw = b & (1u << 30);
        f.avx512vl = b & (1u << 31);
    }
    if (__get_cpuid(0x80000001, &a, &b, &c, &d)) f.lzcnt = c & (1u << 5);
    if (osxsave) {
        uint64_t saved = xcr0();
        f.osSavesAVX = (saved & 0x6) == 0x6;          // XMM and YMM state
        f.osSavesAVX512 = (saved & 0xe6) == 0xe6;     // and opmask, ZMM_Hi256, Hi16_ZMM
    }
#if defined(__APPLE__)
    // macOS gives a thread the AVX-512 state on its first AVX-512 instruction, so XCR0 does
    // not show it beforehand; the kernel says whether it will.
    int enabled = 0;
    size_t size = sizeof enabled;
    f.osSavesAVX512 = f.osSavesAVX && sysctlbyname("hw.optional.avx512f", &enabled, &size, NULL, 0) == 0 && enabled;
#endif
#endif
    return f;
}

int nl_signal_handle(int signal, void (*handler)(int)) {
    struct sigaction action;
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    return sigaction(signal, &action, NULL);
}

int nl_thread_start(void *(*body)(void *), void *context) {
    pthread_t thread;
    int status = pthread_create(&thread, NULL, body, context);
    if (status == 0) pthread_detach(thread);
    return status;
}

void nl_allocator_tune(void) {
#if defined(__GLIBC__)
    // Blocks up to 32 MiB come from the heap instead of mmap, and freed memory is not handed
    // back to the kernel, so the next buffer of a size reuses warm pages instead of faulting
    // in fresh ones that the kernel must clear.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    // One arena for every thread: a worker thread's own arena gave its freed packing buffers
    // back to the kernel after every product. One lock is cheap at a few allocations per op.
    mallopt(M_ARENA_MAX, 1);
#endif
    // Darwin's malloc has no such settings (and no mallopt): it keeps recently freed large
    // blocks for reuse on its own. Other C libraries are left as they are.
}
