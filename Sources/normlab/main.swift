import Engine
do {
    let x = try Tensor([[1, 2], [3, 4]]).requiringGrad()
    let y = try (x * x * x).sum()
    let (g) = try grad(of: y, wrt: [x], createGraph: true)[0]
    print(g)   // 3x²
    let gg = try grad(of: g.sum(), wrt: [x])[0]
    print(gg)  // 6x
    let w = try Tensor.randn([2, 3, 3, 3]).requiringGrad()
    let inp = try Tensor.randn([1, 3, 5, 5]).requiringGrad()
    let out = try leakyRelu(conv2d(inp, w, padding: 1), slope: 0.2).sum()
    let gi = try grad(of: out, wrt: [inp], createGraph: true)[0]
    let pen = try pow(gi.norm() - 1, 2)
    try pen.backward()
    print(w.grad!.shape, try w.grad!.norm())
    print(try Tensor.randn([3, 400]))
} catch { print("error:", error) }
