import Foundation
import XCTest
@testable import Library
import Script

final class BuiltinTests: XCTestCase {
    var directory: URL!
    var previous: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("normlab-builtins-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        previous = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(directory.path)
    }

    override func tearDownWithError() throws {
        FileManager.default.changeCurrentDirectoryPath(previous)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Every example in the table runs in a fresh session.
    func testEveryBuiltinExampleRuns() throws {
        for builtin in builtins {
            var output: [String] = []
            let session = Session(output: { output.append($0) })
            XCTAssertNoThrow(try session.run(builtin.example), "the example of \(builtin.name): \(builtin.example)")
        }
        for member in tensorMembers {
            let session = Session(output: { _ in })
            XCTAssertNoThrow(try session.run(member.example), "the example of .\(member.name): \(member.example)")
        }
    }

    func testEveryBuiltinHasHelpAndIsOnTheReferencePage() {
        let session = Session(output: { _ in })
        let page = referencePage()
        for b in builtins {
            XCTAssertTrue(session.help(b.name).hasPrefix(b.signature.text), b.name)
            XCTAssertTrue(page.contains("### `\(b.name)`"), b.name)
            XCTAssertFalse(b.doc.isEmpty || b.example.isEmpty, b.name)
        }
        for m in tensorMembers { XCTAssertTrue(page.contains("### `.\(m.name)`"), m.name) }
        XCTAssertEqual(session.help("adian"), "no builtin, method or variable named 'adian' (did you mean 'adain'?); `:help` lists them all")
        XCTAssertEqual(Set(builtins.map(\.name)).count, builtins.count, "names are unique")
    }

    /// `:help`'s index shows every name whole (it once cut "attribute_classifier" to 16
    /// characters), in one column, two spaces before its description.
    func testTheHelpIndexShowsEveryNameWholeInOneColumn() {
        let lines = Session(output: { _ in }).helpIndex.split(separator: "\n")
        let column = (builtins.map(\.name.count).max() ?? 0) + 4
        for b in builtins {
            let line = lines.first { $0.hasPrefix("  \(b.name) ") }
            XCTAssertEqual(line.map { String($0.dropFirst(column)) }, b.doc, b.name)
            XCTAssertEqual(line.map { $0.prefix(column).hasSuffix("  ") }, true, b.name)
        }
    }

    func testResultsAndMessages() throws {
        var output: [String] = []
        let session = Session(output: { output.append($0) })
        try session.run("let r = power_iteration(tensor([[3, 0], [0, 1]]), iters: 30)\nr.sigma\nsigma_max(tensor([[3, 0], [0, 1]]))")
        XCTAssertEqual(output, ["3", "3"])
        XCTAssertThrowsError(try session.run("zeros(2, 3).mean(axis: [1])")) {
            let e = $0 as! ScriptError
            XCTAssertEqual(e.message, "mean: no parameter labelled 'axis:'")
            XCTAssertEqual(e.hint, "did you mean 'axes:'?")
        }
        XCTAssertThrowsError(try session.run("check(close(tensor([1]), tensor([1.1])), \"nearly one\")")) {
            let e = $0 as! ScriptError
            XCTAssertEqual(e.kind, .check)
            XCTAssertTrue(e.message.hasPrefix("nearly one: max |a − b| = 0.1"), e.message)
        }
        XCTAssertThrowsError(try session.run("zeros(2, 3) + zeros(4)")) {
            XCTAssertEqual(($0 as! ScriptError).message, "add: shapes [2, 3] and [4] do not fit: cannot broadcast: axis -1 has sizes 3 and 4")
        }
        // A convolution's bias, one value per output channel, in the REPL as in the engine.
        output = []
        try session.run("conv2d(ones(1, 1, 3, 3), ones(2, 1, 3, 3), bias: tensor([0.5, -1]))[0, 1, 0, 0]")
        try session.run("conv_transpose2d(ones(1, 1, 1, 1), ones(1, 2, 1, 1), bias: tensor([1, 2]))[0, 1, 0, 0]")
        XCTAssertEqual(output, ["8.0", "3.0"])
        XCTAssertThrowsError(try session.run("conv2d(ones(1, 1, 3, 3), ones(2, 1, 3, 3), bias: tensor([1]))")) {
            XCTAssertEqual(($0 as! ScriptError).message,
                           "conv2d: shapes [1, 2, 1, 1] and [1] do not fit: the bias must have one element per output channel, [2]")
        }
    }

    func testCompletionsDrawFromTheTables() throws {
        let session = Session(output: { _ in })
        try session.run("let weights = zeros(2)")
        XCTAssertEqual(session.complete("wei"), Completion(start: 0, candidates: ["weights"]))
        XCTAssertEqual(session.complete("weights.sha"), Completion(start: 8, candidates: ["shape"]))
        XCTAssertTrue(session.complete("power").candidates.contains("power_iteration"))
    }

    /// Inside a call's parentheses Tab offers the labels the callee declares and that are not
    /// yet given: a builtin's, a tensor method's, a function written in the session.
    func testCompletionOffersTheLabelsOfTheCallBeingWritten() throws {
        let session = Session(output: { _ in })
        try session.run("let x = ones(1, 1, 4, 4)\nfunc f(_ a: Float, scale: Float = 1) -> Float { return a * scale }")
        XCTAssertEqual(session.complete("conv2d(x, x, st"), Completion(start: 13, candidates: ["stride: "]))
        XCTAssertEqual(session.complete("conv_transpose2d(x, x, stride: 2, ").candidates, ["bias: ", "padding: ", "outputPadding: "])
        // Labels first, then the names that an argument could also start with.
        XCTAssertEqual(session.complete("grad(of: x.sum(), wrt: x, cr").candidates, ["createGraph: "])
        XCTAssertEqual(session.complete("grad(of: x.sum(), wrt: x, co").candidates, ["conv2d", "conv_transpose2d", "cos"])
        XCTAssertEqual(session.complete("x.sum(ke").candidates, ["keepDims: "])
        XCTAssertEqual(session.complete("print(x.mean(axes: [1], k").candidates, ["keepDims: "])
        XCTAssertEqual(session.complete("f(2, sc").candidates, ["scale: ", "scatter"])
        XCTAssertEqual(session.complete("print(\"power_it").candidates, [], "no names inside a string")
    }

    /// Issue 17 item 12: after a dot, the members of the value's own type: a record's fields.
    func testCompletionAfterADotListsTheMembersOfThatValue() throws {
        let session = Session(output: { _ in })
        try session.run("let run = power_iteration(eye(2), iters: 2)\nlet xs = [1, 2]")
        XCTAssertEqual(session.complete("run.").candidates, ["sigma", "u", "v"])
        XCTAssertEqual(session.complete("print(run.u.sh").candidates, ["shape"])
        XCTAssertEqual(session.complete("xs.").candidates, ["append", "count"])
        XCTAssertEqual(session.complete("zeros(2).T.ran").candidates, ["rank"], "a value not known until it runs: a tensor's")
    }

    /// Issue 17 item 8: inside a string literal Tab completes paths, folders with a slash.
    func testCompletionInsideAStringCompletesPaths() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("normlab-paths-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("Assets"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data().write(to: folder.appendingPathComponent("Assets/adain.png"))
        try Data().write(to: folder.appendingPathComponent("Assets/astronaut.png"))
        let session = Session(output: { _ in })
        let line = "load_image(\"\(folder.path)/Ass"
        XCTAssertEqual(session.complete(line), Completion(start: 12, candidates: [folder.path + "/Assets/"]))
        XCTAssertEqual(session.complete("load_image(\"\(folder.path)/Assets/a").common, folder.path + "/Assets/a")
        XCTAssertEqual(session.complete("load_image(\"\(folder.path)/Assets/ad").candidates, [folder.path + "/Assets/adain.png"])
        XCTAssertEqual(session.complete("print(\"\\(x) \\(load_image(\"\(folder.path)/As").candidates, [folder.path + "/Assets/"], "in an interpolation's string")
    }
}

/// Every builtin's parameters are declared once; the checking of a call comes from them.
final class ArgumentCheckingTests: XCTestCase {
    func message(_ source: String) -> (message: String, hint: String?) {
        do {
            try Session(output: { _ in }).run(source)
            return ("no error", nil)
        } catch let e as ScriptError {
            return (e.message, e.hint)
        } catch {
            return ("\(error)", nil)
        }
    }

