import ArgumentParser
import Dispatch
import Engine
import Foundation
import GAN
import SIMDKernels

/// Benchmarks: the SIMD backend against the reference backend and against NumPy/OpenBLAS,
/// measured side by side in one run, with the machine's FMA peak measured alongside.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time GEMM, the study's convolution layers and a WGAN-GP iteration on both backends (build with -c release).",
        discussion: "Medians over repeats after a warm-up; peers run in a second process, batch by batch in turn with Normlab. Example: swift run -c release normlab bench --compare-numpy --compare-pytorch")

    @Option(help: "Threads for the SIMD backend and for the NumPy and PyTorch peers (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Timed repeats per measurement (the median is reported).")
    var repeats: Int = 7

    @Flag(name: .customLong("compare-numpy"), help: "Also time NumPy's matmul (OpenBLAS) on the same shapes, in this run.")
    var compareNumPy = false

    @Flag(name: .customLong("compare-pytorch"), help: "Also time PyTorch (CPU) on the convolution layers and the WGAN-GP iteration, in this run.")
    var comparePyTorch = false

    @Flag(help: "Skip the reference backend on large shapes (it takes minutes there).")
    var quick = false

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(help: "Only the rows whose op starts with this (gemm, critic, gen, im2col, wgan).")
    var only: String?

    func wanted(_ op: String) -> Bool { only.map { op.hasPrefix($0) } ?? true }

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1, got \(repeats)") }
    }

    func run() throws {
        #if DEBUG
        FileHandle.standardError.write(Data("warning: a debug build; for representative numbers run `swift run -c release normlab bench`\n".utf8))
        #endif
        Runtime.threads = threads
        let kernel = GEMMKernel.best
        let peak = kernel.measurePeak()
        var rows: [BenchRow] = []
        let numpy = compareNumPy ? try PythonPeer.numpy(threads: threads) : nil
        let torch = comparePyTorch ? try PythonPeer.pytorch(threads: threads) : nil

        for n in [64, 128, 256, 512, 1024, 2048] where wanted("gemm") {
            let reference = (quick ? n <= 256 : n <= 512) ? try time(on: ReferenceBackend(), repeats: n >= 512 ? 1 : repeats) {
                _ = try matmul(Tensor.zeros([n, n]), Tensor.zeros([n, n]))
            } : nil
            rows.append(try gemmRow(op: "gemm", m: n, k: n, n: n, reference: reference, numpy: numpy))
        }
        for (index, layer) in studyLayers.enumerated() where wanted(layer.name) {
            let x = try Tensor.randn(layer.input), w = try Tensor.randn(layer.weight) * 0.05
            let forward: () throws -> Tensor = { try layer.forward(x, w) }
            let y = try forward()
            let dy = try Tensor.randn(y.shape)
            let flops = 3 * layer.forwardFLOPs   // forward, input gradient, weight gradient
            let step = {
                let (xi, wi) = (x.requiringGrad(), w.requiringGrad())
                _ = try grad(of: layer.forward(xi, wi), wrt: [xi, wi], seed: dy)
            }
            let (simd, pytorch) = try sideBySide(step, peer: torch.map { peer in { try peer.seconds("conv \(index)") } })
            let reference = quick ? nil : try time(on: ReferenceBackend(), repeats: 1, step)
            rows.append(BenchRow(op: layer.name + " fwd+bwd", shape: layer.description, flops: flops, reference: reference, simd: simd,
                                 numpy: nil, pytorch: pytorch))
        }
        for (m, k, n) in [(64 * 16 * 16, 3 * 16, 64), (64 * 8 * 8, 64 * 16, 128), (64 * 4 * 4, 128 * 16, 256)] where wanted("im2col gemm") {
            rows.append(try gemmRow(op: "im2col gemm", m: m, k: k, n: n, reference: nil, numpy: numpy))
        }
        let iterations = !quick && wanted("wgan")
        if json {
            report(rows, peak: peak, iterations: iterations ? try wganIterations(torch: torch) : nil)
        } else {
            report(rows, peak: peak, iterations: nil)
            if iterations { _ = try wganIterations(torch: torch) }
        }
    }

    /// One WGAN-GP generator iteration of wgan_step.md's 32×32 network at batch 64 (5 critic
    /// steps with the penalty's double backprop, 1 generator step, Adam), for the four variants.
    func wganIterations(torch: PythonPeer?) throws -> [[String: Any]] {
        // PyTorch 2.13 CPU on a 2-core Zen 3 machine, from ../shared/bench/wgan_step.md, seconds on
        // 2 and 1 threads: the comparison when PyTorch is not measured in this run.
        let recorded: [String: (two: Double, one: Double)] = ["plain": (1.53, 2.85), "sn": (1.68, 2.93), "adain": (1.86, 3.08), "adain+sn": (1.80, 2.89)]
        let source = torch == nil ? "PyTorch s (wgan_step.md)" : "PyTorch s (this run)"
        if !json {
            print("\nOne WGAN-GP generator iteration, 32×32, batch 64 (median of \(repeats), in turn with PyTorch's when measured; \(threads) thread(s)):")
            print("variant     seconds   " + source.padding(toLength: 24, withPad: " ", startingAt: 0) + "   PyTorch / Normlab")
        }
        var results: [[String: Any]] = []
        for (name, norm, sn) in [("plain", GeneratorNorm.batch, false), ("sn", .batch, true), ("adain", .adain, false), ("adain+sn", .adain, true)] {
            Runtime.seed(0)
            let gan = WGANGP(generator: try Generator(norm: norm), critic: try Critic(spectralNorm: sn))
            let real = try Tensor.rand([64, 3, 32, 32]) * 2 - 1
            let (seconds, measured) = try sideBySide({ try gan.iteration(batchSize: 64) { real } },
                                                     peer: torch.map { peer in { try peer.seconds("wgan \(name)") } })
            let fallback = recorded[name].map { threads >= 2 ? $0.two : $0.one } ?? .nan
            let peer = measured ?? fallback
            results.append(["variant": name, "seconds": seconds, "pytorch_seconds": peer, "pytorch_measured_here": measured != nil])
            if !json {
                print(name.padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: "%8.2f   %24.2f   %17.2f×", seconds, peer, peer / seconds))
            }
        }
        return results
    }

    /// Median seconds per call of `ours` on the SIMD backend and, with a peer, of the peer's
    /// equivalent, timed in turn batch by batch (about 50 ms each, or one call if longer), so
    /// a change in the machine's speed during the run (other tenants of a VM) falls on both
    /// sides of the ratio alike.
    func sideBySide(_ ours: () throws -> Void, peer: (() throws -> Double)?) throws -> (ours: Double, peer: Double?) {
        let saved = Runtime.backend
        defer { Runtime.backend = saved }
        Runtime.backend = SIMDBackend()
        try ours()
        let start = DispatchTime.now().uptimeNanoseconds
        try ours()
        let batch = max(1, Int(0.05 / max(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, 1e-7)))
        var mine: [Double] = [], theirs: [Double] = []
        for _ in 0..<repeats {
            if let peer {
                theirs.append(try peer())
                // OpenBLAS's and OpenMP's idle worker threads spin for about 0.1 s after a call
                // (measured here: 0.10–0.12 s of CPU after one 1024³ NumPy product), which
                // would take a core from our batch, so wait them out; but wait busy, on every
                // thread: a VM core that sat idle for 0.2 s wakes slowly for the next tens of
                // ms (a 2-thread 512³ product measured 0.95 ms after busy waiting, 1.8 ms after
                // sleeping), while the peer's batch always follows ours without a pause.
                if threads > 1 { busyWait(seconds: 0.2, threads: threads) }
            }
            if batch > 1 { try ours() }   // untimed, as the peer's short batches start with one
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<batch { try ours() }
            mine.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(batch))
        }
        return (median(mine), peer == nil ? nil : median(theirs))
    }

    /// A[m×k]·B[k×n] on the SIMD backend, and with NumPy in turn.
    func gemmRow(op: String, m: Int, k: Int, n: Int, reference: Double?, numpy: PythonPeer?) throws -> BenchRow {
        let a = try Tensor.randn([m, k]), b = try Tensor.randn([k, n])
        let (simd, theirs) = try sideBySide({ _ = try matmul(a, b) }, peer: numpy.map { peer in { try peer.seconds("gemm \(m) \(k) \(n)") } })
        return BenchRow(op: op, shape: "\(m)×\(k)×\(n)", flops: 2.0 * Double(m * k * n), reference: reference, simd: simd, numpy: theirs, pytorch: nil)
    }

    /// Median seconds of `body` over `repeats` runs after one warm-up.
    func time(on backend: any Backend, repeats: Int? = nil, _ body: () throws -> Void) throws -> Double {
        let saved = Runtime.backend
        defer { Runtime.backend = saved }
        Runtime.backend = backend
        try body()
        var samples: [Double] = []
        for _ in 0..<(repeats ?? self.repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return median(samples)
    }

    func busyWait(seconds: Double, threads: Int) {
        let end = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            while DispatchTime.now().uptimeNanoseconds < end {}
        }
    }

    func median(_ samples: [Double]) -> Double { samples.sorted()[samples.count / 2] }

    func report(_ rows: [BenchRow], peak: Double, iterations: [[String: Any]]?) {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if json {
            var object: [String: Any] = [
                "threads": threads, "cores": cores, "fma_peak_gflops_per_core": peak, "gemm_kernel": GEMMKernel.best.name,
                "rows": rows.map { r -> [String: Any] in
                    var d: [String: Any] = ["op": r.op, "shape": r.shape, "flops": r.flops, "simd_seconds": r.simd]
                    if let ref = r.reference { d["reference_seconds"] = ref }
                    if let np = r.numpy { d["numpy_seconds"] = np }
                    if let pt = r.pytorch { d["pytorch_seconds"] = pt }
                    return d
                },
            ]
            if let iterations { object["wgan_iterations"] = iterations }
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]) {
                print(String(decoding: data, as: UTF8.self))
            }
            return
        }
        print("normlab bench: \(cores) cores, \(threads) thread(s), GEMM micro-kernel \(GEMMKernel.best.name)"
              + " (this CPU can run: \(GEMMKernel.available.map(\.name).joined(separator: ", ")))")
        print("measured FMA peak at that vector width: \(format(peak, 1)) GFLOP/s per core, \(format(peak * Double(threads), 1)) on \(threads) thread(s)")
        print("")
        let header = ["op", "shape", "ref ms", "simd ms", "speedup", "GFLOP/s", "% peak"] + (compareNumPy ? ["numpy GFLOP/s", "vs numpy"] : [])
            + (comparePyTorch ? ["torch ms", "vs torch"] : [])
        var table: [[String]] = [header]
        for r in rows {
            let gflops = r.flops / r.simd / 1e9
            var line = [r.op, r.shape, r.reference.map { format($0 * 1e3, 1) } ?? "—", format(r.simd * 1e3, 2),
                        r.reference.map { format($0 / r.simd, 0) + "×" } ?? "—", format(gflops, 1),
                        format(100 * gflops / (peak * Double(threads)), 0) + "%"]
            if compareNumPy {
                line += [r.numpy.map { format(r.flops / $0 / 1e9, 1) } ?? "—", r.numpy.map { format($0 / r.simd, 2) + "×" } ?? "—"]
            }
            if comparePyTorch {
                line += [r.pytorch.map { format($0 * 1e3, 2) } ?? "—", r.pytorch.map { format($0 / r.simd, 2) + "×" } ?? "—"]
            }
            table.append(line)
        }
        let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        for (i, line) in table.enumerated() {
            print(line.enumerated().map { j, cell in j < 2 ? cell.padding(toLength: widths[j], withPad: " ", startingAt: 0)
                                                          : String(repeating: " ", count: widths[j] - cell.count) + cell }
                .joined(separator: "  "))
            if i == 0 { print(widths.map { String(repeating: "─", count: $0) }.joined(separator: "  ")) }
        }
        print("\nspeedup = reference / SIMD time; % peak of the measured FMA peak × threads"
              + (compareNumPy || comparePyTorch ? "; vs numpy, vs torch = the peer's time / Normlab's (> 1: Normlab faster), measured in turn in this run." : "."))
    }

}

