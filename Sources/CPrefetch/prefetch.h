// A cache prefetch hint for the GEMM micro-kernel. Swift has no prefetch of its own; binding
// LLVM's llvm.prefetch intrinsic by name from Swift works in a plain build but breaks the
// compiler under -sanitize=thread, so the hint comes from clang's builtin, inlined.
#ifndef NORMLAB_PREFETCH_H
#define NORMLAB_PREFETCH_H

/// Asks for the cache line at `address` to be brought into every cache level, for reading.
static inline __attribute__((always_inline)) void normlab_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
