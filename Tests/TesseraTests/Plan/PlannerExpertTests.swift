import Foundation
import Testing
import Tessera

/// Issue 15: mixture-of-experts models in the one memory model the planner
/// and the runtime's launch-time estimate share, checked against what the
/// runtime's ranks hold, and against a published MoE's parameter counts.
@Suite struct PlannerExpertTests {
    /// The tiny model with 4 experts, top-2, in every second block (blocks 1
    /// and 3 of 4), experts 48 wide (not 4·d).
    static func experts(_ m: inout GPTConfig) {
        m.layers = 4; m.experts = 4; m.topK = 2; m.moeEvery = 2; m.expertHidden = 48
    }

    /// `config` with whole experts on each tp rank (`--expert-tp 1`).
    static func tp2(_ config: TrainConfig) -> TrainConfig {
        var c = config
        c.layout.expertTP = 1
        return c
    }

    /// `config` without its experts (to see that the experts are counted at all).
    static func dense(_ config: TrainConfig) -> TrainConfig {
        var c = config
        (c.model.experts, c.model.moeEvery, c.model.expertHidden, c.layout.ep) = (0, 1, 0, 1)
        return c
    }

    /// The estimate's weights, gradients and Adam moments equal the bytes the
    /// runtime's most loaded rank holds after a step: one rank, experts whole
    /// on each of tp 2 or split over it (`--expert-tp 2`), and split over ep 2 (dp 2, each rank 2 experts);
    /// under ZeRO-1 at dp2×ep2 the moments of dense buckets are halved but
    /// the experts' (an expert-data group of one) are not (within the
    /// runtime's padding of buckets to a multiple of dp).
    @Test func theEstimateHoldsWhatRanksHoldOfAMixtureOfExperts() throws {
        for (name, zero) in [("serial", 0), ("tp2", 0), ("tp2+etp2", 0), ("dp2xep2", 0), ("dp2xep2", 1)] {
            var layout = try Layout(name: name)
            layout.zero = zero
            let (config, ranks) = try PlannerTests.afterOneStep(layout, model: Self.experts) { $0.memoryHeld }
            let held = (weights: ranks.map(\.weights).max()!, gradients: ranks.map(\.gradients).max()!,
                        adam: ranks.map(\.adam).max()!)
            let e = MemoryEstimate(config, ranksHere: config.worldSize).perRank
            #expect(e.weights != MemoryEstimate(Self.dense(config), ranksHere: config.worldSize).perRank.weights)
            if name.hasSuffix("etp2") {
                // Split experts add buckets (their sharded matrices, their whole b_out) whose capacities the
                // runtime pads (here 64 floats in all); the estimate counts the parameters themselves, which
                // `ExpertTensorParallelTests` checks equal the elements each rank holds.
                #expect(e.weights < held.weights && held.weights - e.weights <= 4 * 64 && e.weights == e.gradients
                        && e.adam == 2 * e.weights && held.weights < MemoryEstimate(Self.tp2(config), ranksHere: 2).perRank.weights,
                        "\(name): estimate \(e.weights) \(e.gradients) \(e.adam), held \(held)")
            } else if zero == 0 {
                #expect(e.weights == held.weights && e.gradients == held.gradients && e.adam == held.adam,
                        "\(name): estimate \(e.weights) \(e.gradients) \(e.adam), held \(held)")
            } else {
                #expect(e.weights == held.weights && abs(e.adam / held.adam - 1) < 0.01,
                        "\(name) zero \(zero): estimate \(e.line), held \(held)")
            }
        }
    }

    /// On one rank (dropless routing: every choice reaches its expert) the
    /// planner's activations equal the bytes the runtime's caches hold,
    /// with and without sequence parallelism (experts whole on each tp rank
    /// read the gathered rows).
    @Test func plannedExpertActivationsEqualTheRuntimeMeasurement() throws {
        for name in ["serial", "tp2+sp", "tp2", "tp2+etp2", "tp2+sp+etp2"] {
            let (config, measured) = try PlannerTests.largestAfterOneStep(try Layout(name: name), model: Self.experts) { t in
                Double(t.model.lastActivationBytes)
            }
            let estimate = MemoryEstimate(config, ranksHere: config.worldSize).perRank
            #expect(estimate.activations == measured, "\(name): planned \(estimate.activations), held \(measured)")
            let dense = MemoryEstimate(Self.dense(config), ranksHere: config.worldSize).perRank
            #expect(estimate.activations > dense.activations, "\(name)")
        }
    }

    /// The conversion keeps the config's experts: `ModelShape`'s count of every
    /// parameter equals `GPTConfig.parameterCount` (router, experts of the expert width, every moe-every-th block).
    @Test func theShapeOfAConfigCountsItsExpertsAsTheConfigDoes() {
        var c = TrainingTests.tinyConfig().model
        Self.experts(&c)
        let m = ModelShape(c)
        #expect(m.parameterCount == Double(c.parameterCount))
        #expect(m.expertBlocks(in: 0..<4) == 2 && m.isExpertBlock(1) && !m.isExpertBlock(2))
        c.experts = 0; c.moeEvery = 1; c.expertHidden = 0
        #expect(ModelShape(c).parameterCount == Double(c.parameterCount))
    }

    /// Mixtral 8×7B (Jiang et al. 2024; HF config: 32 layers, d 4096, 32 heads, 8 KV heads, SwiGLU experts 14336
    /// wide, vocab 32000, 8 experts top-2): 46.7B parameters, 12.9B active per token.
    @Test func mixtralHasItsPublishedParameterCounts() throws {
        let m = ModelShape(name: "mixtral-8x7b", layers: 32, dModel: 4096, heads: 32, kvHeads: 8, ffn: 14336,
                           vocab: 32000, seqLen: 32768, swiglu: true, experts: 8, topK: 2)
        try m.validate()
        #expect(abs(m.parameterCount / 46.7e9 - 1) < 0.002, "\(m.parameterCount)")
        // Active: the matrices a token multiplies by plus its embedding row's table.
        let active = m.activeMatrixParameters + 32000 * 4096
        #expect(abs(active / 12.9e9 - 1) < 0.005, "\(active)")
        var every2 = m
        every2.moeEvery = 2
        let expert = m.blockParameters(tp: 1, expert: true).local, dense = m.blockParameters(tp: 1).local
        #expect(m.parameterCount - every2.parameterCount == 16 * (expert - dense))
    }
}
