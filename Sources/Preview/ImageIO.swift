import CCodecs
import CPNG
import Engine
import Foundation

/// What can go wrong reading or writing a picture; every message names the file.
public enum PreviewError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case unsupported(path: String, reason: String)
    case corrupt(path: String, reason: String)
    /// The header declares more pixels than may be allocated; nothing was decoded.
    case tooLarge(path: String, width: Int, height: Int, channels: Int, reason: String)
    case unwritable(path: String, reason: String)
    case notAnImage(shape: Shape, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read \(printable(path)): \(reason)"
        case let .unsupported(path, reason): return "\(printable(path)): \(reason)"
        case let .corrupt(path, reason): return "\(printable(path)) is damaged: \(printable(reason))"
        case let .tooLarge(path, width, height, channels, reason):
            return "cannot read \(printable(path)): its header declares \(width)×\(height) pixels with \(channels) channel\(channels == 1 ? "" : "s"), \(reason)"
        case let .unwritable(path, reason): return "cannot write \(printable(path)): \(reason)"
        case let .notAnImage(shape, reason): return "a tensor of shape \(shape) is not an image: \(reason)"
        }
    }

    /// What kind of failure, in a word or two, for counting skipped files by reason.
    public var kind: String {
        switch self {
        case .unreadable: return "unreadable"
        case .unsupported: return "not a supported image"
        case .corrupt: return "damaged"
        case .tooLarge: return "too large"
        case .unwritable: return "unwritable"
        case .notAnImage: return "not an image"
        }
    }
}

/// How pixel values map to tensor values.
public enum PixelRange: String, Sendable, CaseIterable {
    /// 0…255 ↦ 0…1
    case unit
    /// 0…255 ↦ −1…1, as GANs with a tanh output use
    case symmetric

    func toTensor(_ byte: UInt8) -> Float {
        self == .unit ? Float(byte) / 255 : Float(byte) / 127.5 - 1
    }

    func toByte(_ value: Float) -> UInt8 {
        let unit = self == .unit ? value : (value + 1) / 2
        guard unit.isFinite else { return 0 }
        return UInt8((min(max(unit, 0), 1) * 255).rounded())
    }
}

/// Reads a PNG (8- or 16-bit; gray, RGB, with or without alpha) or a JPEG (baseline or
/// progressive, gray or RGB) as a `[C, H, W]` tensor: C is 1 for gray, 3 for colour, 4 when
/// the PNG has alpha. Only a regular file is read (a folder, FIFO or device is an error), and
/// the size its header declares is checked against the allocation limit and the memory budget
/// before anything is decoded.
public func loadImage(_ path: String, range: PixelRange = .unit) throws -> Tensor {
    let fd: Int32
    do { fd = try openRegularFile(path) } catch let error as FileError { throw PreviewError.unreadable(path: path, reason: error.reason) }
    defer { close(fd) }
    var magic = [UInt8](repeating: 0, count: 8)
    let count = pread(fd, &magic, magic.count, 0)
    guard count >= 0 else { throw PreviewError.unreadable(path: path, reason: FileError(path: path, writing: false, errno: errno).reason) }
    magic = Array(magic.prefix(count))
    if magic.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return try decoded(path, fd, range: range, nl_png_decode_fd) }
    if magic.starts(with: [0xFF, 0xD8, 0xFF]) { return try decoded(path, fd, range: range, nl_jpeg_decode_fd) }
    throw PreviewError.unsupported(path: path, reason: magic.isEmpty ? "the file is empty" : "not a PNG or JPEG file")
}

/// The error that allocating a decoded image would meet, kept by the size check for Swift.
private final class SizeCheck {
    var refusal: EngineError?
}

