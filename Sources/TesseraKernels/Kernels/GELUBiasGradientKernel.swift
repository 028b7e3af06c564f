extension GELUKernel {
    /// The GELU backward and the gradient of the bias before it, in one
    /// pass: dx = dy · GELU'(x) (dx may alias dy) and db[j] += Σ_r dx[r, j].
    /// Columns are split across the kernel threads (in blocks of 16) and
    /// each thread walks all rows in order, so db sums the rows in the order
    /// `Elementwise.sumRows` does and dx is the same lane-wise expression as
    /// `backward(dx:dy:x:n:)`: bitwise equal to those two passes, with the
    /// gradient read once instead of twice. x, dy, dx: [rows, c]; db: [c].
    public static func backward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                                rows: Int, c: Int, addingColumnSumsTo db: UnsafeMutablePointer<Float>) {
        Compute.parallelRanges((c + 15) / 16) { blocks in
            let lo = blocks.lowerBound * 16, hi = Swift.min(c, blocks.upperBound * 16)
            for i in 0..<rows {
                let dyi = dy + i * c, xi = x + i * c, dxi = dx + i * c
                var j = lo
                while j + 16 <= hi {
                    let g = load(dyi + j) * derivative(load(xi + j))
                    store(g, dxi + j)
                    store(load(db + j) + g, db + j)
                    j += 16
                }
                if j < hi {
                    var v = Float16x(); for k in 0..<(hi - j) { v[k] = xi[j + k] }
                    let r = derivative(v)
                    for k in 0..<(hi - j) { let g = dyi[j + k] * r[k]; dxi[j + k] = g; db[j + k] += g }
                }
            }
        }
    }
}
