import Dispatch
import Engine
import Foundation

/// Procedural, CelebA-like aligned faces that need no download: face shape, skin tone, hair
/// colour and style, eyes, brows, a smiling or open mouth, glasses, lipstick, background,
/// lighting and a small pose jitter. Every face is determined by its seed and index, and comes
/// with its attributes as labels, so mode collapse can be measured as attribute frequencies.
public struct FaceAttributes: Hashable, Sendable {
    public var hairColor: Int           // index into hairColors
    public var hairStyle: HairStyle
    public var skin: Int                // index into skinTones
    public var eyeglasses: Bool
    public var smiling: Bool
    public var mouthOpen: Bool
    public var lipstick: Bool
    // Geometry and colour jitter (not labels).
    var faceWidth: Double, faceHeight: Double, centerX: Double, centerY: Double, tilt: Double
    var light: Double, background: (Double, Double, Double), shirt: (Double, Double, Double), eyeColor: (Double, Double, Double)

    public enum HairStyle: Int, CaseIterable, Sendable { case bald, short, long, bangs }

    public static func == (a: Self, b: Self) -> Bool { a.labels == b.labels && a.faceWidth == b.faceWidth && a.centerX == b.centerX }
    public func hash(into h: inout Hasher) { h.combine(labels); h.combine(faceWidth) }

    /// CelebA's attribute names for the labels this generator controls.
    public static let names = ["Bald", "Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair", "Eyeglasses",
                               "Mouth_Slightly_Open", "Smiling", "Wearing_Lipstick", "Pale_Skin"]

    /// ±1 per name, as in list_attr_celeba.txt.
    public var labels: [Int] {
        let hair = hairStyle == .bald ? -1 : hairColor
        return [hairStyle == .bald, hairStyle == .bangs, hair == 0, hair == 2, hair == 1, hair == 3, eyeglasses,
                mouthOpen, smiling, lipstick, skin == 0].map { $0 ? 1 : -1 }
    }

    static let hairColors: [(Double, Double, Double)] = [(0.12, 0.10, 0.10), (0.38, 0.24, 0.14), (0.86, 0.74, 0.47),
                                                          (0.68, 0.68, 0.68), (0.62, 0.27, 0.13)]
    static let skinTones: [(Double, Double, Double)] = [(1.0, 0.88, 0.78), (0.95, 0.76, 0.63), (0.88, 0.67, 0.50),
                                                         (0.78, 0.53, 0.37), (0.55, 0.33, 0.21), (0.36, 0.23, 0.16)]

    /// Draws one face's attributes from a generator.
    public init(using rng: inout RandomGenerator) {
        func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * Double(rng.nextUniform()) }
        func chance(_ p: Double) -> Bool { Double(rng.nextUniform()) < p }
        hairColor = Int(rng.next() % UInt64(FaceAttributes.hairColors.count))
        hairStyle = chance(0.06) ? .bald : (chance(0.4) ? .long : (chance(0.35) ? .bangs : .short))
        skin = Int(rng.next() % UInt64(FaceAttributes.skinTones.count))
        eyeglasses = chance(0.15)
        smiling = chance(0.48)
        mouthOpen = chance(0.3)
        lipstick = chance(0.35)
        faceWidth = uniform(0.25, 0.32)
        faceHeight = uniform(0.33, 0.40)
        centerX = 0.5 + uniform(-0.025, 0.025)
        centerY = 0.53 + uniform(-0.02, 0.02)
        tilt = uniform(-0.08, 0.08)
        light = uniform(-0.25, 0.25)
        let hue = uniform(0, 1)
        background = (0.45 + 0.4 * abs(sin(6.28 * hue)), 0.45 + 0.4 * abs(sin(6.28 * hue + 2)), 0.45 + 0.4 * abs(sin(6.28 * hue + 4)))
        shirt = (uniform(0.1, 0.9), uniform(0.1, 0.9), uniform(0.1, 0.9))
        eyeColor = chance(0.3) ? (0.25, 0.45, 0.7) : (0.3, 0.2, 0.12)
    }
}

