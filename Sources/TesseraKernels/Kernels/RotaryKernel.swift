import Foundation

/// Rotary position embeddings (Su et al. 2021) in Hugging Face's
/// rotate-half convention: a head vector x of width hd is split in halves
/// (x₁, x₂) and, at position p with angles θᵢ = p · base^(−2i/hd),
/// y₁ = x₁·cos θ − x₂·sin θ, y₂ = x₂·cos θ + x₁·sin θ.
///
/// The inverse frequencies and the angle p·θᵢ are float32 as in
/// `LlamaRotaryEmbedding` (the cosine and sine then rounded from Double).
/// Positions are each row's *global* position in its sequence, so a row
/// rotates the same whichever rank holds it (context-parallel chunks, the
/// KV cache's later tokens).
public enum RotaryKernel {
    /// base^(−2i/hd) for i in 0..<hd/2, float32.
    public static func inverseFrequencies(headDim hd: Int, base: Float) -> [Float] {
        (0..<hd / 2).map { i in 1 / Float(pow(Double(base), Double(Float(2 * i) / Float(hd)))) }
    }

    /// cos and sin tables [rows, hd/2] for the rows' positions.
    public static func tables(positions: [Int], inverseFrequencies inv: [Float]) -> (cos: [Float], sin: [Float]) {
        let half = inv.count
        var c = [Float](repeating: 0, count: positions.count * half), s = c
        for (r, p) in positions.enumerated() {
            for i in 0..<half {
                let angle = Float(p) * inv[i]
                c[r * half + i] = Float(Foundation.cos(Double(angle)))
                s[r * half + i] = Float(Foundation.sin(Double(angle)))
            }
        }
        return (c, s)
    }

    /// Rotates, in place, `heads` head vectors of width hd in each of `rows`
    /// rows of x (row stride `stride`, first head at column `column`).
    /// `inverse` applies the transposed rotation (the backward: θ → −θ).
    public static func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, stride: Int, column: Int, heads: Int,
                             headDim hd: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, inverse: Bool) {
        let half = hd / 2, sign: Float = inverse ? -1 : 1
        Compute.parallelRanges(rows) { range in
            for r in range {
                let c = cos + r * half, s = sin + r * half
                for h in 0..<heads {
                    let v = x + r * stride + column + h * hd
                    for i in 0..<half {
                        let a = v[i], b = v[i + half], si = sign * s[i]
                        v[i] = a * c[i] - b * si
                        v[i + half] = b * c[i] + a * si
                    }
                }
            }
        }
    }
}
