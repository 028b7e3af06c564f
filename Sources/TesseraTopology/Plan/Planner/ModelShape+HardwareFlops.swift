extension ModelShape {
    /// Hardware FLOPs of one training step over `tokens` tokens: the model
    /// FLOPs (`modelFlops`) plus what `recompute` computes a second time, as
    /// Narayanan et al. (2021, §5.1) count them for hardware FLOP/s and HFU.
    /// Full recomputation runs every block's forward again (2 per block
    /// matrix parameter and attention's 4·s·h per token and layer, not the
    /// head): for a GPT their 96·B·s·L·h²·(1 + s/(6h) + V/(16·L·h)) against
    /// the model's 72·B·s·L·h²·(1 + s/(6h) + V/(12·L·h)). Selective
    /// recomputation (Korthikanti et al. 2022) runs the attention core's
    /// forward again, its two s×s products: 4·s·h per token and layer
    /// (counted whole, as `modelFlops` counts attention).
    public func hardwareFlops(tokens: Double, recompute: Recompute) -> Double {
        let attentionForward = 4 * Double(layers * seqLen * dModel)
        switch recompute {
        case .none: return modelFlops(tokens: tokens)
        case .selective: return modelFlops(tokens: tokens) + tokens * attentionForward
        case .full:
            let blocks = activeMatrixParameters - Double(vocab) * Double(dModel)
            return modelFlops(tokens: tokens) + tokens * (2 * blocks + attentionForward)
        }
    }
}
