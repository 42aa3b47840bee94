import CZlib
import Engine
import Foundation

/// The element types of a tensor file. Normlab computes in Float32: it reads all of these,
/// converting to Float32 (F64, F16 and BF16 rounded to nearest, I64 exact up to 2²⁴), and writes
/// F32, or I64 where a name needs it (BatchNorm's `num_batches_tracked`).
public enum DType: String, Sendable, CaseIterable {
    case f32 = "F32", f64 = "F64", f16 = "F16", bf16 = "BF16", i64 = "I64"

    public var size: Int {
        switch self {
        case .f16, .bf16: return 2
        case .f32: return 4
        case .f64, .i64: return 8
        }
    }

    /// Element `i` of little-endian `raw` as a Float.
    func float(_ raw: UnsafeRawBufferPointer, _ i: Int) -> Float {
        switch self {
        case .f32: return Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        case .f64: return Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
        case .f16: return Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
        // bfloat16 is the upper half of a float32.
        case .bf16: return Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
        case .i64: return Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
        }
    }

    /// Little-endian bytes of `count` elements as a Float32 tensor.
    func decode(_ bytes: UnsafeRawBufferPointer, shape: Shape) throws -> Tensor {
        try Tensor(shape: shape, elements: (0..<shape.count).map { float(bytes, $0) })
    }
}

/// The safetensors format (what `safetensors.torch.load_file` reads): an 8-byte little-endian
/// header length, a JSON header mapping each name to its dtype, shape and byte range, then the
/// raw little-endian data, the ranges in order and back to back.
///
/// Normlab adds checksums in the header's `__metadata__`, where every safetensors reader
/// ignores them: `crc32` maps each tensor's name to the CRC-32 (zlib's) of its bytes, and
/// `crc32_header` is the CRC-32 of the rest of the header (see `headerText`), so a flipped bit,
/// a renamed tensor, an edited shape or metadata value is refused on reading.
public enum SafeTensors {
    /// What a file holds.
    public struct File {
        public var tensors: [String: Tensor]
        /// Each tensor's type in the file (the tensors themselves are Float32).
        public var dtypes: [String: DType]
        public var metadata: [String: String]
        /// Whether the file carried checksums (all verified). Files written by other tools have
        /// none; callers decide whether to accept them.
        public var verified: Bool
    }

    /// The reference reader refuses headers above 100 MB; so does Normlab.
    static let headerLimit: UInt64 = 100_000_000

    public static func save(_ tensors: [String: Tensor], dtypes: [String: DType] = [:], metadata: [String: String] = [:], to path: String) throws {
        try writeFileAtomically(encode(tensors, dtypes: dtypes, metadata: metadata), to: path)
    }

    /// The file's bytes: tensors in name order, each range starting where the last ended.
    public static func encode(_ tensors: [String: Tensor], dtypes: [String: DType] = [:], metadata: [String: String] = [:]) throws -> Data {
        var entries: [String: Any] = [:]
        var body = Data()
        var sums: [String: String] = [:]
        var shapes: [String: (DType, Shape)] = [:]
        for (name, tensor) in tensors.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            let dtype = dtypes[name] ?? .f32
            let start = body.count
            switch dtype {
            case .f32: tensor.withUnsafeBufferPointer { body.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
            case .i64:
                for value in tensor.scalars {
                    guard let whole = Int64(exactly: value) else {
                        throw CheckpointError.unsupported(path: name, reason: "\(value) is not a whole number; it cannot be stored as I64")
                    }
                    withUnsafeBytes(of: whole.littleEndian) { body.append(contentsOf: $0) }
                }
            default: throw CheckpointError.unsupported(path: name, reason: "Normlab writes F32 and I64, not \(dtype.rawValue)")
            }
            sums[name] = crc32Hex(body[start...])
            shapes[name] = (dtype, tensor.shape)
            entries[name] = ["dtype": dtype.rawValue, "shape": tensor.shape.dims, "data_offsets": [start, body.count]] as [String: Any]
        }
        var meta = metadata
        meta["crc32"] = String(decoding: try JSONSerialization.data(withJSONObject: sums, options: [.sortedKeys]), as: UTF8.self)
        meta["crc32_header"] = crc32Hex(Data(headerText(shapes, meta).utf8))
        entries["__metadata__"] = meta
        var json = try JSONSerialization.data(withJSONObject: entries, options: [.sortedKeys])
        // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
        while json.count % 8 != 0 { json.append(0x20) }
        var file = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        file.append(body)
        return file
    }

