import TesseraSupport

/// The generators of every pipeline schedule Tessera runs. Each builds the
/// per-rank order of compute actions; `withCommunication` then puts a receive
/// before each compute action that needs a neighbour's data and a send after
/// each that produces it.
public enum PipelineSchedules {
    /// The schedule `kind` for p ranks, m micro-batches and V chunks per rank.
    public static func make(_ kind: PipelineScheduleKind, ranks p: Int, microBatches m: Int, chunks v: Int = 1) throws -> PipelineSchedule {
        guard p >= 1, m >= 1, v >= 1 else {
            throw ConfigError("a pipeline needs ranks, micro-batches and chunks ≥ 1, got \(p), \(m), \(v)")
        }
        if !kind.takesChunks && v != 1 {
            throw ConfigError("pp-chunks \(v) needs schedule interleaved (\(kind.rawValue) runs one chunk per rank)")
        }
        let compute: [[PipelineAction]]
        switch kind {
        case .naive: compute = gpipe(p, 1)
        case .gpipe: compute = gpipe(p, m)
        case .oneFOneB: compute = oneFOneB(p, m)
        case .interleaved:
            guard m % p == 0 else {
                throw ConfigError("interleaved needs micro-batches divisible by pp (Megatron's rule): m \(m), pp \(p); "
                                  + "nearest valid m: \(max(p, m / p * p)), \((m / p + 1) * p)")
            }
            compute = interleaved(p, m, v)
        case .zeroBubbleH1: compute = zeroBubbleH1(p, m)
        }
        return PipelineSchedule(name: kind.rawValue, ranks: p, microBatches: kind == .naive ? 1 : m, chunks: v,
                                splitBackward: kind == .zeroBubbleH1,
                                actions: withCommunication(compute, ranks: p, stages: p * v))
    }

    /// All forwards, then all backwards (GPipe; naive is GPipe with one micro-batch).
    static func gpipe(_ p: Int, _ m: Int) -> [[PipelineAction]] {
        (0..<p).map { r in
            (0..<m).map { PipelineAction(.forward, microBatch: $0, stage: r) }
                + (0..<m).map { PipelineAction(.backward, microBatch: $0, stage: r) }
        }
    }

    /// 1F1B (PipeDream-flush): p−r−1 warm-up forwards, then one forward and
    /// one backward alternately, then the remaining backwards.
    static func oneFOneB(_ p: Int, _ m: Int) -> [[PipelineAction]] {
        (0..<p).map { r in
            let warmup = min(p - r - 1, m)
            var out = (0..<warmup).map { PipelineAction(.forward, microBatch: $0, stage: r) }
            var f = warmup, b = 0
            while b < m {
                if f < m { out.append(PipelineAction(.forward, microBatch: f, stage: r)); f += 1 }
                out.append(PipelineAction(.backward, microBatch: b, stage: r)); b += 1
            }
            return out
        }
    }

    /// Interleaved 1F1B (Megatron): V chunks per rank; the k-th forward is
    /// micro-batch (k / pV)·p + k mod p on chunk (k / p) mod V; backwards walk
    /// the chunks in reverse. Warm-up: (p − r − 1)·2 + (V − 1)·p forwards.
    static func interleaved(_ p: Int, _ m: Int, _ v: Int) -> [[PipelineAction]] {
        let total = m * v
        func action(_ kind: PipelineAction.Kind, _ k: Int, rank r: Int) -> PipelineAction {
            let chunk = (k / p) % v
            let mb = (k / (p * v)) * p + k % p
            return PipelineAction(kind, microBatch: mb, stage: (kind == .forward ? chunk : v - 1 - chunk) * p + r)
        }
        return (0..<p).map { r in
            let warmup = min((p - r - 1) * 2 + (v - 1) * p, total)
            var out = (0..<warmup).map { action(.forward, $0, rank: r) }
            var f = warmup, b = 0
            while b < total {
                if f < total { out.append(action(.forward, f, rank: r)); f += 1 }
                out.append(action(.backward, b, rank: r)); b += 1
            }
            return out
        }
    }

    /// ZB-H1 (Qi et al. 2023): 1F1B's forwards and input-gradient backwards
    /// (B), with the weight gradients (W) deferred. Rank r keeps r W's
    /// outstanding (a W follows a B only when more than r are pending) and
    /// runs them after its last B: the later a stage, the longer its idle
    /// tail in 1F1B, and the more W's it defers into it; rank 0 fills the
    /// waits of its cool-down with W's at once. A rank holds at most p
    /// micro-batches' activations (f − w ≤ (p − r) + r), 1F1B's peak.
    static func zeroBubbleH1(_ p: Int, _ m: Int) -> [[PipelineAction]] {
        (0..<p).map { r in
            let warmup = min(p - r - 1, m)
            var out = (0..<warmup).map { PipelineAction(.forward, microBatch: $0, stage: r) }
            var f = warmup, b = 0, w = 0
            while b < m {
                if f < m { out.append(PipelineAction(.forward, microBatch: f, stage: r)); f += 1 }
                out.append(PipelineAction(.backward, microBatch: b, stage: r)); b += 1
                if b - w > r { out.append(PipelineAction(.weight, microBatch: w, stage: r)); w += 1 }
            }
            while w < m { out.append(PipelineAction(.weight, microBatch: w, stage: r)); w += 1 }
            return out
        }
    }

    /// Inserts the point-to-point actions around the compute actions.
    static func withCommunication(_ compute: [[PipelineAction]], ranks p: Int, stages: Int) -> [[PipelineAction]] {
        compute.map { list in
            list.flatMap { a -> [PipelineAction] in
                switch a.kind {
                case .forward:
                    return (a.stage > 0 ? [PipelineAction(.recvActivation, microBatch: a.microBatch, stage: a.stage)] : [])
                        + [a]
                        + (a.stage < stages - 1 ? [PipelineAction(.sendActivation, microBatch: a.microBatch, stage: a.stage)] : [])
                case .backward:
                    return (a.stage < stages - 1 ? [PipelineAction(.recvGradient, microBatch: a.microBatch, stage: a.stage)] : [])
                        + [a]
                        + (a.stage > 0 ? [PipelineAction(.sendGradient, microBatch: a.microBatch, stage: a.stage)] : [])
                default:
                    return [a]
                }
            }
        }
    }
}