/// Renders a face as `[3, size, size]` in [0, 1].
public func renderFace(_ f: FaceAttributes, size: Int) -> [Float] {
    var pixels = [Float](repeating: 0, count: 3 * size * size)
    let pixel = 1 / Double(size)
    let plane = size * size
    let (cosT, sinT) = (cos(f.tilt), sin(f.tilt))
    let skin = FaceAttributes.skinTones[f.skin], hair = FaceAttributes.hairColors[f.hairColor]
    let (cx, cy, a, b) = (f.centerX, f.centerY, f.faceWidth, f.faceHeight)

    // Coverage of an ellipse centred at (ex, ey) with radii (rx, ry), from its scaled distance:
    // 1 inside, 0 outside, a one-pixel ramp across the edge (anti-aliasing).
    func ellipse(_ x: Double, _ y: Double, _ ex: Double, _ ey: Double, _ rx: Double, _ ry: Double) -> Double {
        let dx = (x - ex) / rx, dy = (y - ey) / ry
        let distance = ((dx * dx + dy * dy).squareRoot() - 1) * min(rx, ry)
        return min(1, max(0, 0.5 - distance / pixel))
    }
    func ring(_ x: Double, _ y: Double, _ ex: Double, _ ey: Double, _ r: Double, _ width: Double) -> Double {
        let distance = abs(hypot(x - ex, y - ey) - r) - width / 2
        return min(1, max(0, 0.5 - distance / pixel))
    }

    for row in 0..<size {
        for column in 0..<size {
            // Face coordinates: the pixel centre, rotated about the face centre by the tilt.
            let px = (Double(column) + 0.5) * pixel, py = (Double(row) + 0.5) * pixel
            let x = cx + (px - cx) * cosT + (py - cy) * sinT
            let y = cy - (px - cx) * sinT + (py - cy) * cosT
            var color = f.background
            func paint(_ c: (Double, Double, Double), _ coverage: Double) {
                guard coverage > 0 else { return }
                color = (color.0 + (c.0 - color.0) * coverage, color.1 + (c.1 - color.1) * coverage, color.2 + (c.2 - color.2) * coverage)
            }
            // Background gradient, shoulders and neck.
            color = (color.0 * (0.85 + 0.3 * py), color.1 * (0.85 + 0.3 * py), color.2 * (0.85 + 0.3 * py))
            if f.hairStyle == .long { paint(hair, ellipse(x, y, cx, cy + 0.08, a * 1.35, b * 1.25)) }
            paint(f.shirt, ellipse(px, py, cx, 1.12, 0.45, 0.3))
            let neck = min(1, max(0, 0.5 - (abs(x - cx) - a * 0.42) / pixel)) * (y > cy ? 1 : 0)
            paint((skin.0 * 0.85, skin.1 * 0.85, skin.2 * 0.85), neck * (py < 1.0 ? 1 : 0))
            if f.hairStyle != .bald { paint(hair, ellipse(x, y, cx, cy - b * 0.18, a * 1.12, b * 0.95)) }
            // The face, lit from one side.
            let shade = 1 + f.light * (x - cx) / a
            paint((skin.0 * shade, skin.1 * shade, skin.2 * shade), ellipse(x, y, cx, cy, a, b))
            if f.hairStyle == .bangs {
                paint(hair, ellipse(x, y, cx, cy - b * 0.72, a * 1.0, b * 0.42) * (y < cy - b * 0.42 ? 1 : 0))
            }
            // Eyes, brows, nose, mouth.
            let eyeY = cy - b * 0.12, eyeDX = a * 0.4
            for side in [-1.0, 1.0] {
                let ex = cx + side * eyeDX
                paint((0.97, 0.97, 0.97), ellipse(x, y, ex, eyeY, a * 0.2, b * 0.07))
                paint(f.eyeColor, ellipse(x, y, ex, eyeY, a * 0.09, b * 0.065))
                paint((0.05, 0.05, 0.05), ellipse(x, y, ex, eyeY, a * 0.04, b * 0.03))
                let brow = f.hairStyle == .bald ? (0.3, 0.22, 0.18) : (hair.0 * 0.8, hair.1 * 0.8, hair.2 * 0.8)
                paint(brow, ellipse(x, y, ex, eyeY - b * 0.16, a * 0.22, b * 0.03))
                if f.eyeglasses { paint((0.08, 0.08, 0.1), ring(x, y, ex, eyeY, a * 0.27, pixel * 1.4)) }
            }
            if f.eyeglasses { paint((0.08, 0.08, 0.1), ellipse(x, y, cx, eyeY, a * 0.14, pixel * 0.7)) }
            paint((skin.0 * 0.82, skin.1 * 0.78, skin.2 * 0.76), ellipse(x, y, cx, cy + b * 0.12, a * 0.09, b * 0.16) * 0.6)
            let mouthY = cy + b * 0.5
            let lips = f.lipstick ? (0.75, 0.15, 0.2) : (skin.0 * 0.7, skin.1 * 0.45, skin.2 * 0.45)
            if f.mouthOpen {
                paint(lips, ellipse(x, y, cx, mouthY, a * 0.36, b * 0.12))
                paint((0.25, 0.05, 0.05), ellipse(x, y, cx, mouthY, a * 0.28, b * 0.07))
                if f.smiling { paint((0.95, 0.95, 0.92), ellipse(x, y, cx, mouthY - b * 0.035, a * 0.24, b * 0.03)) }
            } else if f.smiling {
                // A smile: the lower half of a thin ring.
                paint(lips, ring(x, y, cx, mouthY - b * 0.12, a * 0.36, pixel * 2.2 + b * 0.03) * (y > mouthY - b * 0.06 ? 1 : 0))
            } else {
                paint(lips, ellipse(x, y, cx, mouthY, a * 0.32, b * 0.035))
            }
            let i = row * size + column
            pixels[i] = Float(min(1, max(0, color.0)))
            pixels[plane + i] = Float(min(1, max(0, color.1)))
            pixels[2 * plane + i] = Float(min(1, max(0, color.2)))
        }
    }
    return pixels
}

