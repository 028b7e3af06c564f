/// What a layer needs to know about the micro-batch it runs on: its place in
/// the global batch (for dropout coordinates), the training step, and which
/// slice of the rows this rank holds outside the tensor-parallel region
/// under sequence parallelism.
public struct ForwardContext: Sendable {
    /// Samples in this micro-batch (rows = samples · positions).
    public var samples: Int
    /// Rows per sample held locally (the sequence length, or a shard of it).
    public var positions: Int
    /// Global index of the first sample; global position of the first local row.
    public var coords: RowCoordinates
    /// Optimizer step (dropout masks differ per step).
    public var step: Int
    /// Run seed.
    public var seed: UInt64
    /// Dropout probability; 0 disables every mask (evaluation or dropout off).
    public var dropout: Float
    /// Sequence-parallel shard of this rank and the number of shards (the
    /// tensor-parallel size under `--sp`, else 1). The full rows split into
    /// `shards` contiguous chunks; LayerNorm, dropout and residuals run on
    /// chunk `shard`.
    public var shard = 0, shards = 1

    public init(samples: Int, positions: Int, sampleOffset: Int, positionOffset: Int = 0,
                step: Int, seed: UInt64, dropout: Float) {
        self.samples = samples
        self.positions = positions
        self.coords = RowCoordinates(sampleOffset: sampleOffset, positionOffset: positionOffset,
                                     positions: positions)
        self.step = step
        self.seed = seed
        self.dropout = dropout
    }

    /// Rows of the full activation: samples · positions.
    public var rows: Int { samples * positions }

    /// Rows held outside the tensor-parallel region: rows / shards.
    public var localRows: Int { rows / shards }

    /// Coordinates of the rows held outside the tensor-parallel region.
    public var localCoords: RowCoordinates {
        var c = coords
        c.rowOffset = shard * localRows
        return c
    }

    /// The dropout site `name` for this step, or nil when dropout is off.
    public func site(_ name: String) -> DropoutSite? {
        dropout > 0 ? DropoutSite(seed: seed, name: name, step: step, p: dropout) : nil
    }
}
