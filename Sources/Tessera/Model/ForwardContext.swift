/// What a layer needs to know about the micro-batch it runs on: its place in
/// the global batch (for dropout coordinates) and the training step. (Which
/// rows a sequence-parallel rank holds follows from its tensor-parallel
/// group: `TensorParallel.outerRows`.)
public struct ForwardContext: Sendable {
    /// Samples in this micro-batch (rows = samples · positions).
    public var samples: Int
    /// Rows per sample held locally (the sequence length, or a shard of it).
    public var positions: Int
    /// Global index of the first sample, and which rows this rank holds.
    public var coords: RowCoordinates
    /// Optimizer step (dropout masks differ per step).
    public var step: Int
    /// Run seed.
    public var seed: UInt64
    /// Dropout probability; 0 disables every mask (evaluation or dropout off).
    public var dropout: Float

    public init(samples: Int, positions: Int, sampleOffset: Int, step: Int, seed: UInt64, dropout: Float) {
        self.samples = samples
        self.positions = positions
        self.coords = RowCoordinates(sampleOffset: sampleOffset, positions: positions)
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
