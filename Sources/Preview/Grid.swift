import Engine

/// Tiles a batch `[N, C, H, W]` into one image `[C, H', W']`: `columns` images a row, else
/// `rows` rows, else ⌈√N⌉ columns (as square as possible, rather wide than tall); `padding`
/// pixels of `padValue` between and around the images.
public func grid(_ images: Tensor, rows: Int? = nil, columns: Int? = nil, padding: Int = 2, padValue: Float = 1) throws -> Tensor {
    guard images.rank == 4, images.shape[0] > 0 else {
        throw PreviewError.notAnImage(shape: images.shape, reason: "grid needs a batch [N, C, H, W] of at least one image")
    }
    let (n, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
    guard padding >= 0 else { throw PreviewError.notAnImage(shape: images.shape, reason: "padding must be ≥ 0, got \(padding)") }
    let across: Int
    if let columns { across = max(1, min(n, columns)) }
    else if let rows { across = (n + max(1, min(n, rows)) - 1) / max(1, min(n, rows)) } else { across = Int(Double(n).squareRoot().rounded(.up)) }
    let columns = across
    let rowCount = (n + columns - 1) / columns
    // count × (size + padding) + padding, or nil when a huge padding overflows it.
    func span(_ count: Int, _ size: Int) -> Int? {
        let (step, o1) = size.addingReportingOverflow(padding)
        let (body, o2) = count.multipliedReportingOverflow(by: step)
        let (total, o3) = body.addingReportingOverflow(padding)
        return o1 || o2 || o3 ? nil : total
    }
    guard let outH = span(rowCount, h), let outW = span(columns, w) else {
        throw PreviewError.notAnImage(shape: images.shape, reason: "a grid with padding \(padding) is larger than any tensor")
    }
    // Checked against the limits and allocated before any work, then filled in place.
    try Runtime.checkAllocation([c, outH, outW], op: "grid")
    var out = try Tensor.full([c, outH, outW], value: padValue)
    try out.withUnsafeMutableBufferPointer { out in
        images.withUnsafeBufferPointer { values in
            for i in 0..<n {
                let (top, left) = (padding + (i / columns) * (h + padding), padding + (i % columns) * (w + padding))
                for channel in 0..<c {
                    for y in 0..<h {
                        for x in 0..<w {
                            out[(channel * outH + top + y) * outW + left + x] = values[((i * c + channel) * h + y) * w + x]
                        }
                    }
                }
            }
        }
    }
    return out
}
