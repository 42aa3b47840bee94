import CPlatform

// On x86-64 the SIMD kernels are compiled for AVX2 and FMA (x86-64-v3), and any of their code
// may use those instructions, so on an older CPU the first kernel would die of an illegal
// instruction. The check lives here, in code compiled for the baseline CPU, and runs before
// any kernel: at the start of `normlab` and when a SIMD backend is made.

extension SIMDBackend {
    /// Why this CPU cannot run this build's kernels (what it lacks, and how to build Normlab
    /// for it), or nil when it can: always nil for a build without CPU flags.
    public static let unsupportedCPU: String? = {
        #if NORMLAB_X86_64_V3
        return unsupportedCPUMessage(nl_cpu_features_detect())
        #else
        return nil
        #endif
    }()

    /// Why a CPU with `features` cannot run kernels compiled for x86-64-v3, or nil.
    static func unsupportedCPUMessage(_ features: nl_cpu_features) -> String? {
        let required = [("AVX", features.avx), ("AVX2", features.avx2), ("FMA", features.fma), ("F16C", features.f16c),
                        ("BMI1", features.bmi1), ("BMI2", features.bmi2), ("LZCNT", features.lzcnt), ("MOVBE", features.movbe)]
        let missing = required.filter { !$0.1 }.map(\.0)
        var problems: [String] = []
        if !missing.isEmpty { problems.append("this CPU lacks " + missing.joined(separator: ", ")) }
        if !features.osSavesAVX { problems.append("the operating system does not save the AVX registers (XCR0)") }
        guard !problems.isEmpty else { return nil }
        return """
            this build of Normlab needs an x86-64 CPU with AVX2 and FMA (x86-64-v3: Intel Haswell, \
            AMD Excavator and later), and \(problems.joined(separator: "; ")).
            Build Normlab for this CPU with its portable kernels (slower; the same results up to rounding):
                NORMLAB_PORTABLE=1 swift build -c release --scratch-path .build-portable
                .build-portable/release/normlab
            """
    }
}
