/// The readable backend: each kernel is the plainest loop that computes its definition.
/// It is the oracle every faster backend is tested against. Sums accumulate in Double so
/// the oracle's own rounding stays far below the differences a test looks for.
public struct ReferenceBackend: Backend {
    public init() {}
    public var name: String { "reference" }
}

/// The memory offset of the element with row-major linear index `i` in a view of `dims`
/// with `strides`: split `i` into a multi-index and take its dot product with the strides.
@inline(__always)
func offset(ofLinearIndex i: Int, dims: [Int], strides: [Int]) -> Int {
    var rest = i
    var offset = 0
    for axis in stride(from: dims.count - 1, through: 0, by: -1) {
        let size = dims[axis]
        offset += (rest % size) * strides[axis]
        rest /= size
    }
    return offset
}
