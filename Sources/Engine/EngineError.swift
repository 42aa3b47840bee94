/// Mistakes a user can make with tensors. Every message names the op and the shapes involved,
/// so the REPL can print it as it is.
public enum EngineError: Error, Equatable, CustomStringConvertible, Sendable {
    case shapeMismatch(op: String, shapes: [Shape], reason: String)
    case invalidShape(op: String, shape: Shape, reason: String)
    case invalidAxis(op: String, axis: Int, rank: Int)
    case indexOutOfRange(op: String, index: Int, axis: Int, size: Int)
    case invalidArgument(op: String, message: String)
    case allocationTooLarge(op: String, shape: Shape, bytes: Int, limit: Int)
    case outOfMemory(op: String, shape: Shape, bytes: Int)
    case notDifferentiable(op: String, message: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, shapes, reason):
            return "\(op): shapes " + shapes.map(\.description).joined(separator: " and ") + " do not fit: \(reason)"
        case let .invalidShape(op, shape, reason):
            return "\(op): invalid shape \(shape): \(reason)"
        case let .invalidAxis(op, axis, rank):
            return "\(op): axis \(axis) is out of range for a tensor of rank \(rank)"
                + (rank == 0 ? "" : " (valid: \(-rank)..<\(rank))")
        case let .indexOutOfRange(op, index, axis, size):
            return "\(op): index \(index) is out of range for axis \(axis) of size \(size)"
        case let .invalidArgument(op, message):
            return "\(op): \(message)"
        case let .allocationTooLarge(op, shape, bytes, limit):
            return "\(op): a tensor of shape \(shape) needs \(formatBytes(bytes)), over the allocation limit of \(formatBytes(limit)) (Runtime.allocationLimit)"
        case let .outOfMemory(op, shape, bytes):
            return "\(op): could not allocate \(formatBytes(bytes)) for a tensor of shape \(shape)"
        case let .notDifferentiable(op, message):
            return "\(op): \(message)"
        }
    }
}

func formatBytes(_ bytes: Int) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(bytes) bytes" : "\((value * 10).rounded() / 10) \(units[unit])"
}