/// A Python peer in a second process that times its library's version of an op on request,
/// one batch per request line, and answers with seconds per call.
final class PythonPeer {
    let process = Process()
    let requests = Pipe(), replies = Pipe()
    var pending = Data()
    let requirement: String

    /// np.matmul (OpenBLAS's sgemm) in float32 into a reused output, as ../shared/bench/numpy_gemm.py
    /// times it: requests "gemm m k n".
    static func numpy(threads: Int) throws -> PythonPeer {
        try PythonPeer(script: numpyScript, arguments: [String(threads)], requirement: "--compare-numpy needs python3 with NumPy")
    }

    /// PyTorch CPU: "conv i" times studyLayers[i] forward + both gradients; "wgan variant" one
    /// generator iteration of wgan_step.md's network.
    static func pytorch(threads: Int) throws -> PythonPeer {
        let layers = studyLayers.map { "[\($0.input.dims), \($0.weight.dims), \($0.stride), \($0.padding), \($0.transposed)]" }
        return try PythonPeer(script: pytorchScript, arguments: [String(threads), "[" + layers.joined(separator: ", ") + "]"],
                              requirement: "--compare-pytorch needs python3 with PyTorch (pip install torch)")
    }

    init(script: String, arguments: [String], requirement: String) throws {
        self.requirement = requirement
        // Without Python's library the child exits at once; writing to it must fail with an
        // error we can report, not kill normlab with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // These variables are set on some machines for old OpenBLAS builds and slow a current NumPy.
        process.arguments = ["-u", "OPENBLAS_CORETYPE", "-u", "OPENBLAS_L2_SIZE", "python3", "-c", script] + arguments
        process.standardInput = requests
        process.standardOutput = replies
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            throw ValidationError("\(requirement): \(error.localizedDescription)")
        }
        // The script says "ready" once its imports succeed: a missing library shows at once,
        // not after minutes of benchmarks.
        guard try readLine() == "ready" else { throw ValidationError(requirement) }
    }

    deinit {
        // The child may hold its own copy of the pipe's write end, so closing ours need not
        // end its loop: stop it outright.
        process.terminate()
        process.waitUntilExit()
    }

    /// Seconds per call, averaged over one batch of the request.
    func seconds(_ request: String) throws -> Double {
        do { try requests.fileHandleForWriting.write(contentsOf: Data((request + "\n").utf8)) } catch {
            throw ValidationError("\(requirement) (the Python process ended)")
        }
        let line = try readLine()
        guard let seconds = Double(line) else { throw ValidationError("the Python peer replied '\(line)' instead of a time") }
        return seconds
    }

    func readLine() throws -> String {
        while !pending.contains(UInt8(ascii: "\n")) {
            // availableData returns what the pipe holds; read(upToCount:) would wait for all of it.
            let chunk = replies.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw ValidationError("\(requirement) (the Python process ended)") }
            pending.append(chunk)
        }
        let line = String(decoding: pending.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        pending = Data(pending.dropFirst(line.utf8.count + 1))
        return line
    }

    /// Runs a request's `step` in batches of about 50 ms, after one untimed call when a batch
    /// holds several; shared by both scripts.
    static let timing = """
        import os, sys, time
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = sys.argv[1]
        def serve(prepare):
            current, step, reps = None, None, 1
            for line in sys.stdin:
                if line != current:
                    current, step = line, prepare(line.split())
                    step()
                    t0 = time.perf_counter(); step(); one = max(time.perf_counter() - t0, 1e-7)
                    reps = max(1, int(0.05 / one))
                if reps > 1: step()
                t0 = time.perf_counter()
                for _ in range(reps): step()
                print((time.perf_counter() - t0) / reps, flush=True)
        """

    static let numpyScript = timing + """

        import numpy as np
        print("ready", flush=True)
        rng = np.random.default_rng(0)
        def prepare(words):
            m, k, n = map(int, words[1:])
            a = rng.standard_normal((m, k), dtype=np.float32); b = rng.standard_normal((k, n), dtype=np.float32)
            c = np.empty((m, n), dtype=np.float32)
            return lambda: np.matmul(a, b, out=c)
        serve(prepare)
        """

    /// wgan_step.md's network and iteration, written as PyTorch users write it.
    static let pytorchScript = timing + """

        import json
        import torch, torch.nn as nn, torch.nn.functional as F
        torch.set_num_threads(int(sys.argv[1]))
        layers = json.loads(sys.argv[2])
        print("ready", flush=True)

        def conv_step(i):
            xs, ws, stride, padding, transposed = layers[i]
            x = torch.randn(xs, requires_grad=True); w = (torch.randn(ws) * 0.05).requires_grad_()
            f = (lambda: F.conv_transpose2d(x, w, stride=stride, padding=padding)) if transposed else (lambda: F.conv2d(x, w, stride=stride, padding=padding))
            dy = torch.randn(f().shape)
            def step():
                x.grad = None; w.grad = None
                f().backward(dy)
            return step

        class AdaIN(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.gamma, self.beta = nn.Linear(128, c), nn.Linear(128, c)
                nn.init.ones_(self.gamma.bias); nn.init.zeros_(self.beta.bias)
            def forward(self, x, z):
                mean, var = x.mean((2, 3), keepdim=True), x.var((2, 3), keepdim=True, unbiased=False)
                return self.gamma(z)[:, :, None, None] * (x - mean) / torch.sqrt(var + 1e-5) + self.beta(z)[:, :, None, None]

        class Generator(nn.Module):
            def __init__(self, adain):
                super().__init__()
                self.adain, channels = adain, [256, 128, 64, 32]
                self.fc = nn.Linear(128, 4 * 4 * 256)
                self.ups = nn.ModuleList(nn.ConvTranspose2d(channels[i], channels[i + 1], 4, 2, 1) for i in range(3))
                self.norms = nn.ModuleList((AdaIN if adain else nn.BatchNorm2d)(channels[i + 1]) for i in range(3))
                self.out = nn.Conv2d(32, 3, 3, 1, 1)
            def forward(self, z):
                h = self.fc(z).view(-1, 256, 4, 4)
                for up, norm in zip(self.ups, self.norms):
                    h = up(h)
                    h = F.relu(norm(h, z) if self.adain else norm(h))
                return torch.tanh(self.out(h))

        class Critic(nn.Module):
            def __init__(self, sn):
                super().__init__()
                wrap = (lambda m: nn.utils.spectral_norm(m, n_power_iterations=1, eps=1e-12)) if sn else (lambda m: m)
                self.convs = nn.ModuleList(wrap(nn.Conv2d(a, b, 4, 2, 1)) for a, b in [(3, 64), (64, 128), (128, 256)])
                self.fc = wrap(nn.Linear(4096, 1))
            def forward(self, x):
                for conv in self.convs: x = F.leaky_relu(conv(x), 0.2)
                return self.fc(x.flatten(1))

        def wgan_step(variant):
            torch.manual_seed(0)
            g, d = Generator("adain" in variant), Critic("sn" in variant)
            opt_g = torch.optim.Adam(g.parameters(), lr=1e-4, betas=(0.0, 0.9))
            opt_d = torch.optim.Adam(d.parameters(), lr=1e-4, betas=(0.0, 0.9))
            real = torch.rand(64, 3, 32, 32) * 2 - 1
            def step():
                for _ in range(5):
                    with torch.no_grad(): fake = g(torch.randn(64, 128))
                    eps = torch.rand(64, 1, 1, 1)
                    x_hat = (eps * real + (1 - eps) * fake).requires_grad_()
                    grad, = torch.autograd.grad(d(x_hat).sum(), x_hat, create_graph=True)
                    penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
                    loss = d(fake).mean() - d(real).mean() + 10 * penalty
                    opt_d.zero_grad(); loss.backward(); opt_d.step()
                for p in d.parameters(): p.requires_grad_(False)
                loss_g = -d(g(torch.randn(64, 128))).mean()
                opt_g.zero_grad(); loss_g.backward(); opt_g.step()
                for p in d.parameters(): p.requires_grad_(True)
            return step

        serve(lambda words: conv_step(int(words[1])) if words[0] == "conv" else wgan_step(words[1]))
        """
}

