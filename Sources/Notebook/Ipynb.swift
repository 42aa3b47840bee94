import Engine
import Foundation
import Preview

/// A Jupyter notebook (nbformat 4.4) that opens with the Normlab kernel: `normlab notebook`
/// makes one from a lesson, `:save FILE.ipynb` from a session's transcript.
public struct NotebookDocument {
    var cells: [[String: Any]] = []

    /// How the kernel describes the language: front ends highlight it as Swift.
    public static var languageInfo: [String: Any] {
        ["name": "swift", "version": "6", "mimetype": "text/x-swift", "file_extension": ".swift", "pygments_lexer": "swift", "codemirror_mode": "swift"]
    }
    public static var kernelspec: [String: Any] { ["name": "normlab", "display_name": "Normlab", "language": "swift"] }

    public init() {}

    /// A lesson as an unexecuted notebook: each cell's prose as a Markdown cell, its code as a
    /// code cell, the prose after the last cell as a last Markdown cell. A cell that shows an
    /// error on purpose (`swift error`) carries Jupyter's "raises-exception" tag, so running
    /// the notebook goes on past it.
    public init(lesson: Lesson) {
        for cell in lesson.cells {
            markdown(cell.prose)
            code(cell.code, tags: cell.expectsError ? ["raises-exception"] : [])
        }
        markdown(lesson.epilogue)
    }

    /// Adds a Markdown cell (nothing for empty text).
    public mutating func markdown(_ text: String) {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return }
        cells.append(["cell_type": "markdown", "metadata": [String: Any](), "source": NotebookDocument.lines(text)])
    }

    /// Adds a code cell; without an execution count it has not run.
    public mutating func code(_ source: String, executionCount: Int? = nil, outputs: [[String: Any]] = [], tags: [String] = []) {
        let metadata: [String: Any] = tags.isEmpty ? [:] : ["tags": tags]
        cells.append(["cell_type": "code", "execution_count": executionCount.map { $0 as Any } ?? NSNull(), "metadata": metadata,
                      "source": NotebookDocument.lines(source), "outputs": outputs])
    }

    /// The JSON of the file.
    public func data() throws -> Data {
        let notebook: [String: Any] = [
            "cells": cells,
            "metadata": ["kernelspec": NotebookDocument.kernelspec, "language_info": NotebookDocument.languageInfo],
            "nbformat": 4, "nbformat_minor": 4,
        ]
        return try JSONSerialization.data(withJSONObject: notebook, options: [.prettyPrinted, .sortedKeys])
    }

    public func write(to path: String) throws { try data().write(to: URL(fileURLWithPath: path), options: .atomic) }

    /// nbformat keeps text as a list of lines, each with its newline but the last.
    static func lines(_ s: String) -> [String] {
        let parts = s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return parts.enumerated().map { $0.offset < parts.count - 1 ? $0.element + "\n" : $0.element }
    }

    /// A stream output of text.
    static func stream(_ text: String) -> [String: Any] {
        ["output_type": "stream", "name": "stdout", "text": lines(text + "\n")]
    }

    /// A display of an image as PNG, enlarged by whole pixels as the kernel shows it.
    static func image(_ image: Tensor, range: PixelRange, description: String) throws -> [String: Any] {
        let png = try pngData(image, range: range, scale: displayScale(image))
        return ["output_type": "display_data", "metadata": [String: Any](),
                "data": ["image/png": Data(png).base64EncodedString(), "text/plain": [description]]]
    }
}

/// Whole pixels per image pixel in a notebook: small images (a 32×32 face, a grid of them) are
/// enlarged to about 512 pixels on their longer side without blurring; charts rendered at full
/// size stay as they are.
public func displayScale(_ image: Tensor) -> Int {
    let side = max(1, image.shape.dims.suffix(2).max() ?? 1)
    return max(1, min(32, Int((512 / Double(side)).rounded())))
}
