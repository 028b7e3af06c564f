import TesseraSupport

/// Which blocks each pipeline stage holds.
public enum PipelinePartition {
    /// Blocks of each virtual stage 0 ..< pp·chunks, contiguous and in order:
    /// `pp-layers` when given, else balanced by cost: each block costs
    /// 24d² + 4Td FLOPs per token forward, and the last stage also carries
    /// the head, 2·V·d, so it may get fewer blocks. Throws a `ConfigError`
    /// for an impossible split, naming what is valid. (The schedule itself is
    /// checked by `Layout.validateSchedule`.)
    public static func stages(_ c: Layout, model: some TransformerSizes) throws -> [Range<Int>] {
        let n = c.pp * c.ppChunks, L = model.layers
        if let counts = c.ppLayers {
            guard counts.count == n, counts.allSatisfy({ $0 >= 1 }), counts.reduce(0, +) == L else {
                throw ConfigError("pp-layers \(counts.map(String.init).joined(separator: ",")) must list \(n) positive "
                                  + "block counts (pp \(c.pp) × chunks \(c.ppChunks)) summing to layers \(L)")
            }
            var start = 0
            return counts.map { k in defer { start += k }; return start..<(start + k) }
        }
        guard L >= n else {
            let valid = (1...max(1, L)).filter { L >= $0 * c.ppChunks }.map(String.init).joined(separator: ", ")
            throw ConfigError("pp \(c.pp) × chunks \(c.ppChunks) = \(n) stages need at least \(n) layers, the model has "
                              + "\(L); valid pp for \(L) layers: \(valid)")
        }
        let d = Double(model.dModel)
        let block = 24 * d * d + 4 * Double(model.seqLen) * d, head = 2 * Double(model.vocab) * d
        // Smallest achievable maximum stage cost, by trying every count for the last stage; the other
        // stages share the rest evenly (the first ones one block more), so the largest of them holds
        // ⌈rest / others⌉. O(layers) arithmetic, no arrays: the planner calls this for every layout it
        // searches, at up to 100,000 layers.
        let others = n - 1
        var bestLast = 0, bestCost = Double.infinity
        for last in 1...(L - n + 1) {
            let rest = L - last
            if others == 0 && rest > 0 { continue }
            let largestOther = others == 0 ? 0 : rest / others + (rest % others > 0 ? 1 : 0)
            let cost = max(Double(largestOther) * block, Double(last) * block + head)
            if cost < bestCost - 1e-9 { bestCost = cost; bestLast = last }
        }
        let rest = L - bestLast
        let counts = (others == 0 ? [] : (0..<others).map { rest / others + ($0 < rest % others ? 1 : 0) }) + [bestLast]
        var start = 0
        return counts.map { k in defer { start += k }; return start..<(start + k) }
    }
}

/// The sizes of a decoder-only transformer that the pipeline partition reads:
/// the runtime's `GPTConfig` and the planner's `ModelShape` both have them.
public protocol TransformerSizes {
    /// Transformer blocks.
    var layers: Int { get }
    /// Width of the residual stream.
    var dModel: Int { get }
    /// Positions per sequence.
    var seqLen: Int { get }
    /// Vocabulary size.
    var vocab: Int { get }
}

extension GPTConfig: TransformerSizes {}
extension ModelShape: TransformerSizes {}