struct BenchRow {
    let op: String, shape: String
    let flops: Double
    let reference: Double?, simd: Double
    let numpy: Double?, pytorch: Double?
}

/// The convolution layers of the study's 32×32 critic and generator at batch 64
/// (../shared/bench/wgan_step.md).
struct StudyLayer: CustomStringConvertible {
    let name: String
    let input: Shape, weight: Shape
    let stride: Int, padding: Int
    let transposed: Bool

    func forward(_ x: Tensor, _ w: Tensor) throws -> Tensor {
        transposed ? try convTranspose2d(x, w, stride: stride, padding: padding) : try conv2d(x, w, stride: stride, padding: padding)
    }

    var forwardFLOPs: Double {
        // Every multiply-add of the forward pass: output pixels × output channels × patch.
        let (n, cin, h, w) = (input[0], input[1], input[2], input[3])
        let k = weight[2]
        if transposed {
            return 2.0 * Double(n * cin * h * w) * Double(weight[1] * k * k)
        }
        let out = (h + 2 * padding - k) / stride + 1
        return 2.0 * Double(n * weight[0] * out * out) * Double(cin * k * k)
    }

    var description: String { "\(input) ⊛ \(weight)" }
}

let studyLayers = [
    StudyLayer(name: "critic conv1", input: [64, 3, 32, 32], weight: [64, 3, 4, 4], stride: 2, padding: 1, transposed: false),
    StudyLayer(name: "critic conv2", input: [64, 64, 16, 16], weight: [128, 64, 4, 4], stride: 2, padding: 1, transposed: false),
    StudyLayer(name: "critic conv3", input: [64, 128, 8, 8], weight: [256, 128, 4, 4], stride: 2, padding: 1, transposed: false),
    StudyLayer(name: "gen convT1", input: [64, 256, 4, 4], weight: [256, 128, 4, 4], stride: 2, padding: 1, transposed: true),
    StudyLayer(name: "gen convT2", input: [64, 128, 8, 8], weight: [128, 64, 4, 4], stride: 2, padding: 1, transposed: true),
    StudyLayer(name: "gen convT3", input: [64, 64, 16, 16], weight: [64, 32, 4, 4], stride: 2, padding: 1, transposed: true),
    StudyLayer(name: "gen conv out", input: [64, 32, 32, 32], weight: [3, 32, 3, 3], stride: 1, padding: 1, transposed: false),
]

func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
