import Engine
import Foundation

/// What can go wrong reading or matching a checkpoint; every message names the file or the
/// tensors concerned.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case corrupt(path: String, reason: String)
    case unsupported(path: String, reason: String)
    case mismatch([String])

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read \(path): \(reason)"
        case let .corrupt(path, reason): return "\(path) is not a valid file: \(reason)"
        case let .unsupported(path, reason): return "\(path): \(reason)"
        case let .mismatch(problems): return "the checkpoint does not match:\n  " + problems.joined(separator: "\n  ")
        }
    }
}

/// Writes `data` to a temporary file beside `path`, then renames it over `path`: a crash or
/// an interrupt leaves either the old file or the new one, never half of one.
func writeAtomically(_ data: Data, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
    do {
        try data.write(to: temporary)
        guard rename(temporary.path, url.path) == 0 else {
            throw CheckpointError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
    } catch {
        try? FileManager.default.removeItem(at: temporary)
        if let error = error as? CheckpointError { throw error }
        throw CheckpointError.unreadable(path: path, reason: "cannot write: \(error.localizedDescription)")
    }
}

func readFile(_ path: String) throws -> Data {
    guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError.unreadable(path: path, reason: "no such file") }
    do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
        throw CheckpointError.unreadable(path: path, reason: error.localizedDescription)
    }
}

// MARK: - safetensors

/// The safetensors format (what PyTorch's `safetensors.torch.load_file` reads): an 8-byte
/// little-endian header length, a JSON header mapping each name to its dtype, shape and byte
/// range, then the raw little-endian data. Normlab writes F32 and reads F32 and F64.
public enum SafeTensors {
    public static func save(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var body = Data()
        for name in tensors.keys.sorted() {
            let tensor = tensors[name]!
            let start = body.count
            tensor.withUnsafeBufferPointer { body.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
            header[name] = ["dtype": "F32", "shape": tensor.shape.dims, "data_offsets": [start, body.count]] as [String: Any]
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
        while json.count % 8 != 0 { json.append(0x20) }
        var file = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        file.append(body)
        try writeAtomically(file, to: path)
    }

    public static func load(from path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let data = try readFile(path)
        guard data.count >= 8 else { throw CheckpointError.corrupt(path: path, reason: "shorter than its 8-byte header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw CheckpointError.corrupt(path: path, reason: "the header claims \(headerLength) bytes; the file has \(data.count - 8) after the length")
        }
        let headerEnd = 8 + Int(headerLength)
        guard let header = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<headerEnd)) as? [String: Any] else {
            throw CheckpointError.corrupt(path: path, reason: "the header is not a JSON object")
        }
        let body = data.subdata(in: headerEnd..<data.count)
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (name, entry) in header {
            if name == "__metadata__" { metadata = entry as? [String: String] ?? [:]; continue }
            guard let entry = entry as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw CheckpointError.corrupt(path: path, reason: "the entry for '\(name)' lacks dtype, shape or data_offsets")
            }
            let size: Int
            switch dtype {
            case "F32": size = 4
            case "F64": size = 8
            default: throw CheckpointError.unsupported(path: path, reason: "'\(name)' has dtype \(dtype); Normlab reads F32 and F64")
            }
            guard shape.allSatisfy({ $0 >= 0 }) else { throw CheckpointError.corrupt(path: path, reason: "'\(name)' has a negative dimension") }
            let count = try Shape(shape).validated(op: "SafeTensors.load").count
            guard offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= body.count, offsets[1] - offsets[0] == count * size else {
                throw CheckpointError.corrupt(path: path, reason: "'\(name)' needs \(count * size) bytes at \(offsets), the data has \(body.count)")
            }
            tensors[name] = try decode(body.subdata(in: offsets[0]..<offsets[1]), shape: Shape(shape), bytesPerElement: size)
        }
        return (tensors, metadata)
    }
}

/// Little-endian F32 or F64 bytes as a Float32 tensor.
func decode(_ bytes: Data, shape: Shape, bytesPerElement: Int) throws -> Tensor {
    let values: [Float] = bytes.withUnsafeBytes { raw in
        (0..<shape.count).map { i in
            bytesPerElement == 4
                ? Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                : Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
        }
    }
    return try Tensor(shape: shape, elements: values)
}

// MARK: - npy

