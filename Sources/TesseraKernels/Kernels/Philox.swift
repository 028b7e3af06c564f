import Foundation

/// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
/// 3", SC 2011): a counter-based generator. Output is a pure function of a
/// 128-bit counter and a 64-bit key, so any shard of any layout can draw
/// exactly the numbers the one-rank run draws for the same global
/// coordinates, in any order, without generating the rest.
public struct Philox: Sendable, Equatable {
    /// The 64-bit key as two 32-bit words.
    public let key: (UInt32, UInt32)

    public static func == (l: Philox, r: Philox) -> Bool { l.key == r.key }

    /// A generator with the given key words.
    public init(key0: UInt32, key1: UInt32) { key = (key0, key1) }

    /// A generator whose key mixes `seed` with a stream name (a parameter name,
    /// a dropout site, "data"): distinct names give independent streams.
    public init(seed: UInt64, stream: String) {
        let k = splitMix64(seed ^ fnv1a64(stream))
        key = (UInt32(truncatingIfNeeded: k), UInt32(truncatingIfNeeded: k >> 32))
    }

    /// Ten Philox rounds on `counter`: four independent 32-bit outputs.
    @inline(__always)
    public func block(_ c0: UInt32, _ c1: UInt32, _ c2: UInt32, _ c3: UInt32)
        -> (UInt32, UInt32, UInt32, UInt32) {
        var (x0, x1, x2, x3) = (c0, c1, c2, c3)
        var (k0, k1) = key
        for round in 0..<10 {
            if round > 0 { k0 &+= 0x9E37_79B9; k1 &+= 0xBB67_AE85 }
            let p0 = UInt64(0xD251_1F53) &* UInt64(x0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(x2)
            (x0, x1, x2, x3) = (UInt32(truncatingIfNeeded: p1 >> 32) ^ x1 ^ k0, UInt32(truncatingIfNeeded: p1),
                                UInt32(truncatingIfNeeded: p0 >> 32) ^ x3 ^ k1, UInt32(truncatingIfNeeded: p0))
        }
        return (x0, x1, x2, x3)
    }

    /// Word `lane & 3` of a block, for callers that draw one number per element.
    @inline(__always)
    public static func lane(_ b: (UInt32, UInt32, UInt32, UInt32), _ lane: Int) -> UInt32 {
        switch lane & 3 {
        case 0: return b.0
        case 1: return b.1
        case 2: return b.2
        default: return b.3
        }
    }

    /// Uniform in [0, 1) with 24 random bits, from one 32-bit word.
    @inline(__always)
    public static func unit(_ w: UInt32) -> Float { Float(w >> 8) * 0x1p-24 }

    /// Element `index` of a standard-normal sequence: Box–Muller on the first
    /// two words of block (index/2), cosine branch for even indices and sine
    /// for odd. Computed in double so the float result is correctly rounded
    /// up to libm's accuracy, identical on every rank.
    public func normal(_ index: Int) -> Float {
        let pair = UInt64(index / 2)
        let b = block(UInt32(truncatingIfNeeded: pair), UInt32(truncatingIfNeeded: pair >> 32), 0, 0)
        let u1 = (Double(b.0 >> 8) + 1) * 0x1p-24  // (0, 1]: log is finite
        let u2 = Double(b.1 >> 8) * 0x1p-24
        let r = (-2 * Foundation.log(u1)).squareRoot()
        let angle = 2 * Double.pi * u2
        return Float(index % 2 == 0 ? r * Foundation.cos(angle) : r * Foundation.sin(angle))
    }
}

/// FNV-1a 64-bit hash of a string's UTF-8 bytes (stable across runs and
/// platforms, unlike `Hasher`).
public func fnv1a64(_ s: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in s.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return h
}

/// SplitMix64 finaliser: a bijective mix of 64 bits.
public func splitMix64(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
