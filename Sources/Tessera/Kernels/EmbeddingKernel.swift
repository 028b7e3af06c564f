/// Token + position embedding lookup: x[b,t,:] = wte[token[b,t],:] + wpe[t0+t,:].
public enum EmbeddingKernel {
    /// x: [b·t, d]; tokens: [b·t]; wte: [vocab, d]; wpe: [maxT, d].
    /// `positionOffset` is the global position of row 0 of each sample.
    public static func forward(x: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>,
                               wte: UnsafePointer<Float>, wpe: UnsafePointer<Float>,
                               rows: Int, positions: Int, positionOffset: Int, d: Int) {
        Compute.parallelRanges(rows) { r in
            for i in r {
                let e = wte + Int(tokens[i]) * d, p = wpe + (positionOffset + i % positions) * d
                let xi = x + i * d
                for j in 0..<d { xi[j] = e[j] + p[j] }
            }
        }
    }

    /// dwte[token] += dx row; dwpe[t] += dx row. Serial in row order so the
    /// scattered sums are deterministic.
    public static func backward(dwte: UnsafeMutablePointer<Float>, dwpe: UnsafeMutablePointer<Float>,
                                dx: UnsafePointer<Float>, tokens: UnsafePointer<Int32>,
                                rows: Int, positions: Int, positionOffset: Int, d: Int) {
        for i in 0..<rows {
            let e = dwte + Int(tokens[i]) * d, p = dwpe + (positionOffset + i % positions) * d
            let di = dx + i * d
            for j in 0..<d { e[j] += di[j]; p[j] += di[j] }
        }
    }
}
