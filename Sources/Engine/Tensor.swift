/// An n-dimensional array of Float32 in row-major order: a value (copying a tensor never
/// copies its elements, and no op changes a tensor another value can see), with an optional
/// place in the autograd graph.
public struct Tensor: @unchecked Sendable {
    public let shape: Shape
    private(set) var storage: Storage
    /// Where this value came from in the autograd graph; nil for constants.
    var node: Node?

    init(shape: Shape, storage: Storage, node: Node? = nil) {
        self.shape = shape
        self.storage = storage
        self.node = node
    }

    /// A tensor of `shape` holding `elements` in row-major order.
    public init(shape: Shape, elements: [Float]) throws {
        let shape = try shape.validated(op: "Tensor(shape:elements:)")
        guard shape.count == elements.count else {
            throw EngineError.invalidShape(op: "Tensor(shape:elements:)", shape: shape,
                                           reason: "needs \(shape.count) elements, got \(elements.count)")
        }
        let storage = try Storage(uninitializedFor: shape, op: "Tensor(shape:elements:)")
        _ = storage.buffer.initialize(from: elements)
        self.init(shape: shape, storage: storage)
    }

    /// A rank-0 tensor.
    public init(_ scalar: Float) {
        // Four bytes never exceed any sensible limit; a failure here is an engine bug.
        // swiftlint:disable:next force_try
        try! self.init(shape: .scalar, elements: [scalar])
    }

    /// A vector.
    public init(_ values: [Float]) throws { try self.init(shape: [values.count], elements: values) }

    /// A matrix from its rows; rows of different lengths are an error.
    public init(_ rows: [[Float]]) throws {
        let columns = rows.first?.count ?? 0
        for (i, row) in rows.enumerated() where row.count != columns {
            throw EngineError.invalidArgument(op: "Tensor(rows)", message: "row \(i) has \(row.count) elements, row 0 has \(columns)")
        }
        try self.init(shape: [rows.count, columns], elements: rows.flatMap { $0 })
    }

    public var rank: Int { shape.rank }
    public var count: Int { shape.count }

    /// The elements in row-major order.
    public var scalars: [Float] { Array(storage.readOnly) }

    /// The single element of a tensor with one element.
    public func item() throws -> Float {
        guard count == 1 else {
            throw EngineError.invalidArgument(op: "item", message: "a tensor of shape \(shape) has \(count) elements, not 1")
        }
        return storage.pointer[0]
    }

    /// Reads the elements without copying them.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(storage.readOnly)
    }

    /// Changes the elements in place, copying them first if another tensor shares them, so
    /// the change is seen by this value only. The result is a constant (outside the graph).
    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) throws -> R {
        if !isKnownUniquelyReferenced(&storage) {
            let copy = try Storage(uninitializedFor: shape, op: "withUnsafeMutableBufferPointer")
            copy.pointer.initialize(from: storage.pointer, count: count)
            storage = copy
        }
        node = nil
        return try body(storage.buffer)
    }
}

extension Tensor: ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral {
    public init(floatLiteral value: Float) { self.init(value) }
    public init(integerLiteral value: Int) { self.init(Float(value)) }
}

// MARK: - Creation

extension Tensor {
    /// A tensor of `shape` with every element equal to `value`.
    public static func full(_ shape: Shape, value: Float) throws -> Tensor {
        let storage = try Storage(uninitializedFor: shape, op: "full")
        storage.pointer.initialize(repeating: value, count: storage.count)
        return Tensor(shape: shape, storage: storage)
    }

    public static func zeros(_ shape: Shape) throws -> Tensor { try full(shape, value: 0) }
    public static func ones(_ shape: Shape) throws -> Tensor { try full(shape, value: 1) }

    /// `start, start + step, …` up to but excluding `end`, as NumPy's arange.
    public static func arange(_ start: Float = 0, _ end: Float, step: Float = 1) throws -> Tensor {
        guard step != 0, step.isFinite, start.isFinite, end.isFinite else {
            throw EngineError.invalidArgument(op: "arange", message: "start, end and step must be finite and step non-zero (got \(start), \(end), \(step))")
        }
        // The span in Float as NumPy computes it, in Double only where Float overflows.
        let span = end - start
        let steps = ((span.isFinite ? Double(span) : Double(end) - Double(start)) / Double(step)).rounded(.up)
        guard steps < 0x1p62 else {
            throw EngineError.invalidArgument(op: "arange", message: "from \(start) to \(end) by \(step) is \(steps) elements, too many for any tensor")
        }
        // Far below zero (an end far below the start) is no elements, and too far for an Int.
        let n = steps > 0 ? Int(steps) : 0
        return try fromIndex(Shape([n]), op: "arange") { start + Float(Double($0) * Double(step)) }
    }

    /// `count` evenly spaced values from `start` to `end` inclusive, as NumPy's linspace.
    public static func linspace(_ start: Float, _ end: Float, count: Int) throws -> Tensor {
        guard count >= 0 else { throw EngineError.invalidArgument(op: "linspace", message: "count must be ≥ 0, got \(count)") }
        let step = count > 1 ? (Double(end) - Double(start)) / Double(count - 1) : 0
        return try fromIndex(Shape([count]), op: "linspace") { i in
            i == count - 1 && count > 1 ? end : Float(Double(start) + Double(i) * step)
        }
    }

    /// The identity matrix (ones on the diagonal of an `n × m` matrix).
    public static func eye(_ n: Int, _ m: Int? = nil) throws -> Tensor {
        let m = m ?? n
        return try fromIndex(Shape([n, m]), op: "eye") { i in i / Swift.max(m, 1) == i % Swift.max(m, 1) ? 1 : 0 }
    }

    /// Standard normal samples from `generator` (or the global stream, see `Runtime.seed`).
    public static func randn(_ shape: Shape, generator: inout RandomGenerator) throws -> Tensor {
        try fromIndex(shape, op: "randn") { _ in generator.nextNormal() }
    }

    /// Uniform samples in [0, 1).
    public static func rand(_ shape: Shape, generator: inout RandomGenerator) throws -> Tensor {
        try fromIndex(shape, op: "rand") { _ in generator.nextUniform() }
    }

    public static func randn(_ shape: Shape) throws -> Tensor {
        try Runtime.withGlobalGenerator { try randn(shape, generator: &$0) }
    }

    public static func rand(_ shape: Shape) throws -> Tensor {
        try Runtime.withGlobalGenerator { try rand(shape, generator: &$0) }
    }

    /// Fills a new tensor with `value(i)` for each row-major index i, in order.
    static func fromIndex(_ shape: Shape, op: String, _ value: (Int) -> Float) throws -> Tensor {
        let storage = try Storage(uninitializedFor: shape, op: op)
        for i in 0..<storage.count { (storage.pointer + i).initialize(to: value(i)) }
        return Tensor(shape: shape, storage: storage)
    }
}