    /// Issue 18 item 12: extra positional arguments were ignored.
    func testExtraPositionalArgumentsAreRefused() {
        XCTAssertEqual(message("exp(1, 2)").message, "exp: takes 1 argument without a label (x), got 2")
        XCTAssertEqual(message("ones(2, 3).sum(1)").message, "sum: takes no arguments without a label, got 1")
        XCTAssertEqual(message("ones(2, 3).sum(1)").hint, "usage: x.sum(axes: (Int or [Int])? = nil, keepDims: Bool = false) -> Tensor")
        XCTAssertEqual(message("zeros(2, 3).transposed(0, 5)").message, "transposed: takes no arguments without a label, got 2")
    }

    /// Issue 17, item 3: the gradient of a gradient computed without createGraph is an error,
    /// as in PyTorch, not zeros; zeros only when asked for.
    func testGradOfAValueWithoutAGraphIsAnError() throws {
        let setup = "let x = tensor([1, 2]).requiringGrad()\nlet g1 = grad(of: (x*x*x).sum(), wrt: x)\n"
        let error = message(setup + "grad(of: g1.sum(), wrt: x)").message
        XCTAssertTrue(error.hasPrefix("grad: the value has no recorded graph, so it does not depend on the tensor given as wrt"), error)
        XCTAssertTrue(error.contains("compute it with createGraph: true"), error)
        var shown: [String] = []
        try Session(output: { shown.append($0) }).run(setup + "grad(of: g1.sum(), wrt: x, allowUnused: true)\n"
                                                       + "grad(of: grad(of: (x*x*x).sum(), wrt: x, createGraph: true).sum(), wrt: x)")
        XCTAssertEqual(shown, ["[0. 0.]", "[ 6. 12.]"])
    }

