import Engine

/// The critic's WGAN-GP loss and each of its parts, so a lesson can print them.
public struct CriticLoss {
    /// mean D(fake) − mean D(real) + λ · penalty: what the critic minimises.
    public let loss: Tensor
    /// mean D(real) − mean D(fake): the critic's estimate of the Wasserstein distance.
    public let wassersteinEstimate: Tensor
    /// mean over samples of (‖∇ₓ̂ D(x̂)‖₂ − 1)², not yet multiplied by λ.
    public let penalty: Tensor
    /// ‖∇ₓ̂ D(x̂)‖₂ per sample.
    public let gradientNorms: Tensor
    public let criticReal: Tensor
    public let criticFake: Tensor
    /// The interpolates x̂ = ε·real + (1 − ε)·fake.
    public let interpolates: Tensor
}

/// The WGAN-GP critic loss (Gulrajani et al. 2017, Algorithm 1):
///
///     L = mean D(x̃) − mean D(x) + λ · mean (‖∇ₓ̂ D(x̂)‖₂ − 1)²,   x̂ = εx + (1 − ε)x̃
///
/// with ε ~ U[0, 1] drawn per sample (or given, one per sample) and the norm over all of a
/// sample's axes. The penalty's gradient reaches the critic's weights through a gradient
/// (double backprop). `rootEpsilon` > 0 adds a constant inside the root, as compare_gan does
/// (1e-4), to avoid the infinite slope of √ at 0.
public func criticLoss(critic: (Tensor) throws -> Tensor, real: Tensor, fake: Tensor, lambda: Float = 10,
                       epsilon: Tensor? = nil, rootEpsilon: Float = 0) throws -> CriticLoss {
    guard real.shape == fake.shape, real.rank >= 1 else {
        throw EngineError.shapeMismatch(op: "criticLoss", shapes: [real.shape, fake.shape], reason: "real and fake batches must have the same shape")
    }
    let batch = real.shape[0]
    let eps = try epsilon ?? Tensor.rand([batch])
    guard eps.count == batch else {
        throw EngineError.shapeMismatch(op: "criticLoss", shapes: [real.shape, eps.shape], reason: "epsilon needs one value per sample")
    }
    let e = try eps.reshaped(Shape([batch] + Array(repeating: 1, count: real.rank - 1)))
    let xhat = try (e * real.detached() + (1 - e) * fake.detached()).requiringGrad()
    let dReal = try critic(real), dFake = try critic(fake), dXhat = try critic(xhat)
    let gradient = try grad(of: dXhat.sum(), wrt: [xhat], createGraph: true)[0]
    let squaredNorms = try (gradient * gradient).reshaped([batch, -1]).sum(axes: [1])
    let norms = try sqrt(squaredNorms + Tensor(rootEpsilon))
    let penalty = try pow(norms - 1, 2).mean()
    let estimate = try dReal.mean() - dFake.mean()
    return CriticLoss(loss: try Tensor(lambda) * penalty - estimate, wassersteinEstimate: estimate, penalty: penalty,
                      gradientNorms: norms, criticReal: dReal, criticFake: dFake, interpolates: xhat)
}

/// The generator's WGAN loss, −mean D(G(z)), from the critic's scores of generated samples.
public func generatorLoss(criticFake: Tensor) throws -> Tensor { try -criticFake.mean() }
