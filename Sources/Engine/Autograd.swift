/// Reverse-mode automatic differentiation on a runtime tape.
///
/// Every primitive op that has an input in the graph records a `Node`: the primitive, its
/// inputs, and (for the few whose derivative needs it) its output. Differentiating walks the
/// nodes from the output back to the inputs, applying each primitive's vector-Jacobian
/// product from `Derivatives.swift`. Those products are written in differentiable tensor
/// ops, so with `createGraph: true` the walk itself is recorded and the gradient can be
/// differentiated again: the gradient penalty of WGAN-GP is exactly that.
final class Node: @unchecked Sendable {
    let primitive: Primitive
    /// The op's inputs as they were (values and their own nodes). Emptied only by `deinit`.
    private(set) var inputs: [Tensor]
    /// The op's output elements, kept only when its derivative is written with the output.
    let savedOutput: Storage?
    let shape: Shape
    /// Accumulated by `backward()`; kept on leaves only (tensors made by `requiringGrad()`).
    var grad: Tensor?

    init(_ primitive: Primitive, inputs: [Tensor], shape: Shape, savedOutput: Storage?) {
        self.primitive = primitive
        self.inputs = inputs
        self.shape = shape
        self.savedOutput = savedOutput
    }

    var isLeaf: Bool { if case .leaf = primitive { return true } else { return false } }

    /// Frees the graph behind this node with an explicit stack. Released the ordinary way, a
    /// chain of nodes (40,000 ops of `y = y * 1.0000001`) released each input from inside the
    /// previous one's deinit, one stack frame per op, and overflowed the stack. Here every node
    /// that nothing else holds gives its inputs to the loop before it goes, so each deinit
    /// below this one finds no inputs and returns at once.
    deinit {
        var pending = Node.takeGraph(from: self)
        while var node = pending.popLast() {
            if isKnownUniquelyReferenced(&node) { pending += Node.takeGraph(from: node) }
        }
    }

    /// The nodes this one holds (its inputs' and its gradient's), which it lets go of.
    private static func takeGraph(from node: Node) -> [Node] {
        var held = node.inputs.compactMap(\.node)
        if let gradNode = node.grad?.node { held.append(gradNode) }
        node.inputs = []
        node.grad = nil
        return held
    }
}

enum GradMode {
    @TaskLocal static var isEnabled = true
}

/// Runs `body` without recording any op in the autograd graph (for updates and evaluation).
public func noGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.$isEnabled.withValue(false, operation: body)
}

/// Whether ops are being recorded right now (false inside `noGrad`).
public var isGradEnabled: Bool { GradMode.isEnabled }

extension Tensor {
    /// The same values as a new leaf of the graph: gradients are computed with respect to it
    /// and `backward()` accumulates into its `grad`.
    public func requiringGrad() -> Tensor {
        Tensor(shape: shape, storage: storage, node: Node(.leaf, inputs: [], shape: shape, savedOutput: nil))
    }

    /// The same values, cut from the graph: a constant for differentiation.
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }

    /// Whether gradients can flow to this value (it is a leaf or computed from one).
    public var requiresGrad: Bool { node != nil }

    /// The gradient accumulated by `backward()` (leaves only), or nil.
    public var grad: Tensor? { node?.grad }

    /// Clears the accumulated gradient of a leaf.
    public func zeroGrad() { node?.grad = nil }

    /// Accumulates ∂self/∂leaf into the `grad` of every leaf this value depends on. `self`
    /// must be a scalar unless `seed` (the upstream gradient, of self's shape) is given.
    public func backward(seed: Tensor? = nil, createGraph: Bool = false) throws {
        guard let node else {
            throw EngineError.notDifferentiable(op: "backward", message: "this tensor is a constant: no input of it requires a gradient (use requiringGrad())")
        }
        _ = node
        let grads = try propagate(seed: seed, targets: nil, createGraph: createGraph, op: "backward")
        // Gradients add up over calls, as in PyTorch: clear them with zeroGrad().
        let accumulate = {
            for (id, g) in grads {
                guard let leaf = grads.nodes[id] else { continue }
                leaf.grad = try leaf.grad.map { try $0 + g } ?? g
            }
        }
        if createGraph { try accumulate() } else { try noGrad(accumulate) }
    }
}

/// ∂y/∂x for each x in `wrt`, of a scalar y, or of ⟨seed, y⟩ for any shape (PyTorch's grad_outputs).
/// With `createGraph: true` the results are themselves in the graph, so they can be
/// differentiated again (second and higher order).
///
/// An x that y does not reach through the recorded graph is an error, as in PyTorch: that is
/// what happens when y is built from a gradient computed without `createGraph: true` (a
/// constant), and zeros would hide the mistake. `allowUnused: true` asks for zeros instead.
public func grad(of y: Tensor, wrt xs: [Tensor], seed: Tensor? = nil, createGraph: Bool = false, allowUnused: Bool = false) throws -> [Tensor] {
    let nodes = try xs.enumerated().map { i, x in
        guard let node = x.node else {
            throw EngineError.notDifferentiable(op: "grad", message: "argument \(i) of wrt (shape \(x.shape)) does not require a gradient: make it with requiringGrad() before computing y")
        }
        return node
    }
    let targets = Set(nodes.map(ObjectIdentifier.init))
    let grads = y.node == nil ? GradientMap() : try y.propagate(seed: seed, targets: targets, createGraph: createGraph, op: "grad")
    return try zip(xs, nodes).enumerated().map { i, pair in
        if let g = grads[ObjectIdentifier(pair.1)] { return g }
        guard allowUnused else { throw unusedInGraph(argument: i, of: xs.count, valueHasGraph: y.node != nil) }
        return try Tensor.zeros(pair.0.shape)
    }
}