    func testEachMistakeNamesTheBuiltinAndTheParameter() {
        XCTAssertEqual(message("conv2d(ones(1, 1, 3, 3), ones(1, 1, 3, 3), strid: 2)").message, "conv2d: no parameter labelled 'strid:'")
        XCTAssertEqual(message("conv2d(ones(1, 1, 3, 3), ones(1, 1, 3, 3), strid: 2)").hint, "did you mean 'stride:'?")
        XCTAssertEqual(message("linspace(0, 1)").message, "linspace: missing argument 'count:'")
        XCTAssertEqual(message("linspace(0, 1)").hint, "usage: linspace(_ start: Number, _ end: Number, count: Int) -> Tensor")
        XCTAssertEqual(message("sigma_max()").message, "sigma_max: missing argument 1 (W)")
        XCTAssertEqual(message("round(\"a\")").message, "round: argument 1 (x) must be a number, got \"a\"")
        XCTAssertEqual(message("faces(2, size: [1])").message, "faces: 'size:' must be a whole number, got an Array")
        XCTAssertEqual(message("faces(2.5)").message, "faces: argument 1 (count) must be a whole number, got 2.5")
        // A whole number too large to be one here says so (issue 18.12), also where an Int or a
        // Tensor would do.
        XCTAssertEqual(message("faces(9223372036854775807.0)").message,
                       "faces: argument 1 (count) is 9.223372e+18, too large: whole numbers here stay below 10¹⁵")
        XCTAssertEqual(message("zeros(1e19)").message, "zeros: argument 1 (shape) is 1e+19, too large: whole numbers here stay below 10¹⁵")
        XCTAssertEqual(message("show(rand(3, 2, 2), range: \"unt\")").message, "show: 'range:' must be \"unit\" or \"symmetric\", got \"unt\"")
        XCTAssertEqual(message("show(rand(3, 2, 2), range: \"unt\")").hint, "did you mean \"unit\"?")
        XCTAssertEqual(message("exp(x: 1)").hint, "x is written without a label; usage: exp(_ x: Tensor or Number) -> same as x")
        XCTAssertEqual(message("grad(of: ones(1), wrt: ones(1), seed: ones(1), seed: ones(1))").message, "grad: 'seed:' is given twice")
        XCTAssertEqual(message("tensor([[1, 2], [3]])").message, "tensor: argument 1 (values): the rows have different shapes ([2], [1])")
        XCTAssertEqual(message("ones(2).sum(axes: 0).shape").message, "no error")
    }

