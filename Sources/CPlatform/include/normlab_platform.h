// What differs between the platforms Normlab builds on (Linux and macOS; x86-64 and arm64),
// behind plain C functions that Swift imports the same way everywhere.
#ifndef NORMLAB_PLATFORM_H
#define NORMLAB_PLATFORM_H

#include <stdbool.h>

// The CPU's vector features that the kernels' builds depend on, as CPUID reports them, and
// whether the operating system saves the wide registers across context switches (XGETBV): a
// CPU with AVX under an OS that does not save its registers cannot run AVX code. All false on
// other architectures, where the kernels need nothing beyond the baseline.
typedef struct {
    // x86-64-v3 beyond v2 (what `-target-cpu haswell` lets the compiler use).
    bool avx, avx2, fma, f16c, bmi1, bmi2, lzcnt, movbe;
    // The AVX-512 subsets of `-target-cpu skylake-avx512`.
    bool avx512f, avx512cd, avx512bw, avx512dq, avx512vl;
    // The OS saves the YMM registers; the opmask and ZMM registers.
    bool osSavesAVX, osSavesAVX512;
} nl_cpu_features;

nl_cpu_features nl_cpu_features_detect(void);

// Calls `handler` on `signal`, with no flags and nothing masked. Without SA_RESTART a blocking
// read that the signal interrupts returns EINTR instead of resuming, which is what lets Ctrl-C
// cancel a line at the prompt. (glibc and Darwin name the handler's union field differently,
// which is why this is C.) 0 on success.
int nl_signal_handle(int signal, void (*handler)(int));

// Starts a detached thread that runs body(context). 0 on success.
int nl_thread_start(void *(*body)(void *), void *context);

// Sets up the C allocator for an engine that allocates and frees buffers of up to tens of MB on
// every op, on several threads (glibc; elsewhere nothing to set, see the definition).
void nl_allocator_tune(void);

#endif