    /// The text `crc32_header` sums: one line per tensor (`tensor <name> <dtype> <d0,d1,…>`) and
    /// per metadata entry but itself (`meta <key>=<value>`), sorted by their UTF-8 bytes, joined
    /// by newlines. Offsets are left out: another writer may order the data differently.
    static func headerText(_ shapes: [String: (DType, Shape)], _ metadata: [String: String]) -> String {
        let lines = shapes.map { "tensor \($0.key) \($0.value.0.rawValue) " + $0.value.1.dims.map(String.init).joined(separator: ",") }
            + metadata.filter { $0.key != "crc32_header" }.map { "meta \($0.key)=\($0.value)" }
        return lines.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.joined(separator: "\n")
    }

    public static func load(from path: String) throws -> File {
        try decode(readRegularFile(path), path: path)
    }

    /// Reads a file's bytes, checking every field before it is used: sizes with checked
    /// arithmetic, ranges in order and back to back up to the end of the file (as the reference
    /// reader does), and the checksums when present.
    public static func decode(_ data: Data, path: String) throws -> File {
        func corrupt(_ reason: String) -> CheckpointError { .corrupt(path: path, reason: reason) }
        guard data.count >= 8 else { throw corrupt("shorter than its 8-byte header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(data.count - 8), headerLength <= headerLimit else {
            throw corrupt("the header claims \(headerLength) bytes; the file has \(data.count - 8) after the length")
        }
        let headerEnd = data.startIndex + 8 + Int(headerLength)
        guard let header = try? JSONSerialization.jsonObject(with: data[(data.startIndex + 8)..<headerEnd]) as? [String: Any] else {
            throw corrupt("the header is not a JSON object")
        }
        let bodyCount = data.endIndex - headerEnd
        var metadata: [String: String] = [:]
        var entries: [(name: String, dtype: DType, shape: Shape, start: Int, end: Int)] = []
        for (name, entry) in header {
            if name == "__metadata__" {
                guard let values = entry as? [String: String] else { throw corrupt("__metadata__ must map names to strings") }
                metadata = values
                continue
            }
            guard let entry = entry as? [String: Any], let dtypeName = entry["dtype"] as? String, let dims = entry["shape"] as? [Any],
                  let offsets = entry["data_offsets"] as? [Any], offsets.count == 2 else {
                throw corrupt("the entry for '\(name)' lacks dtype, shape or data_offsets")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw CheckpointError.unsupported(path: path, reason: "'\(name)' has dtype \(dtypeName); Normlab reads " + DType.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let shape = try Shape(dims.map { d -> Int in
                guard let n = wholeNumber(d), n >= 0 else { throw corrupt("'\(name)' has the dimension \(d); dimensions are whole numbers ≥ 0") }
                return n
            })
            guard let start = wholeNumber(offsets[0]), let end = wholeNumber(offsets[1]) else {
                throw corrupt("'\(name)' has data_offsets \(offsets); they are whole numbers")
            }
            let bytes = try byteCount(shape, dtype.size, name: name, path: path)
            guard start >= 0, end >= start, end - start == bytes else {
                throw corrupt("'\(name)' is \(dtype.rawValue) of shape \(shape), \(bytes) bytes, but its data_offsets are [\(start), \(end)]")
            }
            entries.append((name, dtype, shape, start, end))
        }
        // In order of their data, each range must begin where the previous one ended, the first
        // at 0 and the last at the end of the file: no overlaps, gaps or unread bytes.
        entries.sort { ($0.start, $0.end) < ($1.start, $1.end) }
        var position = 0
        for e in entries {
            guard e.start == position else {
                throw corrupt(e.start < position ? "'\(e.name)' at bytes [\(e.start), \(e.end)) overlaps the tensor before it, which ends at \(position)"
                                                 : "bytes \(position)..<\(e.start) before '\(e.name)' belong to no tensor")
            }
            position = e.end
        }
        guard position == bodyCount else {
            throw corrupt(position > bodyCount ? "the data ends at byte \(bodyCount), the tensors need \(position) (truncated?)"
                                               : "bytes \(position)..<\(bodyCount) at the end belong to no tensor")
        }
        let body = data[headerEnd...]
        let verified = try verifyChecksums(body, entries.map { ($0.name, $0.dtype, $0.shape, $0.start, $0.end) }, metadata, path: path)
        var tensors: [String: Tensor] = [:], dtypes: [String: DType] = [:]
        try body.withUnsafeBytes { raw in
            for e in entries {
                tensors[e.name] = try e.dtype.decode(UnsafeRawBufferPointer(rebasing: raw[e.start..<e.end]), shape: e.shape)
                dtypes[e.name] = e.dtype
            }
        }
        return File(tensors: tensors, dtypes: dtypes, metadata: metadata, verified: verified)
    }

    /// Checks `crc32` and `crc32_header` when the file has them: every tensor must have its
    /// sum and every sum its tensor. Returns whether there were checksums.
    static func verifyChecksums(_ body: Data, _ entries: [(name: String, dtype: DType, shape: Shape, start: Int, end: Int)],
                                _ metadata: [String: String], path: String) throws -> Bool {
        func corrupt(_ reason: String) -> CheckpointError { .corrupt(path: path, reason: reason) }
        guard metadata["crc32"] != nil || metadata["crc32_header"] != nil else { return false }
        guard let text = metadata["crc32"], let stored = metadata["crc32_header"],
              let sums = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String] else {
            throw corrupt("its checksums (crc32, crc32_header) are incomplete or unreadable")
        }
        let shapes = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, ($0.dtype, $0.shape)) })
        guard crc32Hex(Data(headerText(shapes, metadata).utf8)) == stored else {
            throw corrupt("the header does not match its checksum: a name, shape, dtype or metadata value was changed")
        }
        var problems: [String] = []
        for e in entries {
            guard let sum = sums[e.name] else { problems.append("'\(e.name)' has no checksum"); continue }
            if crc32Hex(body[(body.startIndex + e.start)..<(body.startIndex + e.end)]) != sum { problems.append("'\(e.name)' does not match its checksum") }
        }
        problems += sums.keys.filter { shapes[$0] == nil }.sorted().map { "'\($0)' has a checksum but no data" }
        guard problems.isEmpty else { throw corrupt(problems.joined(separator: "; ")) }
        return true
    }
}

