/// The pipeline schedules Tessera generates (`--schedule`), by name.
public enum PipelineScheduleKind: String, CaseIterable, Sendable, Codable {
    /// The whole batch as one micro-batch through the stages in turn (layer-wise model parallelism).
    case naive
    /// All forwards, then all backwards (GPipe).
    case gpipe
    /// One forward, one backward in the steady state (PipeDream-flush / Megatron's default).
    case oneFOneB = "1f1b"
    /// 1F1B over several virtual stages per rank (Megatron's interleaved schedule; needs pp-chunks).
    case interleaved
    /// Zero-bubble H1: backward split into input and weight gradients, W filling the bubble.
    case zeroBubbleH1 = "zb-h1"

    /// Whether the schedule runs several virtual stages (chunks) per rank.
    public var takesChunks: Bool { self == .interleaved }
}