/// NumPy's .npy format, version 1.0: the magic "\x93NUMPY", a header dict such as
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded to 64 bytes, then
/// the data. Normlab writes '<f4' and reads '<f4' and '<f8' in C or Fortran order.
public enum NPY {
    public static func save(_ tensor: Tensor, to path: String) throws {
        let shape = tensor.shape.dims.map(String.init).joined(separator: ", ") + (tensor.rank == 1 ? "," : "")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(shape)), }"
        // magic (6) + version (2) + length (2) + header + "\n", a multiple of 64.
        header += String(repeating: " ", count: 63 - (10 + header.utf8.count) % 64) + "\n"
        var file = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        withUnsafeBytes(of: UInt16(header.utf8.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(contentsOf: Array(header.utf8))
        tensor.withUnsafeBufferPointer { file.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
        try writeAtomically(file, to: path)
    }

    public static func load(from path: String) throws -> Tensor {
        let data = try readFile(path)
        guard data.count >= 10, data.prefix(6) == Data([0x93] + Array("NUMPY".utf8)) else {
            throw CheckpointError.corrupt(path: path, reason: "no .npy magic at the start")
        }
        let major = data[data.startIndex + 6]
        let lengthBytes = major == 1 ? 2 : 4
        guard [1, 2, 3].contains(major), data.count >= 8 + lengthBytes else {
            throw CheckpointError.unsupported(path: path, reason: ".npy version \(major) is not supported")
        }
        let headerLength = data.subdata(in: 8..<(8 + lengthBytes)).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let start = 8 + lengthBytes
        guard start + headerLength <= data.count, let header = String(data: data.subdata(in: start..<(start + headerLength)), encoding: .utf8) else {
            throw CheckpointError.corrupt(path: path, reason: "the header is truncated")
        }
        guard let descr = field("descr", in: header), let order = field("fortran_order", in: header),
              let shapeText = field("shape", in: header) else {
            throw CheckpointError.corrupt(path: path, reason: "the header lacks descr, fortran_order or shape: \(header)")
        }
        let size: Int
        switch descr {
        case "'<f4'": size = 4
        case "'<f8'": size = 8
        default: throw CheckpointError.unsupported(path: path, reason: "dtype \(descr); Normlab reads little-endian float32 ('<f4') and float64 ('<f8')")
        }
        let dims = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() ")).split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let parsed = dims.compactMap(Int.init)
        guard parsed.count == dims.count else { throw CheckpointError.corrupt(path: path, reason: "cannot read the shape \(shapeText)") }
        let count = try Shape(parsed).validated(op: "NPY.load").count
        let dataStart = start + headerLength
        guard data.count - dataStart == count * size else {
            throw CheckpointError.corrupt(path: path, reason: "shape \(Shape(parsed)) needs \(count * size) bytes of data, the file has \(data.count - dataStart)")
        }
        let fortran = order == "True"
        // Fortran order stores the transpose: read with the axes reversed, then reverse them back.
        let stored = Shape(fortran ? parsed.reversed() : parsed)
        let tensor = try decode(data.subdata(in: dataStart..<data.count), shape: stored, bytesPerElement: size)
        return fortran ? try tensor.permuted(Array((0..<parsed.count).reversed())) : tensor
    }

    /// The text of `key`'s value in a Python dict literal (a quoted string, True/False, or a tuple).
    private static func field(_ key: String, in header: String) -> String? {
        guard let keyRange = header.range(of: "'\(key)':") else { return nil }
        let rest = header[keyRange.upperBound...].drop { $0 == " " }
        if rest.first == "(" { return rest.firstIndex(of: ")").map { String(rest[...$0]) } }
        if rest.first == "'" {
            let after = rest.dropFirst()
            return after.firstIndex(of: "'").map { "'" + String(after[..<$0]) + "'" }
        }
        return String(rest.prefix { $0 != "," && $0 != "}" }).trimmingCharacters(in: .whitespaces)
    }
}

// MARK: - Modules and checkpoints

extension Module {
    /// Every parameter and buffer by its dotted name.
    public func stateDict() -> [String: Tensor] {
        var state: [String: Tensor] = [:]
        for (name, p) in namedParameters() { state[name] = p.value.detached() }
        for (name, b) in namedBuffers() { state[name] = b.value }
        return state
    }

    /// Loads parameters and buffers by name. Every name, shape and missing entry is checked
    /// first; on any mismatch nothing changes and the error lists every problem.
    public func load(stateDict state: [String: Tensor]) throws {
        let parameters = namedParameters(), buffers = namedBuffers()
        var problems: [String] = []
        var expected: [String: Shape] = [:]
        for (name, p) in parameters { expected[name] = p.shape }
        for (name, b) in buffers { expected[name] = b.value.shape }
        for name in expected.keys.sorted() {
            guard let t = state[name] else { problems.append("\(name): missing from the file"); continue }
            if t.shape != expected[name] { problems.append("\(name): shape \(t.shape) in the file, \(expected[name]!) in the model") }
        }
        problems += state.keys.filter { expected[$0] == nil }.sorted().map { "\($0): in the file, not in the model" }
        guard problems.isEmpty else { throw CheckpointError.mismatch(problems) }
        for (name, p) in parameters { try p.assign(state[name]!) }
        for (name, b) in buffers { b.value = state[name]! }
    }

    public func save(to path: String, metadata: [String: String] = [:]) throws {
        try SafeTensors.save(stateDict(), metadata: metadata, to: path)
    }

    public func load(from path: String) throws {
        try load(stateDict: SafeTensors.load(from: path).tensors)
    }
}
