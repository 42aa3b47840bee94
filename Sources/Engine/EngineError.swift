import Foundation

/// Mistakes a user can make with tensors. Every message names the op and the shapes involved,
/// so the REPL can print it as it is.
public enum EngineError: Error, Equatable, CustomStringConvertible, Sendable {
    case shapeMismatch(op: String, shapes: [Shape], reason: String)
    case invalidShape(op: String, shape: Shape, reason: String)
    case invalidAxis(op: String, axis: Int, rank: Int)
    case indexOutOfRange(op: String, index: Int, axis: Int, size: Int)
    case invalidArgument(op: String, message: String)
    case allocationTooLarge(op: String, shape: Shape, bytes: Int, limit: Int)
    case memoryBudgetExceeded(op: String, shape: Shape, bytes: Int, live: Int, budget: Int)
    case outOfMemory(op: String, shape: Shape, bytes: Int)
    case notDifferentiable(op: String, message: String)
    /// Ctrl-C while a long op ran (`Interruption`).
    case interrupted(op: String)

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
        case let .memoryBudgetExceeded(op, shape, bytes, live, budget):
            return "\(op): a tensor of shape \(shape) needs \(formatBytes(bytes)) and live tensors already hold \(formatBytes(live)): "
                + "over the memory budget of \(formatBytes(budget)) (free some, or raise the budget with :memory; Runtime.memoryBudget)"
        case let .interrupted(op):
            return "\(op): stopped by Ctrl-C"
        case let .outOfMemory(op, shape, bytes):
            return "\(op): could not allocate \(formatBytes(bytes)) for a tensor of shape \(shape)"
        case let .notDifferentiable(op, message):
            return "\(op): \(message)"
        }
    }
}

/// Bytes in binary units with one decimal: "3.7 GiB".
public func formatBytes(_ bytes: Int) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(bytes) bytes" : "\((value * 10).rounded() / 10) \(units[unit])"
}

/// A size such as "512 MiB", "6GiB", "1.5 GB" or "2000000" (bytes), as `formatBytes` writes
/// them and people type them (KB, MB, GB are read as binary units too); nil when unreadable.
public func parseBytes(_ text: String) -> Int? {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    let number = trimmed.prefix { $0.isNumber || $0 == "." }
    let unit = trimmed.dropFirst(number.count).trimmingCharacters(in: .whitespaces).lowercased()
    let shifts = ["": 0, "b": 0, "bytes": 0, "k": 10, "kb": 10, "kib": 10, "m": 20, "mb": 20, "mib": 20,
                  "g": 30, "gb": 30, "gib": 30, "t": 40, "tb": 40, "tib": 40]
    guard let value = Double(number), let shift = shifts[unit] else { return nil }
    let bytes = (value * Double(1 << shift)).rounded()
    guard bytes.isFinite, bytes >= 0, bytes < 0x1p62 else { return nil }
    return Int(bytes)
}
