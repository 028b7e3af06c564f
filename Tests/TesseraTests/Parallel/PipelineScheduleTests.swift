import Foundation
import Synchronization
import Testing
import Tessera

/// Schedules as data: every generator's output is complete and deadlock-free,
/// and the simulator reproduces the known bubble formulas.
@Suite struct PipelineScheduleTests {
    @Test func everyScheduleIsCompleteAndDeadlockFreeForP1To8M1To16V1To3() throws {
        var checked = 0
        for p in 1...8 {
            for m in 1...16 {
                for name: PipelineScheduleKind in [.naive, .gpipe, .oneFOneB, .zeroBubbleH1] {
                    try ScheduleChecker.check(try PipelineSchedules.make(name, ranks: p, microBatches: m))
                    checked += 1
                }
                for v in 1...3 where m % p == 0 {
                    try ScheduleChecker.check(try PipelineSchedules.make(.interleaved, ranks: p, microBatches: m, chunks: v))
                    checked += 1
                }
            }
        }
        #expect(checked == 8 * 16 * 4 + 3 * (1...8).reduce(0) { $0 + 16 / $1 })
    }

    @Test func theCheckerFindsMissingRepeatedAndDeadlockedActions() throws {
        let good = try PipelineSchedules.make(.oneFOneB, ranks: 2, microBatches: 2)
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
        let message = TestSupport.message { try ScheduleChecker.check(deadlock) }
        #expect(message.contains("deadlocks") && message.contains("rank 0 at recvB0") && message.contains("rank 1 at recvF1"))
        #expect(throws: ConfigError.self) { _ = try PipelineSchedules.make(.interleaved, ranks: 4, microBatches: 6, chunks: 2) }
            }

    @Test(arguments: [(2, 4), (4, 8), (4, 16), (8, 8), (3, 5)])
    func gpipeAnd1F1BBubbleIsPMinus1OverMPlusPMinus1(_ p: Int, _ m: Int) throws {
        let expected = Double(p - 1) / Double(m + p - 1)
        for name: PipelineScheduleKind in [.gpipe, .oneFOneB] {
            let t = try ScheduleSimulator.run(try PipelineSchedules.make(name, ranks: p, microBatches: m),
                                              costs: ActionCosts(forward: 1, backward: 1.5, weight: 0.5))
            #expect(abs(t.bubbleFraction - expected) < 1e-12, "\(name) p=\(p) m=\(m): \(t.bubbleFraction)")
        }
    }

    @Test(arguments: [(2, 4, 2), (4, 8, 2), (4, 8, 3), (4, 16, 2), (8, 16, 3)])
    func interleavedBubbleIsPMinus1OverVMPlusPMinus1(_ p: Int, _ m: Int, _ v: Int) throws {
        let t = try ScheduleSimulator.run(try PipelineSchedules.make(.interleaved, ranks: p, microBatches: m, chunks: v))
        #expect(abs(t.bubbleFraction - Double(p - 1) / Double(v * m + p - 1)) < 1e-12)
    }

    @Test(arguments: [(4, 8), (4, 16), (8, 16), (8, 24), (2, 8)])
    func zeroBubbleH1IdlesAThirdOf1F1BWhenFEqualsBEqualsW(_ p: Int, _ m: Int) throws {
        let oneF = try ScheduleSimulator.run(try PipelineSchedules.make(.oneFOneB, ranks: p, microBatches: m))
        let zb = try ScheduleSimulator.run(try PipelineSchedules.make(.zeroBubbleH1, ranks: p, microBatches: m))
        // 1F1B idles (p−1)(F+B+W) per rank, ZB-H1 (p−1)(F+B−W) (Qi et al. 2023).
        #expect(abs(oneF.bubbleTime - Double(3 * (p - 1))) < 1e-9)
        #expect(abs(zb.bubbleTime - Double(p - 1)) < 1e-9)
    }

    @Test func theTerminalDrawingShowsActionsAndIdleCells() throws {
        let t = try ScheduleSimulator.run(try PipelineSchedules.make(.oneFOneB, ranks: 2, microBatches: 2))
        #expect(TimelineRenderer.text(t) == ["rank 0 |F0 F1  .  . B0 --  . B1 -- |",
                                             "rank 1 | . F0 B0 -- F1 B1 --  .  . |"])
        let svg = TimelineRenderer.svg(t, title: "1f1b")
        // One titled rectangle per action: 2 ranks × (2 F + 2 B).
        #expect(svg.hasPrefix("<svg") && svg.components(separatedBy: "<title>").count == 1 + 8)
    }
}

/// Pipeline layouts: bad input named before any rank starts, and traces of
/// real runs that the renderer and simulator read.
@Suite struct PipelineRunTests {

