import Foundation
import XCTest
import Engine

/// The package root, found from this file's path (Tests/EngineTests/Support.swift).
public let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

public func loadVectors(_ name: String) throws -> [String: Any] {
    let url = packageRoot.appendingPathComponent("Tests/Vectors/\(name)")
    let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
    guard let dictionary = object as? [String: Any] else { throw TestDataError("\(name) is not a JSON object") }
    return dictionary
}

public struct TestDataError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A tensor from nested JSON arrays of numbers (shape inferred) or a single number.
public func tensor(_ nested: Any?) throws -> Tensor {
    var dims: [Int] = []
    var probe: Any? = nested
    while let array = probe as? [Any] {
        dims.append(array.count)
        probe = array.first
    }
    var values: [Float] = []
    func flatten(_ value: Any?, depth: Int) throws {
        if let array = value as? [Any] {
            guard depth < dims.count, array.count == dims[depth] else { throw TestDataError("ragged array") }
            for element in array { try flatten(element, depth: depth + 1) }
        } else if let number = value as? NSNumber {
            values.append(number.floatValue)
        } else {
            throw TestDataError("not a number: \(String(describing: value))")
        }
    }
    try flatten(nested, depth: 0)
    return try Tensor(shape: Shape(dims), elements: values)
}

/// The largest |a − e| / (|e| + floor) over all elements, and where it happened.
public func maxRelativeError(_ actual: Tensor, _ expected: Tensor, floor: Double = 1e-6) -> (error: Double, index: Int) {
    var worst = (error: 0.0, index: -1)
    for (i, (a, e)) in zip(actual.scalars, expected.scalars).enumerated() {
        let error = Swift.abs(Double(a) - Double(e)) / (Swift.abs(Double(e)) + floor)
        if error > worst.error || (error.isNaN && !worst.error.isNaN) { worst = (error, i) }
    }
    return worst
}

/// Asserts that `actual` and `expected` agree elementwise: |a − e| ≤ atol + rtol·|e|.
/// The message reports the worst element, so a failure says by how much.
@discardableResult
public func assertClose(_ actual: Tensor, _ expected: Tensor, rtol: Double = 1e-5, atol: Double = 1e-6,
                 _ what: String = "", file: StaticString = #filePath, line: UInt = #line) -> Double {
    guard actual.shape == expected.shape else {
        XCTFail("\(what): shape \(actual.shape) ≠ expected \(expected.shape)", file: file, line: line)
        return .infinity
    }
    var worstExcess = 0.0, worstIndex = -1, worstRelative = 0.0
    for (i, (a, e)) in zip(actual.scalars, expected.scalars).enumerated() {
        let difference = Swift.abs(Double(a) - Double(e))
        let allowed = atol + rtol * Swift.abs(Double(e))
        let excess = difference.isNaN ? .infinity : difference - allowed
        worstRelative = Swift.max(worstRelative, difference / Swift.max(Swift.abs(Double(e)), 1e-12))
        if excess > worstExcess { worstExcess = excess; worstIndex = i }
    }
    if worstIndex >= 0 {
        let a = actual.scalars[worstIndex], e = expected.scalars[worstIndex]
        XCTFail("\(what): element \(worstIndex) is \(a), expected \(e) (|Δ| = \(Swift.abs(a - e)), allowed \(atol + rtol * Double(Swift.abs(e))))",
                file: file, line: line)
    }
    return worstRelative
}

public func assertThrows(_ expected: EngineError, _ body: () throws -> Any, file: StaticString = #filePath, line: UInt = #line) {
    do {
        let value = try body()
        XCTFail("expected \(expected), got a result: \(value)", file: file, line: line)
    } catch let error as EngineError {
        XCTAssertEqual(error, expected, file: file, line: line)
    } catch {
        XCTFail("expected \(expected), got \(error)", file: file, line: line)
    }
}

// MARK: - Finite differences

/// ∂f/∂x by central differences with one Richardson step, (4·D(h/2) − D(h)) / 3, whose
/// truncation error is O(h⁴). The step is the one actually taken after rounding to Float.
public func numericalGradient(_ inputs: [Tensor], wrt index: Int, h: Float, _ f: ([Tensor]) throws -> Double) throws -> Tensor {
    var result = [Float](repeating: 0, count: inputs[index].count)
    for j in 0..<inputs[index].count {
        func central(_ step: Float) throws -> Double {
            var plus = inputs, minus = inputs
            let x = inputs[index].scalars[j]
            let (xp, xm) = (x + step, x - step)
            try plus[index].withUnsafeMutableBufferPointer { $0[j] = xp }
            try minus[index].withUnsafeMutableBufferPointer { $0[j] = xm }
            return try (f(plus) - f(minus)) / (Double(xp) - Double(xm))
        }
        result[j] = Float((4 * (try central(h / 2)) - (try central(h))) / 3)
    }
    return try Tensor(shape: inputs[index].shape, elements: result)
}

/// Checks the gradient of every input of `f` against finite differences. f's output is
/// projected on a fixed random tensor first, so every entry of the Jacobian counts.
public func checkGradients(_ inputs: [Tensor], h: Float = 1e-2, rtol: Double = 2e-3, atol: Double = 2e-3,
                    file: StaticString = #filePath, line: UInt = #line,
                    _ f: ([Tensor]) throws -> Tensor) throws {
    let projection = try projectionFor(f(inputs))
    func loss(_ xs: [Tensor]) throws -> Tensor { try (f(xs) * projection).sum() }
    let leaves = inputs.map { $0.requiringGrad() }
    let analytic = try grad(of: loss(leaves), wrt: leaves)
    for i in inputs.indices {
        let numeric = try numericalGradient(inputs, wrt: i, h: h) { Double(try loss($0).item()) }
        assertClose(analytic[i], numeric, rtol: rtol, atol: atol, "∂/∂input \(i)", file: file, line: line)
    }
}

