import XCTest
@testable import Engine
import TestSupport

/// Every mistake a user can make throws an `EngineError` naming the op and the shapes;
/// none traps.
final class ErrorTests: XCTestCase {
    let a = try! Tensor.ones([2, 3])

    func testBroadcastMismatchNamesBothShapes() throws {
        assertThrows(.shapeMismatch(op: "add", shapes: [[2, 3], [4]], reason: "cannot broadcast: axis -1 has sizes 3 and 4")) {
            try self.a + Tensor.ones([4])
        }
        do {
            _ = try a * Tensor.ones([3, 2])
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual("\(error)", "mul: shapes [2, 3] and [3, 2] do not fit: cannot broadcast: axis -2 has sizes 2 and 3")
        }
    }

    func testMatmulInnerDimensions() {
        assertThrows(.shapeMismatch(op: "matmul", shapes: [[2, 3], [4, 5]], reason: "inner dimensions 3 and 4 differ")) {
            try matmul(self.a, Tensor.ones([4, 5]))
        }
        assertThrows(.shapeMismatch(op: "matmul", shapes: [[], [3]], reason: "scalars have no matrix product; use *")) {
            try matmul(Tensor(2), Tensor.ones([3]))
        }
        assertThrows(.shapeMismatch(op: "matmul", shapes: [[2, 3, 4], [3, 4, 5]], reason: "batch axes [2] and [3] cannot broadcast")) {
            try matmul(Tensor.ones([2, 3, 4]), Tensor.ones([3, 4, 5]))
        }
    }

    func testConvolutionShapes() {
        let x = try! Tensor.ones([1, 3, 8, 8])
        assertThrows(.shapeMismatch(op: "conv2d", shapes: [[1, 3, 8, 8], [4, 2, 3, 3]], reason: "the input has 3 channels, the weight expects 2")) {
            try conv2d(x, Tensor.ones([4, 2, 3, 3]))
        }
        assertThrows(.shapeMismatch(op: "conv2d", shapes: [[3, 8, 8], [4, 3, 3, 3]], reason: "input must be [N, C, H, W] and weight [outC, inC, kH, kW]")) {
            try conv2d(Tensor.ones([3, 8, 8]), Tensor.ones([4, 3, 3, 3]))
        }
        assertThrows(.shapeMismatch(op: "conv2d", shapes: [[1, 3, 8, 8], [4, 3, 9, 9]], reason: "the kernel is larger than the padded input (stride (1, 1), padding (0, 0), dilation (1, 1))")) {
            try conv2d(x, Tensor.ones([4, 3, 9, 9]))
        }
        assertThrows(.invalidArgument(op: "conv2d", message: "stride and dilation must be ≥ 1 and padding ≥ 0 (stride (0, 0), padding (0, 0), dilation (1, 1))")) {
            try conv2d(x, Tensor.ones([4, 3, 3, 3]), stride: 0)
        }
        assertThrows(.invalidArgument(op: "convTranspose2d", message: "outputPadding 2 must be smaller than stride or dilation")) {
            try convTranspose2d(x, Tensor.ones([3, 2, 4, 4]), stride: 2, outputPadding: 2)
        }
        assertThrows(.shapeMismatch(op: "conv2d", shapes: [[1, 4, 8, 8], [3]], reason: "the bias must have one element per output channel, [4]")) {
            try conv2d(x, Tensor.ones([4, 3, 1, 1]), bias: Tensor.ones([3]))
        }
    }

    func testAxesAndIndices() {
        assertThrows(.invalidAxis(op: "sum", axis: 2, rank: 2)) { try self.a.sum(axes: [2]) }
        assertThrows(.invalidAxis(op: "mean", axis: -3, rank: 2)) { try self.a.mean(axes: [-3]) }
        assertThrows(.invalidArgument(op: "sum", message: "axis -1 appears twice in [1, -1]")) { try self.a.sum(axes: [1, -1]) }
        assertThrows(.indexOutOfRange(op: "index", index: 2, axis: 0, size: 2)) { try self.a[2] }
        assertThrows(.indexOutOfRange(op: "index", index: -4, axis: 1, size: 3)) { try self.a[0, -4] }
        assertThrows(.invalidArgument(op: "index", message: "3 indices for a tensor of rank 2 (shape [2, 3])")) { try self.a[0, 0, 0] }
        assertThrows(.invalidArgument(op: "permute", message: "[0, 0] is not a permutation of the 2 axes of a tensor of shape [2, 3]")) {
            try self.a.permuted([0, 0])
        }
        assertThrows(.invalidArgument(op: "squeeze", message: "axis 0 of shape [2, 3] has size 2, not 1")) { try self.a.squeezed(axis: 0) }
    }