/// PyTorch's "One of the differentiated Tensors appears to not have been used in the graph",
/// saying which argument and the usual cause.
func unusedInGraph(argument: Int, of count: Int, valueHasGraph: Bool) -> EngineError {
    let which = count == 1 ? "the tensor given as wrt" : "wrt argument \(argument)"
    let what = valueHasGraph ? "the value was not computed from \(which) through the recorded graph"
        : "the value has no recorded graph, so it does not depend on \(which)"
    return .notDifferentiable(op: "grad", message: """
        \(what) (PyTorch: "One of the differentiated Tensors appears to not have been used in the graph"). \
        A gradient computed without createGraph: true is a constant: compute it with createGraph: true to differentiate \
        it again, or pass allowUnused: true for zeros
        """)
}

/// Gradients by node, with the nodes themselves so leaves can be found.
struct GradientMap: Sequence {
    var values: [ObjectIdentifier: Tensor] = [:]
    var nodes: [ObjectIdentifier: Node] = [:]
    subscript(id: ObjectIdentifier) -> Tensor? { values[id] }
    func makeIterator() -> Dictionary<ObjectIdentifier, Tensor>.Iterator { values.makeIterator() }
}

extension Tensor {
    /// The backward walk. `targets` are the nodes whose gradients are wanted (nil: every leaf);
    /// only nodes on a path to a target are visited, and only the inputs that lead to one
    /// get their vector-Jacobian product computed.
    func propagate(seed: Tensor?, targets: Set<ObjectIdentifier>?, createGraph: Bool, op: String) throws -> GradientMap {
        guard let root = node else { return GradientMap() }
        let upstream: Tensor
        if let seed {
            guard seed.shape == shape else {
                throw EngineError.shapeMismatch(op: op, shapes: [shape, seed.shape], reason: "the seed must have the output's shape")
            }
            upstream = seed
        } else {
            guard count == 1 else {
                throw EngineError.invalidArgument(op: op, message: "the output has shape \(shape); differentiate a scalar (e.g. y.sum()) or pass a seed of that shape")
            }
            upstream = try Tensor.ones(shape)
        }

        let order = topologicalOrder(from: root)
        // A node matters if it is a target, or one of its inputs matters.
        var matters = Set<ObjectIdentifier>()
        for node in order {
            let id = ObjectIdentifier(node)
            let isTarget = targets.map { $0.contains(id) } ?? node.isLeaf
            if isTarget || node.inputs.contains(where: { $0.node.map { matters.contains(ObjectIdentifier($0)) } ?? false }) {
                matters.insert(id)
            }
        }

        var result = GradientMap()
        var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): upstream]
        let walk = {
            for node in order.reversed() {
                let id = ObjectIdentifier(node)
                guard matters.contains(id), let g = pending.removeValue(forKey: id) else { continue }
                if targets.map({ $0.contains(id) }) ?? node.isLeaf {
                    result.values[id] = g
                    result.nodes[id] = node
                }
                if node.isLeaf { continue }
                let needs = node.inputs.map { $0.node.map { matters.contains(ObjectIdentifier($0)) } ?? false }
                guard needs.contains(true) else { continue }
                let output = Tensor(shape: node.shape, storage: node.savedOutput ?? Storage.empty, node: node)
                let inputGrads = try vectorJacobianProduct(node.primitive, inputs: node.inputs, output: output, upstream: g, needs: needs)
                for (input, inputGrad) in zip(node.inputs, inputGrads) {
                    guard let inputNode = input.node, let inputGrad else { continue }
                    let key = ObjectIdentifier(inputNode)
                    guard matters.contains(key) else { continue }
                    pending[key] = try pending[key].map { try $0 + inputGrad } ?? inputGrad
                }
            }
        }
        if createGraph { try walk() } else { try noGrad(walk) }
        return result
    }
}

/// Nodes reachable from `root`, each after all of its inputs (an explicit stack, no recursion,
/// so deep graphs such as long training loops cannot overflow the call stack).
func topologicalOrder(from root: Node) -> [Node] {
    var order: [Node] = []
    var visited = Set<ObjectIdentifier>()
    var stack: [(node: Node, inputsPushed: Bool)] = [(root, false)]
    while let (node, inputsPushed) = stack.popLast() {
        let id = ObjectIdentifier(node)
        if inputsPushed {
            order.append(node)
            continue
        }
        guard !visited.contains(id) else { continue }
        visited.insert(id)
        stack.append((node, true))
        for input in node.inputs {
            if let inputNode = input.node, !visited.contains(ObjectIdentifier(inputNode)) {
                stack.append((inputNode, false))
            }
        }
    }
    return order
}
