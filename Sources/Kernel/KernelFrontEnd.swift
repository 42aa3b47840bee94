import Dispatch
import Foundation
import Library
import Notebook
import Preview

/// A session's output as Jupyter messages on iopub: text as `stream`, a bare expression's value
/// as `execute_result`, pictures as `display_data` with `image/png` (an update of an earlier
/// display as `update_display_data`), progress as a text display redrawn in place.
final class KernelFrontEnd: FrontEnd, @unchecked Sendable {
    /// Sends an iopub message of a type with this content, as output of the current request.
    let publish: (_ type: String, _ content: JSONObject) -> Void
    /// The execution count that results are shown with.
    var executionCount = 0
    let lock = NSLock()
    /// Displays already sent once: showing them again is an update.
    var displayed: Set<DisplayID> = []
    var bars: [DisplayID: Bar] = [:]
    /// At most this often a progress display is redrawn (each redraw is a message).
    let interval: UInt64 = 250_000_000
    /// A progress line fits the width of a notebook's output area, so that it does not wrap.
    static let barWidth = 100

    struct Bar {
        var latest: ProgressBar
        var sentAt: UInt64
        var sent: Bool
    }

    init(publish: @escaping (_ type: String, _ content: JSONObject) -> Void) { self.publish = publish }

    var colorMode: ColorMode { .ascii }

    func text(_ text: String) { publish("stream", ["name": "stdout", "text": text + "\n"]) }

    func result(_ text: String) {
        publish("execute_result", ["execution_count": executionCount, "data": ["text/plain": text], "metadata": JSONObject()])
    }

    func show(_ picture: Picture, display: DisplayID?) {
        let png: [UInt8]
        do { png = try pngData(picture.pixels, range: picture.range, scale: displayScale(picture.pixels)) } catch {
            return text("(cannot show the picture: \(error))")
        }
        send(["image/png": Data(png).base64EncodedString(), "text/plain": picture.description], display: display)
    }

    func progress(_ bar: ProgressBar, display: DisplayID) {
        lock.lock()
        let now = DispatchTime.now().uptimeNanoseconds
        var state = bars[display] ?? Bar(latest: bar, sentAt: 0, sent: false)
        state.latest = bar
        let due = !state.sent || now - state.sentAt >= interval
        if due { (state.sentAt, state.sent) = (now, true) }
        bars[display] = state
        lock.unlock()
        if due { send(KernelFrontEnd.data(bar), display: display) }
    }

    func finish(_ display: DisplayID) {
        lock.lock()
        let state = bars.removeValue(forKey: display)
        lock.unlock()
        // The last state, which the interval may have held back.
        if let state { send(KernelFrontEnd.data(state.latest), display: display) }
    }

    /// A progress display: the browser's own bar beside the numbers (HTML, which wraps as the
    /// output area is wide), and tqdm's line for front ends that show text only.
    static func data(_ bar: ProgressBar) -> JSONObject {
        let text = bar.line(bar: false).replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
        let html = "<progress value=\"\(bar.fraction)\" max=\"1\" style=\"width: 16em; vertical-align: middle\"></progress> <code>\(text)</code>"
        return ["text/plain": bar.line(width: barWidth), "text/html": html]
    }

    /// `display_data` the first time a display is shown, `update_display_data` after.
    func send(_ data: JSONObject, display: DisplayID?) {
        var content: JSONObject = ["data": data, "metadata": JSONObject()]
        var type = "display_data"
        if let display {
            content["transient"] = ["display_id": display.description]
            lock.lock()
            if displayed.insert(display).inserted == false { type = "update_display_data" }
            lock.unlock()
        }
        publish(type, content)
    }
}
