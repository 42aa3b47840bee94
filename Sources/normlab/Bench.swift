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
        abstract: "Time GEMM and the study's convolution layers on both backends (build with -c release).",
        discussion: "Medians over repeats after a warm-up. Example: swift run -c release normlab bench --compare-numpy")

    @Option(help: "Threads for the SIMD backend and for NumPy (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Timed repeats per measurement (the median is reported).")
    var repeats: Int = 7

    @Flag(name: .customLong("compare-numpy"), help: "Also time NumPy's matmul (OpenBLAS) on the same shapes, in this run.")
    var compareNumPy = false

    @Flag(help: "Skip the reference backend on large shapes (it takes minutes there).")
    var quick = false

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(help: "Only the rows whose op starts with this (gemm, critic, gen, im2col, wgan).")
    var only: String?

    func wanted(_ op: String) -> Bool { only.map { op.hasPrefix($0) } ?? true }

    func run() throws {
        #if DEBUG
        FileHandle.standardError.write(Data("warning: a debug build; for representative numbers run `swift run -c release normlab bench`\n".utf8))
        #endif
        Runtime.threads = threads
        let kernel = GEMMKernel.best
        let peak = kernel.measurePeak()
        var rows: [BenchRow] = []
        let numpy = compareNumPy ? try NumPyPeer(threads: threads) : nil

        for n in [64, 128, 256, 512, 1024, 2048] where wanted("gemm") {
            let reference = (quick ? n <= 256 : n <= 512) ? try time(on: ReferenceBackend(), repeats: n >= 512 ? 1 : repeats) {
                _ = try matmul(Tensor.zeros([n, n]), Tensor.zeros([n, n]))
            } : nil
            rows.append(try gemmRow(op: "gemm", m: n, k: n, n: n, reference: reference, numpy: numpy))
        }
        for layer in studyLayers where wanted(layer.name) {
            let x = try Tensor.randn(layer.input), w = try Tensor.randn(layer.weight) * 0.05
            let forward: () throws -> Tensor = { try layer.forward(x, w) }
            let y = try forward()
            let dy = try Tensor.randn(y.shape)
            let flops = 3 * layer.forwardFLOPs   // forward, input gradient, weight gradient
            let step = {
                let (xi, wi) = (x.requiringGrad(), w.requiringGrad())
                _ = try grad(of: layer.forward(xi, wi), wrt: [xi, wi], seed: dy)
            }
            let simd = try time(on: SIMDBackend(), step)
            let reference = quick ? nil : try time(on: ReferenceBackend(), repeats: 1, step)
            rows.append(BenchRow(op: layer.name + " fwd+bwd", shape: layer.description, flops: flops, reference: reference, simd: simd, numpy: nil))
        }
        for (m, k, n) in [(64 * 16 * 16, 3 * 16, 64), (64 * 8 * 8, 64 * 16, 128), (64 * 4 * 4, 128 * 16, 256)] where wanted("im2col gemm") {
            rows.append(try gemmRow(op: "im2col gemm", m: m, k: k, n: n, reference: nil, numpy: numpy))
        }
        report(rows, peak: peak)
        if !quick && wanted("wgan") { try wganIterations() }
    }

    /// One WGAN-GP generator iteration of wgan_step.md's 32×32 network at batch 64 (5 critic
    /// steps with the penalty's double backprop, 1 generator step, Adam), for the four variants.
    func wganIterations() throws {
        // PyTorch 2.13 CPU on the same kind of machine, from ../shared/bench/wgan_step.md (not in
        // this run: PyTorch is not available here), seconds on 2 and 1 threads.
        let pytorch: [String: (two: Double, one: Double)] = ["plain": (1.53, 2.85), "sn": (1.68, 2.93), "adain": (1.86, 3.08), "adain+sn": (1.80, 2.89)]
        print("\nOne WGAN-GP generator iteration, 32×32, batch 64 (median of 3 after a warm-up; \(threads) thread(s)):")
        print("variant     seconds   PyTorch s (wgan_step.md)   PyTorch / Normlab")
        for (name, norm, sn) in [("plain", GeneratorNorm.batch, false), ("sn", .batch, true), ("adain", .adain, false), ("adain+sn", .adain, true)] {
            Runtime.seed(0)
            let gan = WGANGP(generator: try Generator(norm: norm), critic: try Critic(spectralNorm: sn))
            let real = try Tensor.rand([64, 3, 32, 32]) * 2 - 1
            let seconds = try time(on: SIMDBackend(), repeats: 3) { try gan.iteration(batchSize: 64) { real } }
            let peer = threads >= 2 ? pytorch[name]!.two : pytorch[name]!.one
            print(name.padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: "%8.2f   %24.2f   %17.2f×", seconds, peer, peer / seconds))
        }
    }

    /// A[m×k]·B[k×n] on the SIMD backend. With a NumPy peer, the two alternate batch by batch
    /// (about 50 ms each), so a change in the machine's speed during the run (other tenants
    /// of a VM) falls on both sides of the ratio alike.
    func gemmRow(op: String, m: Int, k: Int, n: Int, reference: Double?, numpy: NumPyPeer?) throws -> BenchRow {
        let a = try Tensor.randn([m, k]), b = try Tensor.randn([k, n])
        let product = { _ = try matmul(a, b) }
        let saved = Runtime.backend
        defer { Runtime.backend = saved }
        Runtime.backend = SIMDBackend()
        try product()
        let start = DispatchTime.now().uptimeNanoseconds
        try product()
        let batch = max(1, Int(0.05 / max(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, 1e-7)))
        var ours: [Double] = [], theirs: [Double] = []
        for _ in 0..<repeats {
            if let numpy {
                theirs.append(try numpy.secondsPerProduct(m: m, k: k, n: n))
                // OpenBLAS's idle worker threads spin for about 0.1 s after a call (measured
                // here: 0.10–0.12 s of CPU after one 1024³ product), which would take a core
                // from our batch, so wait them out; but wait busy, on every thread: a VM core
                // that sat idle for 0.2 s wakes slowly for the next tens of ms (a 2-thread
                // 512³ product measured 0.95 ms after busy waiting, 1.8 ms after sleeping),
                // while NumPy's batch always follows ours without a pause.
                if threads > 1 { busyWait(seconds: 0.2, threads: threads) }
            }
            try product()   // untimed, as NumPy's batch starts with one: both sides start warm
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<batch { try product() }
            ours.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(batch))
        }
        return BenchRow(op: op, shape: "\(m)×\(k)×\(n)", flops: 2.0 * Double(m * k * n), reference: reference, simd: median(ours),
                        numpy: numpy == nil ? nil : median(theirs))
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

    func report(_ rows: [BenchRow], peak: Double) {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if json {
            let object: [String: Any] = [
                "threads": threads, "cores": cores, "fma_peak_gflops_per_core": peak, "gemm_kernel": GEMMKernel.best.name,
                "rows": rows.map { r -> [String: Any] in
                    var d: [String: Any] = ["op": r.op, "shape": r.shape, "flops": r.flops, "simd_seconds": r.simd]
                    if let ref = r.reference { d["reference_seconds"] = ref }
                    if let np = r.numpy { d["numpy_seconds"] = np }
                    return d
                },
            ]
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
        var table: [[String]] = [header]
        for r in rows {
            let gflops = r.flops / r.simd / 1e9
            var line = [r.op, r.shape, r.reference.map { format($0 * 1e3, 1) } ?? "—", format(r.simd * 1e3, 2),
                        r.reference.map { format($0 / r.simd, 0) + "×" } ?? "—", format(gflops, 1),
                        format(100 * gflops / (peak * Double(threads)), 0) + "%"]
            if compareNumPy {
                line += [r.numpy.map { format(r.flops / $0 / 1e9, 1) } ?? "—", r.numpy.map { format($0 / r.simd, 2) + "×" } ?? "—"]
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
        print("\nspeedup = reference / SIMD time; % peak of the measured FMA peak × threads; vs numpy = NumPy time / Normlab time (> 1: Normlab faster).")
    }

}

/// python3 with NumPy in a second process, timing np.matmul (OpenBLAS's sgemm) one batch at a
/// time on request, in the way ../shared/bench/numpy_gemm.py does: float32, into a reused
/// output, batches of about 50 ms, each after one untimed product.
final class NumPyPeer {
    let process = Process()
    let requests = Pipe(), replies = Pipe()
    var pending = Data()

    static let script = """
        import os, sys, time
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = sys.argv[1]
        import numpy as np
        rng = np.random.default_rng(0)
        shape = None
        for line in sys.stdin:
            if tuple(map(int, line.split())) != shape:
                shape = m, k, n = tuple(map(int, line.split()))
                a = rng.standard_normal((m, k), dtype=np.float32); b = rng.standard_normal((k, n), dtype=np.float32)
                c = np.empty((m, n), dtype=np.float32); np.matmul(a, b, out=c)
                t0 = time.perf_counter(); np.matmul(a, b, out=c); one = max(time.perf_counter() - t0, 1e-7)
                reps = max(1, int(0.05 / one))
            np.matmul(a, b, out=c)
            t0 = time.perf_counter()
            for _ in range(reps): np.matmul(a, b, out=c)
            print((time.perf_counter() - t0) / reps, flush=True)
        """

    init(threads: Int) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // These variables are set on some machines for old OpenBLAS builds and slow a current NumPy.
        process.arguments = ["-u", "OPENBLAS_CORETYPE", "-u", "OPENBLAS_L2_SIZE", "python3", "-c", Self.script, String(threads)]
        process.standardInput = requests
        process.standardOutput = replies
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            throw ValidationError("--compare-numpy needs python3 with NumPy: \(error.localizedDescription)")
        }
    }

    deinit {
        // The child may hold its own copy of the pipe's write end, so closing ours need not
        // end its loop: stop it outright.
        process.terminate()
        process.waitUntilExit()
    }

    /// Seconds per A[m×k]·B[k×n], averaged over one batch.
    func secondsPerProduct(m: Int, k: Int, n: Int) throws -> Double {
        try requests.fileHandleForWriting.write(contentsOf: Data("\(m) \(k) \(n)\n".utf8))
        while !pending.contains(UInt8(ascii: "\n")) {
            // availableData returns what the pipe holds; read(upToCount:) would wait for all 256 bytes.
            let chunk = replies.fileHandleForReading.availableData
            guard !chunk.isEmpty else {
                throw ValidationError("--compare-numpy needs python3 with NumPy (python3 -c 'import numpy' failed)")
            }
            pending.append(chunk)
        }
        let line = String(decoding: pending.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        pending = Data(pending.dropFirst(line.utf8.count + 1))
        guard let seconds = Double(line) else { throw ValidationError("NumPy replied '\(line)' instead of a time") }
        return seconds
    }
}

struct BenchRow {
    let op: String, shape: String
    let flops: Double
    let reference: Double?, simd: Double
    let numpy: Double?
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
