extension DecodeAttention {
    /// `row` over keys and values split into fixed-size blocks (a paged KV
    /// cache): key j is row j % blockSize of block `table[j / blockSize]`,
    /// whose keys and values are [blockSize, hd] runs at `keys(block)` and
    /// `values(block)`. The scores are written to `scores` in key order, the
    /// softmax runs over them whole and the values are accumulated in key
    /// order, so the result is bitwise the contiguous `row`'s on the same
    /// keys (each score is the same dot product; no online rescaling).
    /// `scores` holds `count` floats of scratch (count ≥ 1).
    package static func pagedRow(q: UnsafePointer<Float>, table: [Int], blockSize: Int,
                         keys: (Int) -> UnsafePointer<Float>, values: (Int) -> UnsafePointer<Float>,
                         count: Int, headDim hd: Int, scale: Float, scores: UnsafeMutablePointer<Float>,
                         y: UnsafeMutablePointer<Float>) {
        var j = 0
        while j < count {
            let k = keys(table[j / blockSize]), run = min(count - j, blockSize)
            for r in 0..<run { scores[j + r] = scale * Vector.dot(q, k + r * hd, hd) }
            j += run
        }
        let sum = Vector.expShiftSum(scores, count, shift: Vector.max(scores, count))
        y.update(repeating: 0, count: hd)
        j = 0
        while j < count {
            let v = values(table[j / blockSize]), run = min(count - j, blockSize)
            for r in 0..<run { Vector.addScaled(y, v + r * hd, hd, by: scores[j + r]) }
            j += run
        }
        Vector.scale(y, hd, by: 1 / sum)
    }
}
