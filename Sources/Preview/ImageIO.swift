import CCodecs
import CPNG
import Engine
import Foundation

/// What can go wrong reading or writing a picture; every message names the file.
public enum PreviewError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case unsupported(path: String, reason: String)
    case corrupt(path: String, reason: String)
    case unwritable(path: String, reason: String)
    case notAnImage(shape: Shape, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read \(path): \(reason)"
        case let .unsupported(path, reason): return "\(path): \(reason)"
        case let .corrupt(path, reason): return "\(path) is damaged: \(reason)"
        case let .unwritable(path, reason): return "cannot write \(path): \(reason)"
        case let .notAnImage(shape, reason): return "a tensor of shape \(shape) is not an image: \(reason)"
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
/// the PNG has alpha.
public func loadImage(_ path: String, range: PixelRange = .unit) throws -> Tensor {
    guard FileManager.default.fileExists(atPath: path) else { throw PreviewError.unreadable(path: path, reason: "no such file") }
    guard let handle = FileHandle(forReadingAtPath: path) else { throw PreviewError.unreadable(path: path, reason: "permission denied") }
    let magic = handle.readData(ofLength: 8)
    try? handle.close()
    if magic.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return try loadPNG(path, range: range) }
    if magic.starts(with: [0xFF, 0xD8, 0xFF]) { return try loadJPEG(path, range: range) }
    throw PreviewError.unsupported(path: path, reason: magic.isEmpty ? "the file is empty" : "not a PNG or JPEG file")
}

/// The stored samples, as PIL and torchvision read them: a gAMA chunk is not applied.
func loadPNG(_ path: String, range: PixelRange) throws -> Tensor {
    try decoded(path, range: range, nl_png_decode_file)
}

func loadJPEG(_ path: String, range: PixelRange) throws -> Tensor {
    try decoded(path, range: range, nl_jpeg_decode_file)
}

func decoded(_ path: String, range: PixelRange, _ decode: (UnsafePointer<CChar>, UnsafeMutablePointer<nl_image>) -> Int32) throws -> Tensor {
    var image = nl_image()
    let status = decode(path, &image)
    defer { nl_image_free(&image) }
    let message = withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    guard status == 0, let pixels = image.pixels else {
        throw status == 3 ? PreviewError.unsupported(path: path, reason: message) : PreviewError.corrupt(path: path, reason: message)
    }
    let (width, height, channels) = (Int(image.width), Int(image.height), Int(image.channels))
    return try planar(Array(UnsafeBufferPointer(start: pixels, count: width * height * channels)),
                      width: width, height: height, channels: channels, range: range)
}

/// Interleaved bytes (HWC) to a planar tensor (CHW).
func planar(_ bytes: [UInt8], width: Int, height: Int, channels: Int, range: PixelRange) throws -> Tensor {
    var values = [Float](repeating: 0, count: bytes.count)
    let plane = width * height
    for i in 0..<plane {
        for c in 0..<channels { values[c * plane + i] = range.toTensor(bytes[i * channels + c]) }
    }
    return try Tensor(shape: [channels, height, width], elements: values)
}

/// Checks that `image` is `[C, H, W]` with C = 1, 3 or 4 (or `[H, W]`, gray) and returns its sizes.
func imageShape(_ image: Tensor) throws -> (channels: Int, height: Int, width: Int) {
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
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
    let written = bytes.withUnsafeBytes { png_image_write_to_file(&png, temporary, 0, $0.baseAddress, 0, nil) }
    defer { png_image_free(&png) }
    guard written != 0 else {
        try? FileManager.default.removeItem(atPath: temporary)
        throw PreviewError.unwritable(path: path, reason: pngMessage(png))
    }
    guard rename(temporary, path) == 0 else {
        try? FileManager.default.removeItem(atPath: temporary)
        throw PreviewError.unwritable(path: path, reason: String(cString: strerror(errno)))
    }
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