    func testReshapeExpandConcat() {
        assertThrows(.shapeMismatch(op: "reshape", shapes: [[2, 3], [4, 2]], reason: "6 elements cannot be viewed as 8")) {
            try self.a.reshaped([4, 2])
        }
        assertThrows(.shapeMismatch(op: "reshape", shapes: [[2, 3], [4, -1]], reason: "6 elements cannot fill [4, -1]")) {
            try self.a.reshaped([4, -1])
        }
        assertThrows(.invalidArgument(op: "reshape", message: "only one dimension can be -1 in [-1, -1]")) { try self.a.reshaped([-1, -1]) }
        assertThrows(.shapeMismatch(op: "expand", shapes: [[2, 3], [2, 4]], reason: "cannot broadcast: axis -1 has sizes 3 and 4")) {
            try self.a.expanded(to: [2, 4])
        }
        assertThrows(.shapeMismatch(op: "concat", shapes: [[2, 3], [2, 4]], reason: "all axes but axis 0 must match")) {
            try Tensor.concat([self.a, Tensor.ones([2, 4])], axis: 0)
        }
        assertThrows(.invalidArgument(op: "concat", message: "needs at least one tensor")) { try Tensor.concat([]) }
    }

    /// Found by the fuzz harness: arange(18446744073709551616, 3.5) counts −1.8e19 steps, and
    /// converting that to Int stopped the process. An end below the start is no elements.
    func testArangeFarBelowItsStartIsEmpty() throws {
        XCTAssertEqual(try Tensor.arange(18446744073709551616, 3.5).shape, [0])
        XCTAssertEqual(try Tensor.arange(3, -1e30).shape, [0])
        XCTAssertEqual(try Tensor.arange(0, 3).scalars, [0, 1, 2])
    }

    func testConstructionErrors() {
        assertThrows(.invalidShape(op: "Tensor(shape:elements:)", shape: [2, 2], reason: "needs 4 elements, got 3")) {
            try Tensor(shape: [2, 2], elements: [1, 2, 3])
        }
        assertThrows(.invalidArgument(op: "Tensor(rows)", message: "row 1 has 1 elements, row 0 has 2")) { try Tensor([[1, 2], [3]]) }
        assertThrows(.invalidShape(op: "full", shape: [-1, 2], reason: "negative dimension -1")) { try Tensor.zeros([-1, 2]) }
        assertThrows(.invalidShape(op: "full", shape: [Int.max, 2], reason: "element count overflows")) { try Tensor.zeros([Int.max, 2]) }
        assertThrows(.invalidArgument(op: "arange", message: "start, end and step must be finite and step non-zero (got 0.0, 1.0, 0.0)")) {
            try Tensor.arange(0, 1, step: 0)
        }
        assertThrows(.invalidArgument(op: "item", message: "a tensor of shape [2, 3] has 6 elements, not 1")) { try self.a.item() }
        assertThrows(.invalidArgument(op: "variance", message: "needs at least 2 elements for the unbiased estimate along the reduced axes of shape [2, 1]")) {
            try Tensor.ones([2, 1]).variance(axes: [1], unbiased: true)
        }
        assertThrows(.invalidArgument(op: "max", message: "axis 1 of shape [2, 0] is empty: a maximum needs at least one element")) {
            try Tensor.zeros([2, 0]).max(axes: [1])
        }
        assertThrows(.invalidArgument(op: "clamp", message: "min 1.0 is greater than max 0.0")) { try clamp(self.a, min: 1, max: 0) }
    }

    func testTooLargeToAllocate() throws {
        // 2²⁰ × 2²⁰ floats is 4 TiB: over the default 4 GiB limit, an error and not a crash.
        assertThrows(.allocationTooLarge(op: "full", shape: [1 << 20, 1 << 20], bytes: 1 << 42, limit: 4 << 30)) {
            try Tensor.zeros([1 << 20, 1 << 20])
        }
        // Broadcasting two modest operands into a huge result is caught the same way.
        let column = try Tensor.zeros([1 << 17, 1]), row = try Tensor.zeros([1, 1 << 17])
        assertThrows(.allocationTooLarge(op: "add", shape: [1 << 17, 1 << 17], bytes: 1 << 36, limit: 4 << 30)) { try column + row }
        // The limit is a setting.
        let saved = Runtime.allocationLimit
        defer { Runtime.allocationLimit = saved }
        Runtime.allocationLimit = 1024
        assertThrows(.allocationTooLarge(op: "randn", shape: [257], bytes: 1028, limit: 1024)) { try Tensor.randn([257]) }
        do { _ = try Tensor.zeros([1 << 20, 1 << 20]) } catch {
            XCTAssertEqual("\(error)", "full: a tensor of shape [1048576, 1048576] needs 4.0 TiB, over the allocation limit of 1.0 KiB (Runtime.allocationLimit)")
        }
    }

    func testGradientMisuse() throws {
        assertThrows(.notDifferentiable(op: "backward", message: "this tensor is a constant: no input of it requires a gradient (use requiringGrad())")) {
            try self.a.sum().backward()
        }
        let x = a.requiringGrad()
        assertThrows(.invalidArgument(op: "backward", message: "the output has shape [2, 3]; differentiate a scalar (e.g. y.sum()) or pass a seed of that shape")) {
            try (x * 2).backward()
        }
        assertThrows(.shapeMismatch(op: "grad", shapes: [[2, 3], [3]], reason: "the seed must have the output's shape")) {
            try grad(of: x * 2, wrt: [x], seed: Tensor.ones([3]))
        }
        assertThrows(.notDifferentiable(op: "grad", message: "argument 1 of wrt (shape [2, 3]) does not require a gradient: make it with requiringGrad() before computing y")) {
            try grad(of: x.sum(), wrt: [x, self.a])
        }
    }
}
