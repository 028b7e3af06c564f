/// One step of a pipeline rank's program: compute on a micro-batch, or move
/// its activation or gradient between neighbouring stages.
///
/// `stage` is the *virtual* stage (0 ..< ranks·chunks): with interleaving,
/// rank r holds the chunks c = 0 ..< V of virtual stages c·p + r (Megatron's
/// assignment), so activations flow rank 0 → 1 → … → p−1 → 0 (next chunk) → ….
public struct PipelineAction: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// Forward of the stage.
        case forward = "F"
        /// Backward: input gradient, plus the weight gradient unless the
        /// schedule splits it off into `weight` (zero-bubble).
        case backward = "B"
        /// Weight gradient only (zero-bubble's deferred W).
        case weight = "W"
        /// Send the stage's output activation to the next stage / receive it from the previous.
        case sendActivation = "sendF", recvActivation = "recvF"
        /// Send the input gradient to the previous stage / receive the output gradient from the next.
        case sendGradient = "sendB", recvGradient = "recvB"
    }

    public var kind: Kind
    public var microBatch: Int
    public var stage: Int

    public init(_ kind: Kind, microBatch: Int, stage: Int) {
        self.kind = kind; self.microBatch = microBatch; self.stage = stage
    }

    /// Whether the action computes (F, B, W) rather than communicates.
    public var isCompute: Bool { kind == .forward || kind == .backward || kind == .weight }

    /// "F3", "B3", "W3" (with the virtual stage when chunks > 1: "F3.1"); "sendF3" etc.
    public var description: String { "\(kind.rawValue)\(microBatch)" }
}

/// A pipeline schedule as data: each rank's ordered list of actions. The
/// executor runs it, the simulator times it, the renderer draws it, the
/// checker proves it complete and deadlock-free.
public struct PipelineSchedule: Sendable {
    /// Which generator made it: naive, gpipe, 1f1b, interleaved, zb-h1.
    public var name: String
    /// Pipeline ranks p.
    public var ranks: Int
    /// Micro-batches m per step.
    public var microBatches: Int
    /// Virtual stages per rank V (1 unless interleaved).
    public var chunks: Int
    /// Whether backward is split into B (input gradient) and W (weight gradient).
    public var splitBackward: Bool
    /// actions[r]: rank r's program.
    public var actions: [[PipelineAction]]

    /// Virtual stages p·V.
    public var stages: Int { ranks * chunks }
    /// The rank holding virtual stage s.
    public func rank(of stage: Int) -> Int { stage % ranks }
    /// Message tag of the activation (or, with `gradient`, the input
    /// gradient) leaving `stage` for micro-batch `mb`: unique per message of
    /// a step, at most 2·stages·microBatches − 1 (`PipelineSchedules.make`
    /// keeps that within `MessageTag.max`).
    public func tag(_ stage: Int, _ mb: Int, gradient: Bool) -> Int { 2 * (stage * microBatches + mb) + (gradient ? 1 : 0) }
}