    @Test func pipelineLayoutErrorsNameTheNumbersAndTheValidChoices() throws {
        var c = TrainConfig()
        c.pp = 8
        #expect(TestSupport.message { try c.validate() }.contains("pp 8 × chunks 1 = 8 stages need at least 8 layers, the model has 4; valid pp for 4 layers: 1, 2, 3, 4"))
        c.pp = 2; c.layout.ppLayers = [3, 2]
        #expect(TestSupport.message { try c.validate() }.contains("pp-layers 3,2 must list 2 positive block counts (pp 2 × chunks 1) summing to layers 4"))
        c.layout.ppLayers = [3, 1]
        #expect(throws: Never.self) { try c.validate() }
        #expect(try PipelinePartition.stages(c.layout, model: c.model) == [0..<3, 3..<4])
        c.layout.ppLayers = nil; c.schedule = .interleaved; c.ppChunks = 2; c.microBatches = 3
        #expect(TestSupport.message { try c.validate() }.contains("interleaved needs micro-batches divisible by pp"))
        c.schedule = .oneFOneB; c.ppChunks = 1; c.microBatches = 1; c.pp = 1; c.ppChunks = 2
        #expect(TestSupport.message { try c.validate() }.contains("pp-chunks 2 needs pp > 1"))
        c.pp = 2; c.ppChunks = 1; c.schedule = .naive; c.microBatches = 4
        #expect(TestSupport.message { try c.validate() }.contains("schedule naive runs the whole batch as one micro-batch"))
        c.microBatches = 1
        #expect(TestSupport.message { try c.set("schedule", .string("zigzag"), source: "test") }
                    == "test: schedule must be naive, gpipe, 1f1b, interleaved or zb-h1, got 'zigzag'")
    }

    @Test func balancedStagesGiveTheHeadStageFewerBlocksWhenItCosts() throws {
        var c = TrainConfig()
        c.model = GPTConfig(vocab: 50_304, seqLen: 64, layers: 8, dModel: 64, heads: 4)
        c.pp = 2
        let stages = try PipelinePartition.stages(c.layout, model: c.model)
        #expect(stages.count == 2 && stages[0].lowerBound == 0 && stages[1].upperBound == 8)
        #expect(stages[1].count < stages[0].count)  // a 50k vocabulary head costs more than a few blocks
        c.model.vocab = 256
        #expect(try PipelinePartition.stages(c.layout, model: c.model) == [0..<4, 4..<8])
    }

    @Test func aTracedRunRoundTripsAndMatchesTheScheduleItRan() throws {
        Compute.threads = 1
        var c = Equivalence.defaultConfig
        c.model.layers = 4
        c.pp = 4; c.schedule = .zeroBubbleH1; c.microBatches = 8; c.steps = 2
        let path = TestSupport.temporaryPath("trace.json")
        defer { try? FileManager.default.removeItem(atPath: path) }
        c.trace = path
        let data = try TokenDataset.builtIn(seqLen: c.model.seqLen)
        let config = c
        try Launcher.run(config: config, backend: .threads) { groups in
            try Trainer(config: config, data: data, groups: groups).run(log: { _ in })
        }
        let t = try PipelineTrace.read(path: path)
        let schedule = try PipelineSchedules.make(.zeroBubbleH1, ranks: 4, microBatches: 8)
        #expect(t.ranks == 4 && t.spans.count == 4 * 8 * 3)
        for r in 0..<4 {
            let ran = t.spans.filter { $0.rank == r }.sorted { $0.start < $1.start }.map(\.action)
            #expect(ran == schedule.actions[r].filter(\.isCompute), "rank \(r) ran its list in order")
        }
        #expect(t.bubbleFraction > 0 && t.bubbleFraction < 1)
        #expect(TestSupport.message { _ = try PipelineTrace.read(path: path + "-missing") }.contains("does not exist"))
    }

    @Test func pipelineEvaluationRunsTheForwardOnlyScheduleAndEqualsOneRank() throws {
        Compute.threads = 1
        var c = Equivalence.defaultConfig
        c.model.layers = 4
        c.evalBatches = 2
        let data = try TokenDataset.builtIn(seqLen: c.model.seqLen)
        let serial = try Trainer(config: c, data: data).evaluate()
        c.pp = 2; c.schedule = .interleaved; c.ppChunks = 2; c.microBatches = 2; c.tp = 2; c.sp = true
        let config = c, losses = Mutex<[Double]>([])
        try Launcher.run(config: config, backend: .threads) { groups in
            let loss = try Trainer(config: config, data: data, groups: groups).evaluate()
            losses.withLock { $0.append(loss) }
        }
        let all = losses.withLock { $0 }
        #expect(all.count == 4 && all.allSatisfy { abs($0 - serial) <= 1e-5 * serial }, "\(all) vs \(serial)")
        let schedule = PipelineSchedules.forwardOnly(ranks: 2, microBatches: 1, chunks: 2)
        #expect(schedule.actions[1].map(\.description) == ["recvF0", "F0", "sendF0", "recvF0", "F0"])
    }

    @Test func messageTagsStayWithinWhatMPIGuarantees() throws {
        // The largest tag a schedule uses, 2·stages·micro-batches − 1, fits.
        let s = try PipelineSchedules.make(.oneFOneB, ranks: 4, microBatches: 64)
        #expect(s.tag(3, 63, gradient: true) == 2 * 4 * 64 - 1)
        // Tessera's runtime refuses more (`Layout.requireMessageTags`, what train and verify call); the
        // schedule itself, which the planner sizes GPU clusters with, is not bound by this runtime's limit.
        var layout = Layout()
        layout.pp = 8; layout.microBatches = 1100
        #expect(TestSupport.message { try layout.requireMessageTags() }.contains("exceed MPI's tag space (at most 8192)"))
        #expect(TestSupport.message { try layout.validateSchedule() } == "")
        #expect(try PipelineSchedules.make(.oneFOneB, ranks: 8, microBatches: 1100).microBatches == 1100)
        try ThreadWorld.run(size: 2) { g in
            let x = Tensor([1])
            let m = TestSupport.message { try g.send(x.data, count: 1, to: 1 - g.rank, tag: MessageTag.max + 1) }
            #expect(m.contains("tag 16384 is outside 0...16383"))
        }
    }
}