/// A number parsed by JSONSerialization, and not `true` or `false` (which Foundation also
/// hands out as NSNumber, 1 and 0).
public func jsonNumber(_ value: Any?) -> NSNumber? {
    guard let n = value as? NSNumber, String(cString: n.objCType) != "c" else { return nil }
    return n
}

/// A JSON number that is a whole number and fits in an Int.
public func wholeNumber(_ value: Any?) -> Int? { jsonNumber(value).flatMap { $0 as? Int } }

/// count × size for `shape`, refusing what overflows or exceeds the tensor limit before
/// anything is allocated.
func byteCount(_ shape: Shape, _ size: Int, name: String, path: String) throws -> Int {
    let count: Int
    do { count = try shape.validated(op: "load").count } catch {
        throw CheckpointError.corrupt(path: path, reason: "'\(name)' has the shape \(shape), whose element count overflows")
    }
    let (bytes, overflow) = count.multipliedReportingOverflow(by: size)
    guard !overflow else { throw CheckpointError.corrupt(path: path, reason: "'\(name)' has the shape \(shape), whose size in bytes overflows") }
    return bytes
}

/// zlib's CRC-32 of `bytes`, as 8 lowercase hex digits (Python: `format(zlib.crc32(b), "08x")`).
public func crc32Hex(_ bytes: Data) -> String {
    let sum = bytes.withUnsafeBytes { raw -> UInt in
        var crc = crc32(0, nil, 0)
        var rest = UnsafeRawBufferPointer(raw)
        // zlib takes a 32-bit length: feed it in pieces.
        while !rest.isEmpty {
            let piece = min(rest.count, 1 << 30)
            crc = crc32(crc, rest.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(piece))
            rest = UnsafeRawBufferPointer(rebasing: rest[piece...])
        }
        return crc
    }
    let hex = String(sum, radix: 16)
    return String(repeating: "0", count: max(0, 8 - hex.count)) + hex
}