    /// The signature help shows is the one calls are checked against: every label it accepts.
    func testSignaturesShowEveryAcceptedLabel() {
        let session = Session(output: { _ in })
        XCTAssertTrue(session.help("grad").hasPrefix("grad(of y: Tensor, wrt x: Tensor or [Tensor], createGraph: Bool = false, seed: Tensor? = nil, allowUnused: Bool = false)"))
        XCTAssertTrue(session.help("power_iteration").contains("order: \"classic\" or \"parametrization\" = \"classic\""))
        XCTAssertTrue(session.help("conv_transpose2d").contains("outputPadding: Int = 0"))
        XCTAssertTrue(session.help("conv_transpose2d").contains("(also accepted: output_padding:)"))
        XCTAssertTrue(session.helpIndex.contains("camelCase"))
        for signature in builtins.map(\.signature) + tensorMembers.map(\.signature) {
            for p in signature.parameters { XCTAssertFalse(p.doc.isEmpty, "\(signature.name)'s \(p.name) has a doc") }
        }
    }

    /// PyTorch's output_padding: is an alias of the canonical outputPadding:, with the same result.
    func testTheAliasMeansTheCanonicalLabel() throws {
        var output: [String] = []
        let session = Session(output: { output.append($0) })
        try session.run("conv_transpose2d(ones(1, 2, 4, 4), ones(2, 3, 4, 4), stride: 2, padding: 1, outputPadding: 1).shape")
        try session.run("conv_transpose2d(ones(1, 2, 4, 4), ones(2, 3, 4, 4), stride: 2, padding: 1, output_padding: 1).shape")
        XCTAssertEqual(output, ["[1, 3, 9, 9]", "[1, 3, 9, 9]"])
    }

    /// Issue 17 item 12: numbers print one way, as NumPy prints float32 scalars, beside tensors.
    func testNumbersPrintAsFloat32Scalars() throws {
        var output: [String] = []
        let session = Session(output: { output.append($0) })
        try session.run("let w = tensor([3.0138507]).item()\nprint(w * 0.01, w)\n1 / 3\n2.5\n1e300\n7")
        XCTAssertEqual(output, ["0.030138507 3.0138507", "0.33333334", "2.5", "1e+300", "7"])
    }

    /// Issue 17 item 12: an article that fits ("an Array", not "a Array").
    func testMessagesUseTheRightArticle() {
        XCTAssertEqual(message("[1, 2].shape").message, "an Array has no property or method 'shape'")
        XCTAssertEqual(message("faces([2])").message, "faces: argument 1 (count) must be a whole number, got an Array")
    }

