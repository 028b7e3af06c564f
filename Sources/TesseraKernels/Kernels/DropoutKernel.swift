/// Where a dropout mask lives in the global coordinates of a training step.
///
/// An element is kept when the Philox word at counter
/// (feature/4, position, sample, step), lane feature mod 4, keyed by
/// (seed, site), maps to a uniform u ≥ p; kept elements are scaled by
/// 1/(1−p). Sample is the index in the *global* batch, position the token
/// position in the full sequence, feature the index in the full (unsharded)
/// feature dimension, so every layout draws the serial run's mask.
public struct DropoutSite: Sendable {
    /// Generator keyed by (seed, site name).
    public let rng: Philox
    /// Optimizer step the mask belongs to.
    public let step: Int
    /// Drop probability in [0, 1).
    public let p: Float

    /// A site named `name` (e.g. "h.3.attn.resid") at `step`.
    public init(seed: UInt64, name: String, step: Int, p: Float) {
        rng = Philox(seed: seed, stream: "dropout/" + name)
        self.step = step
        self.p = p
    }

    /// Multiplies row[0..<count] (features featureBase...) by the mask.
    @inline(__always)
    public func applyRow(_ row: UnsafeMutablePointer<Float>, count: Int, featureBase: Int,
                         position: Int, sample: Int) {
        let scale = 1 / (1 - p)
        let c1 = UInt32(truncatingIfNeeded: position), c2 = UInt32(truncatingIfNeeded: sample)
        let c3 = UInt32(truncatingIfNeeded: step)
        var j = 0
        while j < count {
            let g = featureBase + j
            let b = rng.block(UInt32(truncatingIfNeeded: g >> 2), c1, c2, c3)
            var lane = g & 3
            while lane < 4 && j < count {
                row[j] = Philox.unit(Philox.lane(b, lane)) >= p ? row[j] * scale : 0
                lane += 1
                j += 1
            }
        }
    }
}

/// Which global (sample, position) each row of an activation [rows, features]
/// holds: rows are sample-major, `positions` consecutive rows per sample.
/// A sequence-parallel shard holds a contiguous slice of those rows starting
/// at `rowOffset`, so local row i is row `rowOffset + i` of the full layout.
/// A context-parallel rank holds `positions` = 2c of each sample's positions,
/// its two chunks (`ContextParallel.chunks`): local position q < c is global
/// cpRank·c + q, the others (2·cpSize − 1 − cpRank)·c + q − c.
public struct RowCoordinates: Sendable {
    /// Global index of the first sample.
    public var sampleOffset: Int
    /// Rows per sample held by this (context-parallel) rank.
    public var positions: Int
    /// Index of local row 0 in the full sample-major row layout.
    public var rowOffset: Int
    /// Context-parallel rank and group size (0 and 1 without context parallelism).
    public var cpRank: Int, cpSize: Int

    public init(sampleOffset: Int, positions: Int, rowOffset: Int = 0, cpRank: Int = 0, cpSize: Int = 1) {
        self.sampleOffset = sampleOffset
        self.positions = positions
        self.rowOffset = rowOffset
        self.cpRank = cpRank
        self.cpSize = cpSize
    }

    /// Global sample of local row `i`.
    @inline(__always) public func sample(_ i: Int) -> Int { sampleOffset + (rowOffset + i) / positions }
    /// Global position of local row `i`.
    @inline(__always) public func position(_ i: Int) -> Int {
        let local = (rowOffset + i) % positions
        guard cpSize > 1 else { return local }
        let c = positions / 2
        return local < c ? cpRank * c + local : (2 * cpSize - 1 - cpRank) * c + local - c
    }
}

/// In-place dropout of an [rows, c] activation whose columns are global
/// features featureBase ..< featureBase + c. The same call on the gradient
/// is the backward (the mask is regenerated, never stored).
public enum DropoutKernel {
    public static func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, c: Int, featureBase: Int,
                             coords: RowCoordinates, site: DropoutSite) {
        if site.p == 0 { return }
        Compute.parallelRanges(rows) { r in
            for i in r {
                site.applyRow(x + i * c, count: c, featureBase: featureBase,
                              position: coords.position(i), sample: coords.sample(i))
            }
        }
    }
}