/// Checks second-order gradients: G(x) = Σᵢ ⟨∂L/∂xᵢ, vᵢ⟩ with the first-order gradients
/// built by `grad(createGraph: true)`; ∂G/∂x from the engine must match finite differences
/// of G (that is, of the engine's own first-order gradients).
public func checkSecondOrder(_ inputs: [Tensor], h: Float = 1e-2, rtol: Double = 3e-3, atol: Double = 3e-3,
                      file: StaticString = #filePath, line: UInt = #line,
                      _ f: ([Tensor]) throws -> Tensor) throws {
    let projection = try projectionFor(f(inputs))
    var rng = RandomGenerator(seed: 11)
    let directions = try inputs.map { try Tensor.randn($0.shape, generator: &rng) }
    func G(_ xs: [Tensor]) throws -> Tensor {
        let leaves = xs.map { $0.requiresGrad ? $0 : $0.requiringGrad() }
        let loss = try (f(leaves) * projection).sum()
        let grads = try grad(of: loss, wrt: leaves, createGraph: true)
        var total = Tensor(0)
        for (g, v) in zip(grads, directions) { total = try total + (g * v).sum() }
        return total
    }
    let leaves = inputs.map { $0.requiringGrad() }
    let g = try G(leaves)
    // Where a first-order gradient does not depend on an input (a linear function), its
    // second-order part is zero.
    let analytic = try grad(of: g, wrt: leaves, allowUnused: true)
    for i in inputs.indices {
        let numeric = try numericalGradient(inputs, wrt: i, h: h) { Double(try G($0).item()) }
        assertClose(analytic[i], numeric, rtol: rtol, atol: atol, "∂²: input \(i)", file: file, line: line)
    }
}

func projectionFor(_ output: Tensor) throws -> Tensor {
    var rng = RandomGenerator(seed: 5)
    return try Tensor.randn(output.shape, generator: &rng)
}

/// Random inputs of the given shape, scaled and kept at least `awayFromZero` from 0 so
/// functions with a kink at 0 (relu, abs, max ties) are differentiable where we probe.
public func randomInput(_ shape: Shape, seed: UInt64, scale: Float = 1, awayFromZero: Float = 0, positive: Bool = false) throws -> Tensor {
    var rng = RandomGenerator(seed: seed)
    let values = (0..<shape.count).map { _ -> Float in
        var v = rng.nextNormal() * scale
        if positive { v = Swift.abs(v) + 0.5 }
        if Swift.abs(v) < awayFromZero { v = v < 0 ? v - awayFromZero : v + awayFromZero }
        return v
    }
    return try Tensor(shape: shape, elements: values)
}

// MARK: - Other programs

/// A python3 that can import NumPy (and `module`), for independent cross-checks; nil where
/// there is none.
public func findPython(importing module: String = "numpy") -> String? {
    for path in ["/usr/bin/python3", "/usr/local/bin/python3"] + (ProcessInfo.processInfo.environment["PATH"] ?? "")
        .split(separator: ":").map({ "\($0)/python3" }) where FileManager.default.isExecutableFile(atPath: path) {
        if (try? runProgram(path, ["-c", "import numpy, \(module)"])) != nil { return path }
    }
    return nil
}

/// Runs a program (with `environment` added to this process's) and returns its standard output;
/// throws with its standard error if it exits non-zero.
@discardableResult
public func runProgram(_ program: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    // Standard error goes to a file: a chatty program (torchrun) must not fill a pipe that
    // nobody reads while this reads standard output to its end.
    let errorURL = FileManager.default.temporaryDirectory.appendingPathComponent("normlab-stderr-\(UUID().uuidString)")
    guard FileManager.default.createFile(atPath: errorURL.path, contents: nil) else { throw TestDataError("cannot create \(errorURL.path)") }
    defer { try? FileManager.default.removeItem(at: errorURL) }
    let out = Pipe(), err = try FileHandle(forWritingTo: errorURL)
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    try? err.close()
    guard process.terminationStatus == 0 else {
        let errors = (try? Data(contentsOf: errorURL)) ?? Data()
        throw TestDataError("\(program) exited \(process.terminationStatus): \(String(decoding: errors, as: UTF8.self))")
    }
    return String(decoding: data, as: UTF8.self)
}

// MARK: - Backends

/// Runs `body` once on each backend (reference, then SIMD), restoring the current one after.
public func withEachBackend(_ body: (_ name: String) throws -> Void) rethrows {
    let saved = Runtime.backend
    defer { Runtime.backend = saved }
    for backend in [ReferenceBackend(), SIMDBackend()] as [any Backend] {
        Runtime.backend = backend
        try body(backend.name)
    }
}

/// A test case with a fresh scratch directory per test, removed afterwards.
open class ScratchDirectoryTestCase: XCTestCase {
    public var directory: URL!

    override open func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("normlab-\(type(of: self))-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override open func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A file name inside the scratch directory.
    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}

/// A safetensors file as another tool writes it: F32 tensors, metadata, and no checksums.
public func writeSafeTensorsWithoutChecksums(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws {
    var header: [String: Any] = metadata.isEmpty ? [:] : ["__metadata__": metadata]
    var body = Data()
    for (name, tensor) in tensors.sorted(by: { $0.key < $1.key }) {
        let start = body.count
        tensor.withUnsafeBufferPointer { body.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
        header[name] = ["dtype": "F32", "shape": tensor.shape.dims, "data_offsets": [start, body.count]] as [String: Any]
    }
    let json = try JSONSerialization.data(withJSONObject: header)
    var file = Data()
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
    try (file + json + body).write(to: URL(fileURLWithPath: path))
}
