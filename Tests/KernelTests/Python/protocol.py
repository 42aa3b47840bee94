"""The Normlab kernel under jupyter_client: every message it answers, a long cell interrupted
while the heartbeat and control sockets keep answering, a restart and a clean shutdown.

Run by KernelTests with JUPYTER_PATH pointing at a folder holding kernels/normlab. Prints one
line per check; exits non-zero at the first that fails."""
import base64
import struct
import sys
import time

from jupyter_client.manager import start_new_kernel


def png_size(data):
    raw = base64.b64decode(data)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", raw[16:24])


def run(kc, code, timeout=120):
    """Executes code; returns the reply's content and the iopub messages of the request."""
    outputs = []
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=outputs.append)
    return reply["content"], outputs


def of(outputs, kind):
    return [m["content"] for m in outputs if m["msg_type"] == kind]


def reply_to(kc, msg_id, timeout):
    while True:
        msg = kc.get_shell_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg


def ok(name):
    print("ok", name, flush=True)


km, kc = start_new_kernel(kernel_name="normlab", startup_timeout=60)
try:
    info = kc.kernel_info(reply=True, timeout=30)["content"]
    assert info["protocol_version"] == "5.3", info
    assert info["language_info"]["name"] == "swift" and info["language_info"]["codemirror_mode"] == "swift", info
    assert info["implementation"] == "normlab", info
    ok("kernel_info")

    reply, outputs = run(kc, 'let x = tensor([1, 2])\nprint("hello", 7)\nx * 3')
    assert reply["status"] == "ok" and reply["execution_count"] == 1, reply
    assert of(outputs, "execute_input")[0]["code"].startswith("let x"), outputs
    assert "".join(s["text"] for s in of(outputs, "stream")) == "hello 7\n", outputs
    result = of(outputs, "execute_result")
    assert result and result[0]["data"]["text/plain"] == "[3. 6.]" and result[0]["execution_count"] == 1, outputs
    ok("execute: stream and execute_result")

    reply, outputs = run(kc, "show(ones(3, 8, 8))")
    shown = of(outputs, "display_data")
    assert len(shown) == 1 and "text/plain" in shown[0]["data"], outputs
    assert png_size(shown[0]["data"]["image/png"]) == (256, 256), "an 8x8 image is enlarged 32 times, by whole pixels"
    reply, outputs = run(kc, 'plot([1, 4, 9, 16], title: "squares")\nscatter(randn(20, 2))')
    sizes = [png_size(d["data"]["image/png"]) for d in of(outputs, "display_data")]
    assert sizes == [(720, 420), (560, 560)], sizes
    assert not [s for s in of(outputs, "stream") if "\u2840" <= s["text"][:1] <= "\u28ff"], "no Braille text beside the pictures"
    ok("display_data: image/png at whole-pixel scale")

    reply, outputs = run(kc, 'train_toy("8gaussians", iterations: 6, hidden: 8, every: 3)')
    assert reply["status"] == "ok", reply
    firsts = [d for d in of(outputs, "display_data") if "image/png" in d["data"]]
    updates = [d for d in of(outputs, "update_display_data") if "image/png" in d["data"]]
    assert len(firsts) == 1 and len(updates) == 1, outputs
    assert firsts[0]["transient"]["display_id"] == updates[0]["transient"]["display_id"], (firsts, updates)
    bars = [d for d in of(outputs, "display_data") + of(outputs, "update_display_data") if "image/png" not in d["data"]]
    assert bars and bars[-1]["data"]["text/plain"].startswith("train 8gaussians: 100%|"), bars
    assert all(len(b["data"]["text/plain"]) <= 100 for b in bars), "a text bar fits a notebook's width"
    assert bars[-1]["data"]["text/html"].startswith('<progress value="1.0" max="1"'), bars[-1]
    ok("update_display_data: the live chart and the progress bar")

    reply, outputs = run(kc, "zeros(2) + zeros(3)")
    assert reply["status"] == "error" and reply["ename"] == "RuntimeError", reply
    error = of(outputs, "error")[0]
    assert "do not fit" in error["evalue"] and any("^" in line for line in error["traceback"]), error
    reply, _ = run(kc, "let broken = (1 +")
    assert reply["status"] == "error" and reply["ename"] == "SyntaxError", reply
    ok("error: ename, evalue, traceback")

    run(kc, "let weights = zeros(2)")
    matches = kc.complete("1 + wei", 7, reply=True, timeout=30)["content"]
    assert matches["status"] == "ok" and "weights" in matches["matches"], matches
    assert (matches["cursor_start"], matches["cursor_end"]) == (4, 7), matches
    members = kc.complete("weights.sh", 10, reply=True, timeout=30)["content"]
    assert members["matches"] == ["shape"] and members["cursor_start"] == 8, members
    ok("complete")

    found = kc.inspect("adain(x", 2, reply=True, timeout=30)["content"]
    assert found["found"] and "adain(" in found["data"]["text/plain"], found
    missing = kc.inspect("nothing_here", 3, reply=True, timeout=30)["content"]
    assert missing["status"] == "ok" and not missing["found"], missing
    ok("inspect")

    def completeness(code):
        return reply_to(kc, kc.is_complete(code), timeout=30)["content"]

    assert completeness("1 + 1")["status"] == "complete"
    open_block = completeness("for i in 0..<3 {")
    assert open_block["status"] == "incomplete" and open_block["indent"] == "    ", open_block
    assert completeness('print("a\\\\")')["status"] == "complete", "an escaped backslash closes the string"
    assert completeness('print("abc')["status"] == "invalid"
    ok("is_complete")

    history = kc.history(hist_access_type="tail", n=2, reply=True, timeout=30)["content"]
    assert history["status"] == "ok" and [h[2] for h in history["history"]][-1] == "let weights = zeros(2)", history
    comms = kc.comm_info(reply=True, timeout=30)["content"]
    assert comms["status"] == "ok" and comms["comms"] == {}, comms
    ok("history and comm_info")

    # The REPL's forms of help and its commands, each a cell of its own. Help is the cell's
    # stream output, so a saved or nbclient-executed notebook keeps it.
    def page(result):
        reply, outputs = result
        assert reply["status"] == "ok" and not reply.get("payload"), reply
        return "".join(s["text"] for s in of(outputs, "stream")).rstrip("\n")

    def said(outputs):
        return "".join(s["text"] for s in of(outputs, "stream"))

    adain_help = page(run(kc, "adain?"))
    assert adain_help.startswith("adain(_ x: Tensor, style y: Tensor"), adain_help
    assert page(run(kc, "?adain")) == adain_help and page(run(kc, ":help adain")) == adain_help
    assert page(run(kc, "weights?")) == "weights: Tensor [2]"
    assert "did you mean 'adain'?" in page(run(kc, "adian?"))
    index = page(run(kc, ":help"))
    assert ":time EXPR" in index and "Tensor properties and methods" in index and ":next (or Enter)" not in index, index
    ok("name?, ?name, :help [name]: the REPL's help as the cell's output")

    reply, outputs = run(kc, ":vars")
    assert reply["status"] == "ok" and "weights       Tensor      [2]" in said(outputs), outputs
    reply, outputs = run(kc, "let P = randn(64, 64)\nlet Q = randn(64, 64)")
    reply, outputs = run(kc, ":time P @ Q")
    assert reply["status"] == "ok" and "median of" in said(outputs) and not of(outputs, "execute_result"), outputs
    reply, outputs = run(kc, ":seed 7")
    assert said(outputs) == "seed: 7\n", outputs
    reply, outputs = run(kc, ":memory")
    assert said(outputs).startswith("tensors hold"), outputs
    reply, outputs = run(kc, ":time zeros(2) + zeros(3)")
    assert reply["status"] == "error" and "do not fit" in reply["evalue"], reply
    reply, outputs = run(kc, ":nope")
    assert reply["status"] == "error" and "unknown command ':nope'" in reply["evalue"], reply
    for command in [":next", ":prev", ":goto 2", ":cells", ":run", ":load 1", ":reload", ":save x.md", ":quit"]:
        reply, outputs = run(kc, command)
        assert reply["status"] == "error" and "is a terminal command" in reply["evalue"] and "in a notebook, " in reply["evalue"], reply
        assert of(outputs, "error")[0]["traceback"][0].startswith("error: :"), outputs
    reply, _ = run(kc, "let y = 1\n:vars")
    assert reply["status"] == "error" and "give it a cell of its own" in reply["evalue"], reply
    reply, outputs = run(kc, ":reset")
    assert said(outputs) == "Variables cleared.\n", outputs
    reply, _ = run(kc, "P")
    assert reply["status"] == "error" and "not defined" in reply["evalue"], reply
    ok("commands: :vars, :time, :seed, :memory, :reset; the terminal's say what to do instead")

    for line in ["adain?", "?adain", "?", ":help adain", ":vars", ":time (1 +", ":nope"]:
        assert completeness(line)["status"] == "complete", (line, completeness(line))
    assert completeness(":vars\nfor i in 0..<3 {")["status"] == "incomplete"
    commands = kc.complete(":r", 2, reply=True, timeout=30)["content"]
    assert commands["matches"] == [":reset"] and commands["cursor_start"] == 0, commands
    ok("is_complete and complete for commands")

    # A batch is arranged as the terminal arranges it: three 48-pixel images in one row.
    reply, outputs = run(kc, "show(rand(3, 3, 48, 48))")
    shown = of(outputs, "display_data")
    assert png_size(shown[0]["data"]["image/png"]) == (3 * (3 * 50 + 2), 3 * 52), png_size(shown[0]["data"]["image/png"])
    ok("show: a batch in the terminal's arrangement")

    # A loop that runs until interrupted. While it runs, the heartbeat beats and the control
    # socket answers; SIGINT (signal mode) stops the cell and the session keeps its variables.
    msg_id = kc.execute("var i = 0\nwhile true { i += 1 }")
    time.sleep(1.5)
    assert kc.hb_channel.is_beating(), "the heartbeat answers while a cell runs"
    control = kc.session.msg("kernel_info_request")
    kc.control_channel.send(control)
    answer = kc.control_channel.get_msg(timeout=10)
    assert answer["msg_type"] == "kernel_info_reply" and answer["parent_header"]["msg_id"] == control["header"]["msg_id"], answer
    km.interrupt_kernel()
    reply = reply_to(kc, msg_id, timeout=30)["content"]
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt", reply
    reply, outputs = run(kc, "i > 0")
    assert of(outputs, "execute_result")[0]["data"]["text/plain"] == "true", outputs
    ok("interrupt: heartbeat and control answer meanwhile, the session survives")

    km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=60)
    reply, _ = run(kc, "weights")
    assert reply["status"] == "error" and "not defined" in reply["evalue"], reply
    reply, outputs = run(kc, "1 + 1")
    assert of(outputs, "execute_result")[0]["data"]["text/plain"] == "2" and reply["execution_count"] == 2, (reply, outputs)
    ok("restart: a fresh session")

    process = km.provisioner.process
    km.shutdown_kernel(now=False)
    assert process.poll() == 0, f"the kernel exits by itself after shutdown_reply, status {process.poll()}"
    ok("shutdown")
finally:
    kc.stop_channels()
    if km.is_alive():
        km.shutdown_kernel(now=True)
