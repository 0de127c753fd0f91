import Foundation

/// SplitMix64: a small, fast, seedable generator, so that a seed gives the same
/// split and the same initial model on every machine.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// The one Gaussian sampler: a standard normal by Box–Muller,
    /// `sqrt(-2 ln u1) · cos(2π u2)` with two 53-bit uniforms (u1 kept above 0),
    /// computed in Double. Two draws of the stream per value; the sine branch is
    /// not used, so a value depends only on its own two draws.
    public mutating func nextNormal() -> Double {
        let u1 = max(Double(next() >> 11) * 0x1p-53, .leastNonzeroMagnitude)
        let u2 = Double(next() >> 11) * 0x1p-53
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    /// `nextNormal()` rounded to Float.
    public mutating func nextGaussian() -> Float { Float(nextNormal()) }
}
