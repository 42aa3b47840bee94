extension ReferenceBackend {
    /// C[i, j] = Σₚ A[i, p] · B[p, j] for every batch, with A or B read transposed if asked.
    public func matmul(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                       _ d: MatmulDims) {
        for batch in 0..<d.batch {
            let A = a + batch * d.aBatchStride
            let B = b + batch * d.bBatchStride
            let C = c + batch * d.m * d.n
            func aAt(_ i: Int, _ p: Int) -> Float { d.transposeA ? A[p * d.m + i] : A[i * d.k + p] }
            func bAt(_ p: Int, _ j: Int) -> Float { d.transposeB ? B[j * d.k + p] : B[p * d.n + j] }
            for i in 0..<d.m {
                for j in 0..<d.n {
                    var sum = 0.0
                    for p in 0..<d.k {
                        sum += Double(aAt(i, p)) * Double(bAt(p, j))
                    }
                    C[i * d.n + j] = Float(sum)
                }
            }
        }
    }
}
