import TesseraKernels

/// What a layer needs to know about the micro-batch it runs on: its place in
/// the global batch (for dropout coordinates) and the training step. (Which
/// rows a sequence-parallel rank holds follows from its tensor-parallel
/// group: `TensorParallel.outerRows`.)
public struct ForwardContext: Sendable {
    /// Samples in this micro-batch (rows = samples · positions).
    public var samples: Int
    /// Rows per sample held locally: the sequence length, or under context
    /// parallelism this rank's 2 chunks of it (seqLen / cp).
    public var positions: Int
    /// Positions of a whole sample (the sequence length).
    public var seqLen: Int
    /// The context-parallel group, when the sequence is split over one.
    public var contextParallel: ContextParallel?
    /// Global index of the first sample, and which rows this rank holds.
    public var coords: RowCoordinates
    /// Optimizer step (dropout masks differ per step).
    public var step: Int
    /// Run seed.
    public var seed: UInt64
    /// Dropout probability; 0 disables every mask (evaluation or dropout off).
    public var dropout: Float
    /// The scale of the summed token loss whose gradient the backward pass
    /// computes (1 / global tokens; nil without backward): mixture-of-experts
    /// layers scale their auxiliary losses' gradients by it, like the token loss.
    public var lossScale: Float?
    /// Whether mixture-of-experts layers apply their capacity (training and
    /// validation); generation routes dropless, since its rows are not whole samples.
    public var expertCapacity = true

    /// A micro-batch of `samples` sequences of `positions` tokens each (the
    /// whole sequence length; a context-parallel rank holds positions / cp).
    public init(samples: Int, positions: Int, sampleOffset: Int, step: Int, seed: UInt64, dropout: Float,
                contextParallel: ContextParallel? = nil) {
        let cp = contextParallel.map { $0.size > 1 ? $0 : nil } ?? nil
        self.samples = samples
        self.seqLen = positions
        self.positions = positions / (cp?.size ?? 1)
        self.contextParallel = cp
        self.coords = RowCoordinates(sampleOffset: sampleOffset, positions: self.positions, cpRank: cp?.rank ?? 0,
                                     cpSize: cp?.size ?? 1)
        self.step = step
        self.seed = seed
        self.dropout = dropout
    }

    /// Rows of the full activation: samples · positions.
    public var rows: Int { samples * positions }

    /// The dropout site `name` for this step, or nil when dropout is off.
    public func site(_ name: String) -> DropoutSite? {
        dropout > 0 ? DropoutSite(seed: seed, name: name, step: step, p: dropout) : nil
    }
}
