/// One thing a rank did, as its recorder keeps it: a compute region (layer
/// forward/backward, optimizer, gradient sync, step), a collective or
/// point-to-point operation, the wait on a started collective, or a pipeline
/// action. Times are nanoseconds on the rank's monotonic clock
/// (`TraceRecorder.now`); the merged trace shifts them to rank 0's clock.
public struct TraceEvent: Sendable, Codable, Equatable {
    /// What kind of thing it was.
    public enum Kind: UInt8, Sendable, Codable {
        /// A compute region (`TraceRegion`): `name` is the region, `detail` the layer ("h.0.attn").
        case region
        /// A collective or point-to-point operation on group `detail`: `name` is the operation.
        case comm
        /// Waiting for a collective started earlier (the exposed part of an overlapped all-reduce).
        case wait
        /// A pipeline compute action: `name` F, B or W; `microBatch` and `stage` set.
        case pipeline
    }

    public var kind: Kind
    public var name: String
    /// Layer name (regions) or group name (comm, wait).
    public var detail: String
    public var start: UInt64, end: UInt64
    /// Bytes of the operation's full buffer (nccl-tests' S: all-reduce input,
    /// all-gather output, reduce-scatter input, all-to-all receive, the message of a send/recv).
    public var bytes = 0
    /// Comm: the operation's index among this group's collectives on this rank
    /// (the same on every member, so members' records of one collective match);
    /// steps: the step index.
    public var sequence = 0
    /// Comm: this rank's index in the group and the group's size.
    public var groupRank = 0, groupSize = 1
    /// Point-to-point: the other side's group rank and the tag (-1 otherwise).
    public var peer = -1, tag = -1
    /// Pipeline actions: micro-batch and (virtual) stage.
    public var microBatch = -1, stage = -1
    /// Comm: started without waiting (`startAllReduce`); it ends when waited for.
    public var async = false

    public init(kind: Kind, name: String, detail: String = "", start: UInt64, end: UInt64) {
        self.kind = kind; self.name = name; self.detail = detail; self.start = start; self.end = end
    }

    /// Seconds from start to end.
    public var seconds: Double { Double(end &- start) / 1e9 }
}

/// The compute regions layers and the trainer mark (`Trace.begin`).
public enum TraceRegion: String, Sendable, CaseIterable {
    case step = "step"
    case embeddingForward = "embedding forward", embeddingBackward = "embedding backward"
    case blockForward = "block forward", blockBackward = "block backward"
    case attentionForward = "attention forward", attentionBackward = "attention backward"
    case mlpForward = "MLP forward", mlpBackward = "MLP backward"
    case headForward = "head forward", loss = "loss", headBackward = "head backward"
    case gradientSync = "gradient sync", optimizer = "optimizer", evaluation = "evaluation"
}
