/// Token and position embedding: x[i,:] = wte[token_i,:] + wpe[position_i,:],
/// in two halves so a vocab-parallel embedding can reduce the token part
/// across the tensor-parallel group before the positions are added.
public enum EmbeddingKernel {
    /// x [rows, d] ← wte rows of `tokens` [rows]; this rank holds vocabulary
    /// rows `vocab` of the table (wte [vocab.count, d]), and a token outside
    /// them gives a zero row (another rank supplies it).
    public static func lookup(x: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>,
                              wte: UnsafePointer<Float>, rows: Int, d: Int, vocab: Range<Int>) {
        Compute.parallelRanges(rows) { r in
            for i in r {
                let t = Int(tokens[i]), xi = x + i * d
                if vocab.contains(t) { xi.update(from: wte + (t - vocab.lowerBound) * d, count: d) }
                else { xi.update(repeating: 0, count: d) }
            }
        }
    }

    /// x [rows, d] += wpe row of each row's global position (from `coords`).
    public static func addPositions(x: UnsafeMutablePointer<Float>, wpe: UnsafePointer<Float>, rows: Int, d: Int,
                                    coords: RowCoordinates) {
        Compute.parallelRanges(rows) { r in
            for i in r {
                let p = wpe + coords.position(i) * d, xi = x + i * d
                for j in 0..<d { xi[j] += p[j] }
            }
        }
    }

    /// dwte[token − vocab.lowerBound] += dx row for tokens in `vocab`. Serial
    /// in row order so the scattered sums are deterministic.
    public static func backwardTokens(dwte: UnsafeMutablePointer<Float>, dx: UnsafePointer<Float>,
                                      tokens: UnsafePointer<Int32>, rows: Int, d: Int, vocab: Range<Int>) {
        for i in 0..<rows {
            let t = Int(tokens[i])
            guard vocab.contains(t) else { continue }
            let e = dwte + (t - vocab.lowerBound) * d, di = dx + i * d
            for j in 0..<d { e[j] += di[j] }
        }
    }

    /// dwpe[position_i] += dx row i, serially in row order.
    public static func backwardPositions(dwpe: UnsafeMutablePointer<Float>, dx: UnsafePointer<Float>, rows: Int,
                                         d: Int, coords: RowCoordinates) {
        for i in 0..<rows {
            let p = dwpe + coords.position(i) * d, di = dx + i * d
            for j in 0..<d { p[j] += di[j] }
        }
    }
}
