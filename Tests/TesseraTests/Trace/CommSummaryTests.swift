import Foundation
import Testing
import Tessera

/// The communication summary counts what each strategy must communicate.
@Suite struct CommSummaryTests {
    /// The summary of `config`'s traced run.
    static func summary(_ config: TrainConfig) throws -> CommSummary {
        CommSummary(try JSONDecoder().decode(ChromeTrace.self, from: TracedRun.file(config)))
    }

    /// Calls per step of `op` on `group`, over all its message sizes (nil when it never ran).
    static func calls(_ s: CommSummary, _ group: String, _ op: String) -> Double? {
        let rows = s.rows.filter { $0.group == group && $0.op == op }
        return rows.isEmpty ? nil : rows.map(\.callsPerStep).reduce(0, +)
    }

    @Test func tensorSequenceParallelCountsPerStepFollowFromTheLayers() throws {
        Compute.threads = 1
        var c = Equivalence.defaultConfig
        c.dp = 2; c.tp = 2; c.sp = true; c.steps = 2
        let s = try Self.summary(c)
        let L = Double(c.model.layers)
        #expect(s.steps == 2)
        for g in ["tp[0, 1]", "tp[2, 3]"] {
            // Forward: embedding scatter, 2 gathers + 2 scatters per block, the head's gather.
            // Backward: the head's scatter, 4 gathers + 2 scatters per block, the embedding's gather.
            #expect(Self.calls(s, g, "allGather") == 6 * L + 2)
            #expect(Self.calls(s, g, "reduceScatter") == 4 * L + 2)
            // The vocab-parallel loss's max and sum, and the sequence-parallel LayerNorm gradients' bucket.
            #expect(Self.calls(s, g, "allReduce") == 3)
        }
        for g in ["dp[0, 2]", "dp[1, 3]"] {
            // Two gradient buckets (tp-replicated and tp-sharded parameters) and the loss.
            #expect(Self.calls(s, g, "allReduce") == 3)
        }
        // Bytes: a gather's output is the whole micro-batch [batch/dp · T, d] in float32.
        let gather = s.rows.first { $0.group == "tp[0, 1]" && $0.op == "allGather" }!
        #expect(gather.bytesPerCall == Double(4 * (c.batch / 2) * c.model.seqLen * c.model.dModel))
        #expect(s.exposedShare.allSatisfy { $0 > 0 && $0 < 1 })
    }

    @Test func tensorParallelAllReducesTwicePerBlockEachWay() throws {
        Compute.threads = 1
        var c = Equivalence.defaultConfig
        c.tp = 2; c.steps = 1
        let s = try Self.summary(c)
        // Embedding, 2 per block forward, the loss's 2; 2 per block backward, the head's input gradient.
        #expect(Self.calls(s, "tp[0, 1]", "allReduce") == 1 + 2 * Double(c.model.layers) + 2 + 2 * Double(c.model.layers) + 1)
        #expect(Self.calls(s, "tp[0, 1]", "allGather") == nil)
    }

    @Test func pipelineSendsOneMessagePerMicroBatchEachWay() throws {
        Compute.threads = 1
        var c = Equivalence.defaultConfig
        c.pp = 2; c.microBatches = 4; c.steps = 2
        let s = try Self.summary(c)
        #expect(Self.calls(s, "pp[0, 1]", "send") == Double(2 * 4))
        #expect(Self.calls(s, "pp[0, 1]", "recv") == Double(2 * 4))
        // The tied embedding's two copies sum their gradients once per step.
        #expect(Self.calls(s, "embedding[0, 1]", "allReduce") == 1)
        let recv = s.rows.first { $0.op == "recv" }!
        #expect(recv.bytesPerCall == Double(4 * (c.batch / 4) * c.model.seqLen * c.model.dModel))
    }

    /// One row per (group, operation, message size): the data-parallel group's gradient buckets and the
    /// 4-byte loss all-reduce are separate rows (they were once averaged into one size), and the first
    /// step is reported apart from the steady-state mean (steps 2…n).
    @Test func rowsKeepEachMessageSizeAndTheFirstStepApart() throws {
        Compute.threads = 1
        var c = Equivalence.defaultConfig
        c.dp = 2; c.steps = 3
        let s = try Self.summary(c)
        #expect(s.steps == 3 && s.steadySteps == 2...3)
        let keys = s.rows.map { "\($0.group) \($0.op) \($0.bytesPerCall)" }
        #expect(Set(keys).count == keys.count, "\(keys)")
        let dp = s.rows.filter { $0.group == "dp[0, 1]" && $0.op == "allReduce" }
        #expect(dp.contains { $0.bytesPerCall == 4 && $0.callsPerStep == 1 }, "the loss: one float per step")
        #expect(dp.contains { $0.bytesPerCall > 4 * 1000 }, "a gradient bucket")
        #expect(dp.allSatisfy { $0.firstStepCalls == $0.callsPerStep && $0.firstStepSeconds > 0 })
        let text = s.lines.joined(separator: "\n")
        #expect(text.contains("steady state: mean over steps 2–3 of 3; the first step apart"))
        #expect(text.contains("dp[0, 1] | allReduce | 2 | 1.0 | 4 B | "))
    }

    @Test func bandwidthFollowsTheNcclTestsDefinitions() {
        #expect(CommSummary.busFactor("allReduce", ranks: 4) == 1.5)
        #expect(CommSummary.busFactor("allGather", ranks: 4) == 0.75)
        #expect(CommSummary.busFactor("send", ranks: 2) == 1)
    }
}
