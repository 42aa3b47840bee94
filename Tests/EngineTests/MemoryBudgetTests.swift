import Foundation
import XCTest
@testable import Engine
import TestSupport

/// The budget for all live tensors together (issue 18.2): two tensors that each fit under the
/// per-tensor limit but not together are refused with a message, not killed by the OS.
final class MemoryBudgetTests: XCTestCase {
    var savedBudget = 0

    override func setUp() { savedBudget = Runtime.memoryBudget }
    override func tearDown() { Runtime.memoryBudget = savedBudget }

    func testLiveBytesFollowAllocationAndRelease() throws {
        let before = Runtime.liveTensorBytes
        var a: Tensor? = try Tensor.zeros([1000])
        XCTAssertEqual(Runtime.liveTensorBytes, before + 4000)
        XCTAssertGreaterThanOrEqual(Runtime.peakTensorBytes, before + 4000)
        _ = a
        a = nil
        XCTAssertEqual(Runtime.liveTensorBytes, before)
    }

    func testTheSecondOfTwoTensorsThatDoNotFitTogetherIsRefused() throws {
        let live = Runtime.liveTensorBytes
        Runtime.memoryBudget = live + 6 << 20
        var first: Tensor? = try Tensor.zeros([1 << 20])   // 4 MiB: fits
        assertThrows(.memoryBudgetExceeded(op: "full", shape: [1 << 20], bytes: 4 << 20, live: live + (4 << 20), budget: live + 6 << 20)) {
            try Tensor.zeros([1 << 20])
        }
        do { _ = try Tensor.ones([1 << 20]) } catch {
            XCTAssertTrue("\(error)".hasPrefix("full: a tensor of shape [1048576] needs 4.0 MiB and live tensors already hold "), "\(error)")
            XCTAssertTrue("\(error)".contains("over the memory budget of"), "\(error)")
        }
        // A refused allocation leaves nothing counted, and freeing makes room again.
        XCTAssertEqual(Runtime.liveTensorBytes, live + 4 << 20)
        XCTAssertEqual(first?.count, 1 << 20)
        first = nil
        XCTAssertNoThrow(try { _ = try Tensor.zeros([1 << 20]) }())
    }

    func testResultsOfOpsCountAgainstTheBudget() throws {
        let x = try Tensor.ones([256, 256])
        Runtime.memoryBudget = Runtime.liveTensorBytes + 100_000
        XCTAssertThrowsError(try x + x) { error in
            guard case EngineError.memoryBudgetExceeded(op: "add", shape: [256, 256], bytes: 262_144, _, _)? = error as? EngineError else {
                return XCTFail("\(error)")
            }
        }
    }

    func testScalarsAreNeverRefused() throws {
        Runtime.memoryBudget = 0
        XCTAssertEqual(try Tensor(3).item(), 3)
        XCTAssertEqual(try (Tensor(3) + Tensor(4)).item(), 7)
        XCTAssertThrowsError(try Tensor.zeros([17]))
    }

    func testCheckingAnAllocationReservesNothing() throws {
        let live = Runtime.liveTensorBytes
        Runtime.memoryBudget = live + 1000
        XCTAssertNoThrow(try Runtime.checkAllocation([250], op: "probe"))
        assertThrows(.memoryBudgetExceeded(op: "probe", shape: [251], bytes: 1004, live: live, budget: live + 1000)) {
            try Runtime.checkAllocation([251], op: "probe")
        }
        assertThrows(.invalidShape(op: "probe", shape: [1 << 40, 1 << 40], reason: "element count overflows")) {
            try Runtime.checkAllocation([1 << 40, 1 << 40], op: "probe")
        }
        XCTAssertEqual(Runtime.liveTensorBytes, live)
    }

    /// Half of physical memory (or of a container's limit): it must leave room for what is not a tensor.
    func testTheDefaultBudgetIsHalfTheMemory() {
        let physical = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        XCTAssertGreaterThan(Runtime.defaultMemoryBudget, 0)
        XCTAssertLessThanOrEqual(Runtime.defaultMemoryBudget, physical / 2)
    }

    func testSizesAreReadAsTheyAreWritten() {
        XCTAssertEqual(parseBytes("6 GiB"), 6 << 30)
        XCTAssertEqual(parseBytes("512MB"), 512 << 20)
        XCTAssertEqual(parseBytes("1.5 g"), 3 << 29)
        XCTAssertEqual(parseBytes("4096"), 4096)
        XCTAssertEqual(parseBytes(formatBytes(3 << 20)), 3 << 20)
        XCTAssertNil(parseBytes("lots"))
        XCTAssertNil(parseBytes("-1 GiB"))
        XCTAssertNil(parseBytes("1e300 TiB"))
    }

    /// `arange` over a span that overflows Float, or with a tiny step, is an error, not a trap
    /// in the conversion to Int.
    func testArangeOfAHugeSpanIsAnError() throws {
        XCTAssertEqual(try Tensor.arange(-0x1p127, 0x1p127, step: 0x1p126).scalars, [-0x1p127, -0x1p126, 0, 0x1p126])
        XCTAssertThrowsError(try Tensor.arange(0, 3e38, step: 1e-38)) { error in
            XCTAssertTrue("\(error)".hasPrefix("arange: from 0.0 to 3e+38 by 1e-38 is "), "\(error)")
        }
        XCTAssertThrowsError(try Tensor.arange(0, 1e12))   // over the per-tensor limit
    }
}
