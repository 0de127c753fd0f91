import EmbeddingCore

/// A raw buffer address handed to the workers of a parallel loop. Every use
/// partitions the buffer so that no two workers write the same element; the
/// type only silences the Sendable check, it adds no safety.
struct SharedBuffer<Element>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Element>
    init(_ base: UnsafeMutablePointer<Element>) { self.base = base }
    init(_ buffer: UnsafeMutableBufferPointer<Element>) { base = buffer.baseAddress! }
    @inline(__always) subscript(i: Int) -> Element {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }
}

/// Deterministic randomness addressed by coordinates rather than drawn in
/// sequence: `hash(seed, a, b)` is the same whichever thread asks, so a
/// computation split across threads draws the same numbers as a serial one.
enum CounterHash {
    /// SplitMix64's finaliser over a combination of the three words.
    @inline(__always)
    static func hash(_ seed: UInt64, _ a: UInt64, _ b: UInt64 = 0) -> UInt64 {
        var z = seed &+ a &* 0x9E37_79B9_7F4A_7C15 &+ b &* 0xD1B5_4A32_D192_ED03
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 random bits.
    @inline(__always)
    static func unit(_ seed: UInt64, _ a: UInt64, _ b: UInt64 = 0) -> Float {
        Float(hash(seed, a, b) >> 40) * 0x1p-24
    }
}

/// A small fast generator for inner loops (xorshift64*), seeded per stream
/// from `CounterHash` so streams are independent of the thread that runs them.
struct XorShiftStar {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

    @inline(__always)
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    /// Uniform in `0..<n` by Lemire's multiply-shift (bias below 2⁻³²·n).
    @inline(__always)
    mutating func below(_ n: Int) -> Int {
        Int((UInt64(UInt32(truncatingIfNeeded: next() >> 32)) &* UInt64(n)) >> 32)
    }
}
