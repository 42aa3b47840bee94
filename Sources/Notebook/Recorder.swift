import Library
import Preview

/// Keeps what a cell shows for the transcript and passes all of it on to the front end that
/// renders it. A picture is kept as pixels only (its terminal drawing is for the screen); a
/// display shown again replaces its earlier picture, as in Jupyter; a progress display is
/// kept as its last line.
final class Recorder: FrontEnd {
    let next: FrontEnd
    private(set) var outputs: [Notebook.Output] = []
    /// Where each display's picture is in `outputs`.
    var placed: [DisplayID: Int] = [:]
    var progress: [DisplayID: ProgressBar] = [:]

    init(forwardingTo next: FrontEnd) { self.next = next }

    var colorMode: ColorMode { next.colorMode }

    func text(_ text: String) {
        outputs.append(.text(text))
        next.text(text)
    }

    func result(_ text: String) {
        outputs.append(.text(text))
        next.result(text)
    }

    func show(_ picture: Picture, display: DisplayID?) {
        let output = Notebook.Output.image(picture.pixels, picture.range)
        if let display, let index = placed[display] {
            outputs[index] = output
        } else {
            if let display { placed[display] = outputs.count }
            outputs.append(output)
        }
        next.show(picture, display: display)
    }

    func progress(_ bar: ProgressBar, display: DisplayID) {
        progress[display] = bar
        next.progress(bar, display: display)
    }

    func finish(_ display: DisplayID) {
        if let bar = progress.removeValue(forKey: display) { outputs.append(.text(bar.line())) }
        next.finish(display)
    }

    /// Errors are written by the notebook, not the session, and kept here too.
    func record(_ text: String) { outputs.append(.text(text)) }
}