/// Runs a decoder whose size check asks the engine whether a `[C, H, W]` tensor of the declared
/// size may be allocated now, then writes the pixels straight into the tensor (C, H, W order).
func decoded(_ path: String, _ fd: Int32, range: PixelRange,
             _ decode: (Int32, nl_size_check?, UnsafeMutableRawPointer?, UnsafeMutablePointer<nl_image>) -> Int32) throws -> Tensor {
    let sizeCheck = SizeCheck()
    var image = nl_image()
    let status = decode(fd, { context, width, height, channels in
        let sizeCheck = Unmanaged<SizeCheck>.fromOpaque(context!).takeUnretainedValue()
        do {
            try Runtime.checkAllocation([Int(channels), Int(height), Int(width)], op: "loadImage")
            return 0
        } catch {
            sizeCheck.refusal = error as? EngineError ?? .invalidArgument(op: "loadImage", message: "\(error)")
            return 1
        }
    }, Unmanaged.passUnretained(sizeCheck).toOpaque(), &image)
    defer { nl_image_free(&image) }
    let message = withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    let (width, height, channels) = (Int(image.width), Int(image.height), Int(image.channels))
    switch Int(status) {
    case NL_OK: break
    case NL_UNSUPPORTED: throw PreviewError.unsupported(path: path, reason: message)
    case NL_UNREADABLE: throw PreviewError.unreadable(path: path, reason: message)
    case NL_REFUSED:
        throw PreviewError.tooLarge(path: path, width: width, height: height, channels: channels, reason: refusalReason(sizeCheck.refusal))
    default: throw PreviewError.corrupt(path: path, reason: message)
    }
    guard let pixels = image.pixels else { throw PreviewError.corrupt(path: path, reason: "no pixels") }
    return try planar(UnsafeBufferPointer(start: pixels, count: width * height * channels),
                      width: width, height: height, channels: channels, range: range)
}

/// Why the engine would refuse a decoded image's tensor, said about the image.
private func refusalReason(_ error: EngineError?) -> String {
    switch error {
    case let .allocationTooLarge(_, _, bytes, limit)?:
        return "\(bytes == Int.max ? "more than any tensor can hold" : formatBytes(bytes) + " as a tensor"): over the allocation limit of \(formatBytes(limit))"
    case let .memoryBudgetExceeded(_, _, bytes, live, budget)?:
        return "\(formatBytes(bytes)) as a tensor, and live tensors already hold \(formatBytes(live)): over the memory budget of \(formatBytes(budget)) (:memory)"
    case let error?: return "\(error)"
    case nil: return "too large to decode"
    }
}

/// Interleaved bytes (HWC) to a planar tensor (CHW).
func planar(_ bytes: UnsafeBufferPointer<UInt8>, width: Int, height: Int, channels: Int, range: PixelRange) throws -> Tensor {
    var tensor = try Tensor.zeros([channels, height, width])
    let plane = width * height
    try tensor.withUnsafeMutableBufferPointer { values in
        for i in 0..<plane {
            for c in 0..<channels { values[c * plane + i] = range.toTensor(bytes[i * channels + c]) }
        }
    }
    return tensor
}

/// Checks that `image` is `[C, H, W]` with C = 1, 3 or 4 (or `[H, W]`, gray) and returns its sizes.
public func imageShape(_ image: Tensor) throws -> (channels: Int, height: Int, width: Int) {
    if image.rank == 2 { return (1, image.shape[0], image.shape[1]) }
    guard image.rank == 3, [1, 3, 4].contains(image.shape[0]) else {
        throw PreviewError.notAnImage(shape: image.shape, reason: "expected [C, H, W] with C = 1, 3 or 4 (or [H, W])")
    }
    guard image.shape[1] > 0, image.shape[2] > 0 else { throw PreviewError.notAnImage(shape: image.shape, reason: "it has no pixels") }
    return (image.shape[0], image.shape[1], image.shape[2])
}

/// Interleaved 8-bit pixels (HWC) of a `[C, H, W]` tensor.
func interleavedBytes(_ image: Tensor, range: PixelRange) throws -> (bytes: [UInt8], channels: Int, height: Int, width: Int) {
    let (channels, height, width) = try imageShape(image)
    let values = image.scalars
    let plane = width * height
    var bytes = [UInt8](repeating: 0, count: values.count)
    for i in 0..<plane {
        for c in 0..<channels { bytes[i * channels + c] = range.toByte(values[c * plane + i]) }
    }
    return (bytes, channels, height, width)
}

