import CPlatform
@testable import Engine
import XCTest

/// The start-up check of a build compiled for x86-64-v3, on the CPUID answers of real CPUs.
final class CPUCheckTests: XCTestCase {
    /// Intel Haswell (and this project's AMD Zen 3): everything the build uses.
    let haswell = nl_cpu_features(avx: true, avx2: true, fma: true, f16c: true, bmi1: true, bmi2: true, lzcnt: true, movbe: true,
                                  avx512f: false, avx512cd: false, avx512bw: false, avx512dq: false, avx512vl: false,
                                  osSavesAVX: true, osSavesAVX512: false)

    func testAnAVX2CPUWhoseOSSavesItsRegistersRunsTheKernels() {
        XCTAssertNil(SIMDBackend.unsupportedCPUMessage(haswell))
    }

    /// Intel Nehalem (2008): SSE4.2 and no AVX, so no XSAVE either.
    func testACPUWithoutAVXIsToldWhatItLacksAndHowToBuildForIt() throws {
        let message = try XCTUnwrap(SIMDBackend.unsupportedCPUMessage(nl_cpu_features()))
        XCTAssertTrue(message.contains("this CPU lacks AVX, AVX2, FMA, F16C, BMI1, BMI2, LZCNT, MOVBE"), message)
        XCTAssertTrue(message.contains("the operating system does not save the AVX registers"), message)
        XCTAssertTrue(message.contains("NORMLAB_PORTABLE=1 swift build"), message)
    }

    /// Intel Sandy Bridge (2011): AVX without AVX2, FMA and the bit-manipulation instructions.
    func testAnAVXOnlyCPUIsToldOnlyWhatItLacks() throws {
        var sandyBridge = haswell
        (sandyBridge.avx2, sandyBridge.fma, sandyBridge.f16c, sandyBridge.bmi1, sandyBridge.bmi2, sandyBridge.lzcnt, sandyBridge.movbe) =
            (false, false, false, false, false, false, false)
        let message = try XCTUnwrap(SIMDBackend.unsupportedCPUMessage(sandyBridge))
        XCTAssertTrue(message.contains("this CPU lacks AVX2, FMA, F16C, BMI1, BMI2, LZCNT, MOVBE."), message)
        XCTAssertFalse(message.contains("operating system"), message)
    }

    /// AVX2 on the CPU, but an OS (or hypervisor) that does not save the YMM registers.
    func testAnOSThatDoesNotSaveTheAVXRegistersIsNamed() throws {
        var features = haswell
        features.osSavesAVX = false
        let message = try XCTUnwrap(SIMDBackend.unsupportedCPUMessage(features))
        XCTAssertFalse(message.contains("lacks"), message)
        XCTAssertTrue(message.contains("the operating system does not save the AVX registers"), message)
    }
}