    /// A student from PyTorch types PyTorch's names: the hint says what they are here, and
    /// PyTorch's spelling of a reduction's labels is accepted.
    func testPyTorchNamesGetTheirCounterparts() throws {
        XCTAssertEqual(message("randn(3).view(3, 1)").hint, "PyTorch's .view is .reshaped(…) here")
        XCTAssertEqual(message("randn(2, 2).mm(randn(2, 2))").hint, "PyTorch's .mm is a @ b (or matmul(a, b)) here")
        XCTAssertEqual(message("randn(3).abs()").hint, "abs is a function here: abs(x)")
        XCTAssertEqual(message("randn(3).clamp(0, 1)").hint, "clamp is a function here: clamp(x, …)")
        XCTAssertEqual(message("randn(3).shap").hint, "did you mean 'shape'?")
        XCTAssertEqual(message("import torch").message, "there is nothing to import: every builtin is already in scope")
        XCTAssertEqual(message("torch.randn(2, 3)").hint?.hasPrefix("there are no modules to import here"), true)
        XCTAssertEqual(message("randn(2, 3).sum(dim=1)").message, "a label is followed by ':' here, not '='")
        XCTAssertEqual(message("spectral_norm(randn(3, 3))").hint?.contains("sigma_max(W)"), true)
        XCTAssertEqual(message("randn(3).dtype").hint, "PyTorch's .dtype has no counterpart: every tensor here is float32")
        XCTAssertEqual(message("randn(3).shape()").hint, "'shape' is a value, not a function: write it without ( )")
        var output: [String] = []
        let session = Session(output: { output.append($0) })
        try session.run("let x = tensor([[1, 2], [3, 4]])\nprint(x.sum(dim: 1), x.mean(dim: 0, keepdim: true).shape)")
        XCTAssertEqual(output, ["[3. 7.] [1, 2]"])
    }

    /// `:` alone takes a whole axis, as in NumPy; Python's other slices and `...` say how
    /// to write them here.
    func testAColonTakesAWholeAxis() throws {
        var output: [String] = []
        let session = Session(output: { output.append($0) })
        try session.run("let x = tensor([[1, 2, 3], [4, 5, 6]])\nx[:, 1]\nx[1, :]\nx[:].shape\n[1, 2, 3][:]\n[:]")
        XCTAssertEqual(output, ["[2. 5.]", "[4. 5. 6.]", "[2, 3]", "[1, 2, 3]", "[:]"])
        XCTAssertEqual(message("zeros(2, 3)[1:3]").message, "a slice is a range here, not ':'")
        XCTAssertEqual(message("zeros(2, 3)[:2]").message, "a slice is a range here, not ':'")
        XCTAssertEqual(message("zeros(2, 3)[..., 1]").message, "'...' for the remaining axes is not written here")
    }

    /// One answer for leaky ReLU's slope: the builtin's default is the critic's.
    func testLeakyReluDefaultIsTheCriticSlope() throws {
        var output: [String] = []
        let session = Session(output: { output.append($0) })
        try session.run("leaky_relu(tensor([-1]))")
        XCTAssertEqual(output, ["[-0.2]"])
        XCTAssertTrue(Session(output: { _ in }).help("leaky_relu").hasPrefix("leaky_relu(_ x: Tensor, slope: Number = 0.2)"))
    }

    /// A single array stands for the whole of a variadic parameter: zeros([2, 3]), plot(run.sigmas).
    func testOneArrayFillsAVariadicParameter() throws {
        var output: [String] = []
        let session = Session(output: { output.append($0) })
        try session.run("zeros([2, 3]).shape\nzeros(2, 3).shape\nones(4).reshaped([2, -1]).shape\nzeros(2, 3, 4).permuted(2, 0, 1).shape")
        XCTAssertEqual(output, ["[2, 3]", "[2, 3]", "[2, 2]", "[4, 2, 3]"])
    }
}

/// The committed reference page is the one the table generates now.
final class ReferencePageTests: XCTestCase {
    func testLessonsReferenceIsCurrent() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let committed = try String(contentsOf: root.appendingPathComponent("Lessons/reference.md"), encoding: .utf8)
        XCTAssertEqual(committed, referencePage(), "Lessons/reference.md is stale: run `swift run normlab docs --out Lessons/reference.md`")
    }
}
