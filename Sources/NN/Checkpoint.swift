import Engine
import Foundation

/// What can be wrong with a checkpoint or tensor file, or between it and a model; every
/// message names the file or the tensors concerned. (A file that cannot be read or written at
/// all is Engine's `FileError`.)
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case corrupt(path: String, reason: String)
    case unsupported(path: String, reason: String)
    case mismatch([String])

    public var description: String {
        switch self {
        case let .corrupt(path, reason): return "\(printable(path)) is not a valid file: \(reason)"
        case let .unsupported(path, reason): return "\(printable(path)): \(reason)"
        case let .mismatch(problems): return "the checkpoint does not match:\n  " + problems.joined(separator: "\n  ")
        }
    }
}

// MARK: - Modules and checkpoints

extension Module {
    /// Every parameter and buffer by its dotted name: PyTorch's `state_dict()` of the same network.
    public func stateDict() -> [String: Tensor] {
        var state: [String: Tensor] = [:]
        for (name, p) in namedParameters() { state[name] = p.value.detached() }
        for (name, b) in namedBuffers() { state[name] = b.value }
        return state
    }

    /// The entries a file stores as something other than F32 (`num_batches_tracked`: I64).
    public func stateDTypes() -> [String: DType] {
        Dictionary(uniqueKeysWithValues: namedBuffers().filter { $0.buffer.dtype != .f32 }.map { ($0.name, $0.buffer.dtype) })
    }

    /// Loads parameters and buffers by name, as PyTorch's strict `load_state_dict`. Every name,
    /// shape and missing entry is checked first; on any mismatch nothing changes and the error
    /// lists every problem.
    public func load(stateDict state: [String: Tensor]) throws {
        let parameters = namedParameters(), buffers = namedBuffers()
        var problems: [String] = []
        var expected: [String: Shape] = [:]
        for (name, p) in parameters { expected[name] = p.shape }
        for (name, b) in buffers { expected[name] = b.value.shape }
        for (name, shape) in expected.sorted(by: { $0.key < $1.key }) {
            guard let t = state[name] else { problems.append("\(name): missing from the file"); continue }
            if t.shape != shape { problems.append("\(name): shape \(t.shape) in the file, \(shape) in the model") }
        }
        problems += state.keys.filter { expected[$0] == nil }.sorted().map { "\($0): in the file, not in the model" }
        guard problems.isEmpty else { throw CheckpointError.mismatch(problems) }
        for (name, p) in parameters { if let t = state[name] { try p.assign(t) } }
        for (name, b) in buffers { if let t = state[name] { b.value = t } }
    }

    public func save(to path: String, metadata: [String: String] = [:]) throws {
        try SafeTensors.save(stateDict(), dtypes: stateDTypes(), metadata: metadata, to: path)
    }

    public func load(from path: String) throws {
        try load(stateDict: SafeTensors.load(from: path).tensors)
    }
}
