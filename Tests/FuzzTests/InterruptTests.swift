import Dispatch
import Library
import Script
import XCTest

/// Regressions the fuzz harness found in how long calls answer Ctrl-C.
final class InterruptTests: XCTestCase {
    /// `svd` of a large matrix and `swd` of many faces ran for seconds inside one call without
    /// looking at the interrupt flag, so Ctrl-C waited for them. Their loops now ask the engine's
    /// `Interruption.check`, which the interpreter binds to its flag.
    func testAnSVDStopsWhenInterruptedAndTheSessionGoesOn() throws {
        let interrupt = InterruptFlag()
        let session = Session(interrupt: interrupt, output: { _ in })
        try session.run("let m = randn(500, 500)")
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { interrupt.request() }
        XCTAssertThrowsError(try session.run("let s = svd(m).s")) {
            XCTAssertEqual(($0 as? ScriptError)?.kind, .interrupted, "\($0)")
        }
        XCTAssertFalse(interrupt.isRequested, "the flag is cleared for the next program")
        XCTAssertNoThrow(try session.run("m.shape"))
    }

    /// Found by the 100,000-program run: `power_iteration(w, iters: 2147483648)` did not answer
    /// Ctrl-C; each iteration now asks.
    func testAPowerIterationOfBillionsOfStepsStopsWhenInterrupted() throws {
        let interrupt = InterruptFlag()
        let session = Session(interrupt: interrupt, output: { _ in })
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { interrupt.request() }
        XCTAssertThrowsError(try session.run("power_iteration(randn(16, 27), iters: 2147483648).sigma")) {
            XCTAssertEqual(($0 as? ScriptError)?.kind, .interrupted, "\($0)")
        }
    }
}