/// `count` faces of `size`×`size` for `seed`, rendered on every core: images `[N, 3, S, S]`
/// in [0, 1] and their attributes. Face i depends only on (seed, i), not on the thread count.
public func syntheticFaces(count: Int, size: Int, seed: UInt64 = 0) throws -> (images: Tensor, attributes: [FaceAttributes]) {
    guard count >= 0, size >= 8 else { throw EngineError.invalidArgument(op: "syntheticFaces", message: "needs count ≥ 0 and size ≥ 8, got \(count) and \(size)") }
    // The images first: their size is checked against the limits before anything is made per face.
    try Runtime.checkAllocation([count, 3, size, size], op: "syntheticFaces")
    var images = try Tensor.zeros([count, 3, size, size])
    let attributes = (0..<count).map { i -> FaceAttributes in
        var rng = RandomGenerator(seed: seed &* 0x9E37_79B9 &+ UInt64(i))
        return FaceAttributes(using: &rng)
    }
    let faceSize = 3 * size * size
    // The workers are other threads, which do not see this one's Ctrl-C binding: they are
    // handed it, and stop early; the check after them says why.
    let interrupted = Interruption.isRequested ?? { false }
    try images.withUnsafeMutableBufferPointer { buffer in
        guard let base = buffer.baseAddress, count > 0 else { return }
        let out = SendableBuffer(base)
        DispatchQueue.concurrentPerform(iterations: max(1, min(count, Runtime.threads * 4))) { chunk in
            let workers = max(1, min(count, Runtime.threads * 4))
            for i in stride(from: chunk, to: count, by: workers) {
                if interrupted() { return }
                let pixels = renderFace(attributes[i], size: size)
                pixels.withUnsafeBufferPointer { (out.pointer + i * faceSize).update(from: $0.baseAddress!, count: faceSize) }
            }
        }
    }
    try Interruption.check("syntheticFaces")
    return (images, attributes)
}

struct SendableBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}