/// Writes a `[C, H, W]` tensor (C = 1 gray, 3 RGB, 4 RGBA) or `[H, W]` as an 8-bit PNG, values
/// clamped to the range. The file appears whole or not at all (written beside, then renamed).
public func savePNG(_ image: Tensor, to path: String, range: PixelRange = .unit) throws {
    let (bytes, channels, height, width) = try interleavedBytes(image, range: range)
    var png = png_image()
    png.version = UInt32(PNG_IMAGE_VERSION)
    png.width = UInt32(width)
    png.height = UInt32(height)
    png.format = pngFormat(channels: channels)
    defer { png_image_free(&png) }
    // The first call measures the encoded size, the second encodes into a buffer of that size.
    var size = 0
    var encoded = Data()
    let written = bytes.withUnsafeBytes { pixels -> Int32 in
        guard png_image_write_to_memory(&png, nil, &size, 0, pixels.baseAddress, 0, nil) != 0 else { return 0 }
        encoded = Data(count: size)
        return encoded.withUnsafeMutableBytes { png_image_write_to_memory(&png, $0.baseAddress, &size, 0, pixels.baseAddress, 0, nil) }
    }
    guard written != 0 else { throw PreviewError.unwritable(path: path, reason: pngMessage(png)) }
    do {
        try writeFileAtomically(encoded.prefix(size), to: path)
    } catch let error as FileError {
        throw PreviewError.unwritable(path: path, reason: error.reason)
    }
}

/// A `[C, H, W]` or `[H, W]` tensor as the bytes of a PNG file, each pixel `scale` × `scale`
/// pixels (nearest neighbour: enlarged without blurring). For front ends that take images in
/// memory, such as Jupyter's `image/png`.
public func pngData(_ image: Tensor, range: PixelRange = .unit, scale: Int = 1) throws -> [UInt8] {
    let (pixels, channels, height, width) = try interleavedBytes(image, range: range)
    let s = max(1, scale)
    let (outWidth, wide) = width.multipliedReportingOverflow(by: s)
    let (outHeight, tall) = height.multipliedReportingOverflow(by: s)
    let (rowBytes, long) = outWidth.multipliedReportingOverflow(by: channels)
    let (count, big) = rowBytes.multipliedReportingOverflow(by: outHeight)
    guard !(wide || tall || long || big), outWidth <= Int(UInt32.max), outHeight <= Int(UInt32.max) else {
        throw PreviewError.notAnImage(shape: image.shape, reason: "too large to enlarge \(s) times")
    }
    var bytes = pixels
    if s > 1 {
        bytes = [UInt8](repeating: 0, count: count)
        for y in 0..<outHeight {
            for x in 0..<outWidth {
                let from = ((y / s) * width + x / s) * channels, to = (y * outWidth + x) * channels
                for c in 0..<channels { bytes[to + c] = pixels[from + c] }
            }
        }
    }
    var png = png_image()
    png.version = UInt32(PNG_IMAGE_VERSION)
    (png.width, png.height) = (UInt32(outWidth), UInt32(outHeight))
    png.format = pngFormat(channels: channels)
    defer { png_image_free(&png) }
    // First the size the file needs, then the file.
    var size: png_alloc_size_t = 0
    guard bytes.withUnsafeBytes({ png_image_write_to_memory(&png, nil, &size, 0, $0.baseAddress, 0, nil) }) != 0 else {
        throw PreviewError.notAnImage(shape: image.shape, reason: pngMessage(png))
    }
    var file = [UInt8](repeating: 0, count: Int(size))
    guard bytes.withUnsafeBytes({ b in file.withUnsafeMutableBytes { png_image_write_to_memory(&png, $0.baseAddress, &size, 0, b.baseAddress, 0, nil) } }) != 0 else {
        throw PreviewError.notAnImage(shape: image.shape, reason: pngMessage(png))
    }
    return Array(file.prefix(Int(size)))
}

/// libpng's simplified format for 1 (gray), 3 (RGB) or 4 (RGBA) 8-bit channels; the compound
/// macros (PNG_FORMAT_RGBA, …) are not imported into Swift, the flags are.
private func pngFormat(channels: Int) -> UInt32 {
    let color = channels >= 3 ? UInt32(PNG_FORMAT_FLAG_COLOR) : 0
    let alpha = channels == 4 || channels == 2 ? UInt32(PNG_FORMAT_FLAG_ALPHA) : 0
    return color | alpha
}

private func pngMessage(_ image: png_image) -> String {
    withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
}
