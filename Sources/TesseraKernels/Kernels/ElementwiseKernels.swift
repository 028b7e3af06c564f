/// Small vector kernels: residual add, bias, scaling, row reductions.
public enum Elementwise {
    /// y[i] = a[i] + b[i] for i < n (y may alias a or b).
    public static func add(_ y: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>,
                           _ b: UnsafePointer<Float>, n: Int) {
        Compute.parallelRanges(n) { r in for i in r { y[i] = a[i] + b[i] } }
    }

    /// y[i] += x[i] for i < n.
    public static func accumulate(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, n: Int) {
        Compute.parallelRanges(n) { r in for i in r { y[i] += x[i] } }
    }

    /// y[i] *= s for i < n.
    public static func scale(_ y: UnsafeMutablePointer<Float>, by s: Float, n: Int) {
        Compute.parallelRanges(n) { r in for i in r { y[i] *= s } }
    }

    /// y[r, j] += bias[j] for an [rows, c] matrix.
    public static func addBias(_ y: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, rows: Int, c: Int) {
        Compute.parallelRanges(rows) { r in
            for i in r { let yi = y + i * c; for j in 0..<c { yi[j] += bias[j] } }
        }
    }

    /// db[j] += Σ_r dy[r, j] for an [rows, c] matrix (rows summed in order).
    public static func sumRows(into db: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, rows: Int, c: Int) {
        Compute.parallelRanges(c) { cols in
            for i in 0..<rows {
                let di = dy + i * c
                for j in cols { db[j] += di[j] }
            }
        }
    }

    /// Σ x[i]² in double precision (for gradient norms).
    public static func sumOfSquares(_ x: UnsafePointer<Float>, n: Int) -> Double {
        var total: Double = 0
        var i = 0
        while i < n {
            let end = min(n, i + 4096)
            total += Double(Vector.dot(x + i, x + i, end - i))
            i = end
        }
        return total
    }
}
