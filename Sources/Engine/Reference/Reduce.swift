extension ReferenceBackend {
    /// out[j] = Σ x[i] (or max x[i]) over every i whose index equals j outside the reduced axes.
    public func reduce(_ op: ReduceOp, _ x: UnsafeBufferPointer<Float>, shape: Shape, axes: [Int],
                       _ out: UnsafeMutableBufferPointer<Float>) {
        // Each input element lands in the output element with its reduced axes set to 0:
        // the output's strides, with 0 on the reduced axes, give that position.
        var outDims = shape.dims
        for axis in axes { outDims[axis] = 1 }
        var toOutput = Shape(outDims).strides
        for axis in axes { toOutput[axis] = 0 }

        switch op {
        case .sum:
            var sums = [Double](repeating: 0, count: out.count)
            for i in 0..<x.count {
                sums[offset(ofLinearIndex: i, dims: shape.dims, strides: toOutput)] += Double(x[i])
            }
            for j in 0..<out.count { out[j] = Float(sums[j]) }
        case .max:
            for j in 0..<out.count { out[j] = -.infinity }
            for i in 0..<x.count {
                let j = offset(ofLinearIndex: i, dims: shape.dims, strides: toOutput)
                // NaN propagates, as in NumPy: a NaN anywhere makes the maximum NaN.
                if out[j].isNaN { continue }
                if x[i].isNaN || x[i] > out[j] { out[j] = x[i] }
            }
        }
    }
}
