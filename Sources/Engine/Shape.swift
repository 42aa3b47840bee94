/// The dimensions of a tensor, outermost first (row-major).
public struct Shape: Hashable, Sendable, ExpressibleByArrayLiteral, CustomStringConvertible {
    public let dims: [Int]

    public init(_ dims: [Int]) { self.dims = dims }
    public init(arrayLiteral dims: Int...) { self.dims = dims }

    public static let scalar = Shape([])

    public var rank: Int { dims.count }
    /// Number of elements (1 for a scalar). Valid shapes are checked by `validated(op:)`.
    public var count: Int { dims.reduce(1, *) }
    public subscript(axis: Int) -> Int { dims[axis] }

    /// Row-major strides in elements: the step in memory for one step along each axis.
    public var strides: [Int] {
        var strides = [Int](repeating: 1, count: rank)
        var step = 1
        for axis in stride(from: rank - 1, through: 0, by: -1) {
            strides[axis] = step
            step *= dims[axis]
        }
        return strides
    }

    public var description: String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }

    /// Checks that no dimension is negative and the element count fits in an Int.
    public func validated(op: String) throws -> Shape {
        var total = 1
        for d in dims {
            guard d >= 0 else { throw EngineError.invalidShape(op: op, shape: self, reason: "negative dimension \(d)") }
            let (product, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow else { throw EngineError.invalidShape(op: op, shape: self, reason: "element count overflows") }
            total = product
        }
        return self
    }

    /// Normalises an axis that may count from the end (-1 is the last axis).
    func axis(_ axis: Int, op: String) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0 && a < max(rank, 1) && (rank > 0 || axis == 0 || axis == -1) else {
            throw EngineError.invalidAxis(op: op, axis: axis, rank: rank)
        }
        return a
    }

    /// Normalised, sorted, duplicate-free axes; `nil` means every axis.
    func axes(_ axes: [Int]?, op: String) throws -> [Int] {
        guard let axes else { return Array(0..<rank) }
        var seen = Set<Int>()
        for a in axes {
            let n = try axis(a, op: op)
            guard seen.insert(n).inserted else {
                throw EngineError.invalidArgument(op: op, message: "axis \(a) appears twice in \(axes)")
            }
        }
        return seen.sorted()
    }

    /// NumPy broadcasting: align from the right; sizes must match or one of them be 1.
    public static func broadcast(_ shapes: [Shape], op: String) throws -> Shape {
        let rank = shapes.map(\.rank).max() ?? 0
        var result = [Int](repeating: 1, count: rank)
        for shape in shapes {
            let offset = rank - shape.rank
            for (i, d) in shape.dims.enumerated() {
                let r = result[offset + i]
                if r == d || d == 1 { continue }
                if r == 1 { result[offset + i] = d; continue }
                throw EngineError.shapeMismatch(
                    op: op, shapes: shapes,
                    reason: "cannot broadcast: axis \(offset + i - rank) has sizes \(r) and \(d)")
            }
        }
        return Shape(result)
    }

    /// Strides that read this shape as if it were broadcast to `target` (0 on broadcast axes).
    func broadcastStrides(to target: Shape) -> [Int] {
        let offset = target.rank - rank
        let own = strides
        var result = [Int](repeating: 0, count: target.rank)
        for i in 0..<rank where dims[i] != 1 || target.dims[offset + i] == 1 {
            result[offset + i] = dims[i] == 1 ? 0 : own[i]
        }
        return result
    }
}
