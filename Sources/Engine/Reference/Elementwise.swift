extension ReferenceBackend {
    /// y[i] = f(x[i])
    public func unary(_ op: UnaryOp, _ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableBufferPointer<Float>) {
        let f = op.function
        for i in 0..<x.count {
            y[i] = f(x[i])
        }
    }

    /// out[i] = a[i] ∘ b[i], with a and b broadcast to `shape` through their strides.
    public func binary(_ op: BinaryOp, _ a: StridedView, _ b: StridedView, shape: Shape,
                       _ out: UnsafeMutableBufferPointer<Float>) {
        let f = op.function
        for i in 0..<shape.count {
            let ai = offset(ofLinearIndex: i, dims: shape.dims, strides: a.strides)
            let bi = offset(ofLinearIndex: i, dims: shape.dims, strides: b.strides)
            out[i] = f(a.base[ai], b.base[bi])
        }
    }

    /// out[i] = ∂/∂x (leaky) ReLU applied to g[i]: g[i] where x[i] > 0, slope·g[i] elsewhere
    public func leakyReluGrad(slope: Float, _ g: UnsafeBufferPointer<Float>, _ x: UnsafeBufferPointer<Float>,
                              _ out: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<x.count {
            out[i] = x[i] > 0 ? g[i] : slope * g[i]
        }
    }

    /// out[i] = cond[i] ≠ 0 ? a[i] : b[i]
    public func select(_ cond: StridedView, _ a: StridedView, _ b: StridedView, shape: Shape,
                       _ out: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<shape.count {
            let c = cond.base[offset(ofLinearIndex: i, dims: shape.dims, strides: cond.strides)]
            out[i] = c != 0
                ? a.base[offset(ofLinearIndex: i, dims: shape.dims, strides: a.strides)]
                : b.base[offset(ofLinearIndex: i, dims: shape.dims, strides: b.strides)]
        }
    }
}
