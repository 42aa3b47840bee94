extension ReferenceBackend {
    /// destination[index] = source[index] for every multi-index of `shape`. Reshape needs no
    /// copy; permute, expand, slice, pad and concat are all this copy with suitable strides.
    public func copy(_ source: StridedView, shape: Shape, to destination: MutableStridedView) {
        for i in 0..<shape.count {
            let from = offset(ofLinearIndex: i, dims: shape.dims, strides: source.strides)
            let to = offset(ofLinearIndex: i, dims: shape.dims, strides: destination.strides)
            destination.base[to] = source.base[from]
        }
    }
}
