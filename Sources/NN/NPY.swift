import Engine
import Foundation

/// NumPy's .npy format, version 1.0: the magic "\x93NUMPY", a header dict such as
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded to 64 bytes, then
/// the data. Normlab writes '<f4' and reads '<f4', '<f8', '<f2' and '<i8' (as Float32) in C or
/// Fortran order.
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
        try writeFileAtomically(file, to: path)
    }

    public static func load(from path: String) throws -> Tensor {
        let data = try readRegularFile(path)
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
        guard headerLength <= data.count - start, let header = String(data: data.subdata(in: start..<(start + headerLength)), encoding: .utf8) else {
            throw CheckpointError.corrupt(path: path, reason: "the header is truncated")
        }
        guard let descr = field("descr", in: header), let order = field("fortran_order", in: header),
              let shapeText = field("shape", in: header) else {
            throw CheckpointError.corrupt(path: path, reason: "the header lacks descr, fortran_order or shape: \(header)")
        }
        let dtypes: [String: DType] = ["'<f4'": .f32, "'<f8'": .f64, "'<f2'": .f16, "'<i8'": .i64]
        guard let dtype = dtypes[descr] else {
            throw CheckpointError.unsupported(path: path, reason: "dtype \(descr); Normlab reads little-endian float32 ('<f4'), float64 ('<f8'), float16 ('<f2') and int64 ('<i8')")
        }
        let dims = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() ")).split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let parsed = dims.compactMap(Int.init).filter { $0 >= 0 }
        guard parsed.count == dims.count else { throw CheckpointError.corrupt(path: path, reason: "cannot read the shape \(shapeText)") }
        let bytes = try byteCount(Shape(parsed), dtype.size, name: "the array", path: path)
        let dataStart = start + headerLength
        guard data.count - dataStart == bytes else {
            throw CheckpointError.corrupt(path: path, reason: "shape \(Shape(parsed)) needs \(bytes) bytes of data, the file has \(data.count - dataStart)")
        }
        let fortran = order == "True"
        // Fortran order stores the transpose: read with the axes reversed, then reverse them back.
        let stored = Shape(fortran ? parsed.reversed() : parsed)
        let tensor = try data[(data.startIndex + dataStart)...].withUnsafeBytes { try dtype.decode($0, shape: stored) }
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

