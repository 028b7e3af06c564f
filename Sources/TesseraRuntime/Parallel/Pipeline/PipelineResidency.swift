import TesseraTopology

/// Where a pipeline rank's stage modules keep their parameters between the
/// schedule's compute actions, told by `PipelineExecutor` around each
/// forward (F), backward (B) and weight-gradient (W) action. The unit is a
/// whole virtual stage (the chunk's blocks, with the embeddings or the head
/// it holds): ZeRO-3 under a pipeline gathers a chunk's values before its
/// F or B and frees them after (`ZeROStageResidency`). Without one (the
/// default), parameters stay where they are.
public protocol PipelineResidency: AnyObject {
    /// Before `action` (F, B or W) runs; `next` is the virtual stage of the
    /// next F or B action in this rank's list (nil after the last), which may
    /// be fetched meanwhile.
    func willRun(_ action: PipelineAction, next: Int?) throws
    /// After `action` has run.
    func didRun(_ action: PipelineAction) throws
}

extension PipelineSchedule {
    /// For each of `rank`'s actions, the virtual stage of the first F or B
    /// action after it in the rank's list (nil when none follows).
    func nextComputeStage(rank: Int) -> [Int?] {
        let actions = actions[rank]
        var next = [Int?](repeating: nil, count: actions.count), after: Int?
        for i in actions.indices.reversed() {
            next[i] = after
            if actions[i].kind == .forward || actions[i].kind == .backward { after = actions[i].stage }
        }
        return next
    }
}
