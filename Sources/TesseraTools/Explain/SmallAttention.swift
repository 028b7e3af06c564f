import Foundation

/// Causal softmax attention on small matrices, for `tessera explain cp`:
/// rows of Q, K and V are [heads·headWidth] at known global positions; the
/// scores are Q·Kᵀ per head with scale 1 (so integer inputs give integer
/// scores), and a query attends to the keys at its position and before.
/// Keys may arrive in blocks in any order: each block updates a running
/// max, sum and weighted sum of V per (query, head) — FlashAttention's
/// online softmax, which ring attention uses across ranks — in double.
struct SmallAttention {
    let heads: Int, headWidth: Int
    /// The queries [rows, heads·headWidth] and their global positions.
    let queries: SmallMatrix, positions: [Int]
    private var runningMax: [Double], runningSum: [Double], weighted: [Double]

    init(heads: Int, queries: SmallMatrix, positions: [Int]) {
        precondition(queries.cols % heads == 0 && positions.count == queries.rows)
        self.heads = heads
        headWidth = queries.cols / heads
        self.queries = queries
        self.positions = positions
        runningMax = Array(repeating: -.infinity, count: queries.rows * heads)
        runningSum = Array(repeating: 0, count: queries.rows * heads)
        weighted = Array(repeating: 0, count: queries.rows * queries.cols)
    }

    /// Folds in a block of keys and values [n, heads·headWidth] at global
    /// positions `keyPositions`; returns how many (query, key) scores per
    /// head the causal mask lets through.
    @discardableResult
    mutating func accumulate(keys: SmallMatrix, values: SmallMatrix, keyPositions: [Int]) -> Int {
        var visible = 0
        for i in 0..<queries.rows {
            let keysSeen = keyPositions.indices.filter { keyPositions[$0] <= positions[i] }
            visible += keysSeen.count
            for h in 0..<heads where !keysSeen.isEmpty {
                let cols = (h * headWidth)..<((h + 1) * headWidth)
                let scores = keysSeen.map { j in cols.reduce(0.0) { $0 + Double(queries[i, $1]) * Double(keys[j, $1]) } }
                let s = i * heads + h, newMax = max(runningMax[s], scores.max()!)
                let rescale = exp(runningMax[s] - newMax)
                runningSum[s] = runningSum[s] * rescale
                for c in cols { weighted[i * queries.cols + c] *= rescale }
                for (j, score) in zip(keysSeen, scores) {
                    let p = exp(score - newMax)
                    runningSum[s] += p
                    for c in cols { weighted[i * queries.cols + c] += p * Double(values[j, c]) }
                }
                runningMax[s] = newMax
            }
        }
        return visible
    }

    /// The attention output [rows, heads·headWidth]: the weighted sums over the running sums.
    var output: SmallMatrix {
        SmallMatrix(rows: queries.rows, cols: queries.cols, (0..<weighted.count).map { e in
            Float(weighted[e] / runningSum[(e / queries.cols) * heads + (e % queries.cols) / headWidth])
        })
    }

    /// The softmax's log-sum-exp per (row, head), row-major: running max + log(running sum), what a backward keeps.
    var logSumExp: [Double] { zip(runningMax, runningSum).map { $0 + log($1) } }

    /// Causal attention of all `q` rows (positions 0..<T) over all keys at once, on one rank.
    static func oneRank(_ q: SmallMatrix, _ k: SmallMatrix, _ v: SmallMatrix, heads: Int) -> SmallMatrix {
        var a = SmallAttention(heads: heads, queries: q, positions: Array(0..<q.rows))
        a.accumulate(keys: k, values: v, keyPositions: Array(0..<k.rows))
        return a.output
    }

    /// The largest |a − b| over two matrices of one shape.
    static func largestDifference(_ a: SmallMatrix, _ b: SmallMatrix) -> Float {
        zip(a.values, b.values).map { abs($0 - $1) }.max() ?? 0
    }
}
