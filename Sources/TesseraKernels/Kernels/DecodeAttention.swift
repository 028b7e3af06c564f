/// Attention of one query row over `count` cached keys and values: the
/// decode step's attention, where a matrix product would have one row.
///
///     s_j = scale · q·k_j          j < count
///     y   = Σ_j e^(s_j − max s)·v_j / Σ_j e^(s_j − max s)
///
/// Two passes over the cache, each a 16-lane loop over a key's hd floats:
/// the scores (kept in `scores`, count floats), then the weighted sum of the
/// values accumulated in y. Nothing is allocated; keys and values are rows
/// at stride `ld` (`CachedAttention` passes one head's contiguous
/// [positions, hd] run of the head-major `KVCache`, ld = hd).
public enum DecodeAttention {
    /// y [hd] ← softmax(scale · q·Kᵀ)·V for q [hd], K and V [count, hd] at row stride ld.
    /// `scores` holds `count` floats of scratch (count ≥ 1).
    public static func row(q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, ld: Int,
                           count: Int, headDim hd: Int, scale: Float, scores: UnsafeMutablePointer<Float>,
                           y: UnsafeMutablePointer<Float>) {
        for j in 0..<count { scores[j] = scale * Vector.dot(q, keys + j * ld, hd) }
        let sum = Vector.expShiftSum(scores, count, shift: Vector.max(scores, count))
        y.update(repeating: 0, count: hd)
        for j in 0..<count { Vector.addScaled(y, values + j * ld, hd, by: scores[j]) }
        Vector.scale(y, hd, by: 1 / sum)
    }
}
