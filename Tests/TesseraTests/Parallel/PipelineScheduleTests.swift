import Foundation
import Testing
import Tessera

/// Schedules as data: every generator's output is complete and deadlock-free,
/// and the simulator reproduces the known bubble formulas.
@Suite struct PipelineScheduleTests {
    @Test func everyScheduleIsCompleteAndDeadlockFreeForP1To8M1To16V1To3() throws {
        var checked = 0
        for p in 1...8 {
            for m in 1...16 {
                for name in ["naive", "gpipe", "1f1b", "zb-h1"] {
                    try ScheduleChecker.check(try PipelineSchedules.make(name, ranks: p, microBatches: m))
                    checked += 1
                }
                for v in 1...3 where m % p == 0 {
                    try ScheduleChecker.check(try PipelineSchedules.make("interleaved", ranks: p, microBatches: m, chunks: v))
                    checked += 1
                }
            }
        }
        #expect(checked == 8 * 16 * 4 + 3 * (1...8).reduce(0) { $0 + 16 / $1 })
    }

    @Test func theCheckerFindsMissingRepeatedAndDeadlockedActions() throws {
        let good = try PipelineSchedules.make("1f1b", ranks: 2, microBatches: 2)
        var missing = good
        missing.actions[1].removeAll { $0 == PipelineAction(.backward, microBatch: 1, stage: 1) }
        #expect(throws: ConfigError.self) { try ScheduleChecker.check(missing) }
        var repeated = good
        repeated.actions[0].append(PipelineAction(.forward, microBatch: 0, stage: 0))
        #expect(throws: ConfigError.self) { try ScheduleChecker.check(repeated) }
        // Rank 1 waits for micro-batch 1's activation before it has sent micro-batch 0's gradient,
        // while rank 0 runs B0 (waiting for that gradient) before F1: a deadlock.
        var deadlock = good
        deadlock.actions[0] = [PipelineAction(.forward, microBatch: 0, stage: 0),
                               PipelineAction(.sendActivation, microBatch: 0, stage: 0),
                               PipelineAction(.recvGradient, microBatch: 0, stage: 0),
                               PipelineAction(.backward, microBatch: 0, stage: 0),
                               PipelineAction(.forward, microBatch: 1, stage: 0),
                               PipelineAction(.sendActivation, microBatch: 1, stage: 0),
                               PipelineAction(.recvGradient, microBatch: 1, stage: 0),
                               PipelineAction(.backward, microBatch: 1, stage: 0)]
        deadlock.actions[1] = [PipelineAction(.recvActivation, microBatch: 0, stage: 1),
                               PipelineAction(.forward, microBatch: 0, stage: 1),
                               PipelineAction(.recvActivation, microBatch: 1, stage: 1),
                               PipelineAction(.forward, microBatch: 1, stage: 1),
                               PipelineAction(.backward, microBatch: 0, stage: 1),
                               PipelineAction(.sendGradient, microBatch: 0, stage: 1),
                               PipelineAction(.backward, microBatch: 1, stage: 1),
                               PipelineAction(.sendGradient, microBatch: 1, stage: 1)]
        let message = (try? ScheduleChecker.check(deadlock)).map { "no error" } ?? {
            do { try ScheduleChecker.check(deadlock); return "" } catch { return "\(error)" }
        }()
        #expect(message.contains("deadlocks") && message.contains("rank 0 at recvB0") && message.contains("rank 1 at recvF1"))
        #expect(throws: ConfigError.self) { _ = try PipelineSchedules.make("interleaved", ranks: 4, microBatches: 6, chunks: 2) }
        #expect(throws: ConfigError.self) { _ = try PipelineSchedules.make("zigzag", ranks: 2, microBatches: 2) }
    }

    @Test(arguments: [(2, 4), (4, 8), (4, 16), (8, 8), (3, 5)])
    func gpipeAnd1F1BBubbleIsPMinus1OverMPlusPMinus1(_ p: Int, _ m: Int) throws {
        let expected = Double(p - 1) / Double(m + p - 1)
        for name in ["gpipe", "1f1b"] {
            let t = try ScheduleSimulator.run(try PipelineSchedules.make(name, ranks: p, microBatches: m),
                                              costs: ActionCosts(forward: 1, backward: 1.5, weight: 0.5))
            #expect(abs(t.bubbleFraction - expected) < 1e-12, "\(name) p=\(p) m=\(m): \(t.bubbleFraction)")
        }
    }

    @Test(arguments: [(2, 4, 2), (4, 8, 2), (4, 8, 3), (4, 16, 2), (8, 16, 3)])
    func interleavedBubbleIsPMinus1OverVMPlusPMinus1(_ p: Int, _ m: Int, _ v: Int) throws {
        let t = try ScheduleSimulator.run(try PipelineSchedules.make("interleaved", ranks: p, microBatches: m, chunks: v))
        #expect(abs(t.bubbleFraction - Double(p - 1) / Double(v * m + p - 1)) < 1e-12)
    }

    @Test(arguments: [(4, 8), (4, 16), (8, 16), (8, 24), (2, 8)])
    func zeroBubbleH1IdlesAThirdOf1F1BWhenFEqualsBEqualsW(_ p: Int, _ m: Int) throws {
        let oneF = try ScheduleSimulator.run(try PipelineSchedules.make("1f1b", ranks: p, microBatches: m))
        let zb = try ScheduleSimulator.run(try PipelineSchedules.make("zb-h1", ranks: p, microBatches: m))
        // 1F1B idles (p−1)(F+B+W) per rank, ZB-H1 (p−1)(F+B−W) (Qi et al. 2023).
        #expect(abs(oneF.bubbleTime - Double(3 * (p - 1))) < 1e-9)
        #expect(abs(zb.bubbleTime - Double(p - 1)) < 1e-9)
    }

    @Test func theTerminalDrawingShowsActionsAndIdleCells() throws {
        let t = try ScheduleSimulator.run(try PipelineSchedules.make("1f1b", ranks: 2, microBatches: 2))
        #expect(TimelineRenderer.text(t) == ["rank 0 |F0 F1  .  . B0 --  . B1 -- |",
                                             "rank 1 | . F0 B0 -- F1 B1 --  .  . |"])
        let svg = TimelineRenderer.svg(t, title: "1f1b")
        #expect(svg.hasPrefix("<svg") && svg.components(separatedBy: "<rect").count == 1 + 2 + 8)
    }
}
