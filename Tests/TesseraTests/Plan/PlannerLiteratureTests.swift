import Testing
import Tessera

/// Issue 15, item 6: the planner's formulas against published figures.
@Suite struct PlannerLiteratureTests {
    /// A GPT-style model in Megatron's shape (ffn 4h, tied, learned positions, biases).
    static func gpt(layers: Int, h: Int, heads: Int, vocab: Int = 51200, seq: Int = 2048) -> ModelShape {
        ModelShape(name: "gpt", layers: layers, dModel: h, heads: heads, vocab: vocab, seqLen: seq, tied: true,
                   gptStyle: true)
    }

    /// Rajbhandari et al. 2020 (ZeRO, §5 and Figure 1): Ψ = 7.5B parameters, Nd = 64, K = 12, mixed precision
    /// with 2-byte gradients: baseline (2 + 2 + K)Ψ = 120 GB, Pos 4Ψ + KΨ/Nd = 31.4 GB,
    /// Pos+g 2Ψ + 14Ψ/Nd = 16.6 GB, Pos+g+p (2 + 2 + K)Ψ/Nd = 1.9 GB (GB = 1e9 bytes).
    @Test func zeroStagesMatchTheZeROPaper() throws {
        let published: [(zero: Int, gb: Double)] = [(0, 120), (1, 31.4), (2, 16.6), (3, 1.9)]
        let model = Self.gpt(layers: 4, h: 512, heads: 8)
        let setup = TrainingSetup(globalBatch: 64, precision: .bf16, gradientBytes: 2)
        for (zero, gb) in published {
            var layout = Layout()
            layout.dp = 64; layout.zero = zero
            let plan = try PipelinePlan(model, layout: layout)
            let psi = MemoryModel.parameters(rank: 0, model, layout: layout, pipeline: plan).all
            let m = MemoryModel.rank(0, model, layout: layout, setup: setup, pipeline: plan)
            let states = m.weights + m.gradients + m.adam + m.master
            let perParameter = states / psi
            #expect(abs(perParameter * 7.5e9 / 1e9 - gb) < 0.05, "ZeRO-\(zero): \(perParameter * 7.5) GB")
        }
    }

    /// The same model states with Megatron's fp32 gradients (2 + 4 + 12 = 18 bytes per parameter) and in fp32 (16).
    @Test func gradientDtypeAndPrecisionConventions() throws {
        let model = Self.gpt(layers: 2, h: 256, heads: 4)
        let layout = Layout(), plan = try PipelinePlan(model, layout: Layout())
        let psi = MemoryModel.parameters(rank: 0, model, layout: layout, pipeline: plan).all
        for (setup, bytes) in [(TrainingSetup(globalBatch: 8, precision: .bf16, gradientBytes: 4), 18.0),
                               (TrainingSetup(globalBatch: 8, precision: .fp32), 16.0)] {
            let m = MemoryModel.rank(0, model, layout: layout, setup: setup, pipeline: plan)
            #expect(abs((m.weights + m.gradients + m.adam + m.master) / psi - bytes) < 1e-9)
        }
    }

    /// Korthikanti et al. 2022, Table 2 (per-layer activation bytes, 2-byte activations and 1-byte masks):
    /// TP sbh(10 + 24/t + 5as/(ht)), TP+SP sbh(34/t + 5as/(ht)), TP+SP+selective sbh·34/t, full 2sbh;
    /// evaluated at their Table 3 configurations (s 2048, micro-batch b, t 8): 22B (a 64, h 6144, b 4),
    /// 175B (96, 12288, 1), 530B (128, 20480, 1), 1T (160, 25600, 1). Their abstract's "5×" reduction
    /// (TP alone to SP + selective) holds for each: between 4.5 and 6.5.
    @Test func activationsMatchKorthikantiTable2AtTable3Configurations() {
        let configs: [(layers: Int, a: Int, h: Int, b: Double)] = [(48, 64, 6144, 4), (96, 96, 12288, 1),
                                                                   (105, 128, 20480, 1), (128, 160, 25600, 1)]
        let c = ActivationConvention.megatron(elementBytes: 2), t = 8.0, s = 2048.0
        for (layers, a, h, b) in configs {
            let m = Self.gpt(layers: layers, h: h, heads: a)
            let sbh = s * b * Double(h), attn = 5 * Double(a) * s / (Double(h) * t)
            let tpOnly = ActivationModel.perBlock(m, b: b, tp: 8, sp: false, recompute: .none, c)
            let tpSP = ActivationModel.perBlock(m, b: b, tp: 8, sp: true, recompute: .none, c)
            let selective = ActivationModel.perBlock(m, b: b, tp: 8, sp: true, recompute: .selective, c)
            let full = ActivationModel.perBlock(m, b: b, tp: 8, sp: false, recompute: .full, c)
            #expect(abs(tpOnly / (sbh * (10 + 24 / t + attn)) - 1) < 1e-12)
            #expect(abs(tpSP / (sbh * (34 / t + attn)) - 1) < 1e-12)
            #expect(abs(selective / (sbh * 34 / t) - 1) < 1e-12)
            #expect(abs(full / (2 * sbh) - 1) < 1e-12)
            #expect((4.5...6.5).contains(tpOnly / selective), "\(h): \(tpOnly / selective)×")
        }
    }

    /// Tessera's accounting through the same formula (float32 activations, no stored masks, blockwise
    /// attention keeping a log-sum-exp per row and head, LayerNorm statistics) in closed form, in floats:
    /// TP sbh(4 + 12/t) + asb/t + 4sb; TP+SP sbh·16/t + asb/t + 4sb/t (`bench activations` and
    /// RecomputeTests check the same function against the caches a block saves).
    @Test func tesseraConventionIsTheClosedForm() {
        let m = ModelShape(GPTConfig(vocab: 256, seqLen: 64, layers: 2, dModel: 128, heads: 4))
        let (s, b, h, a) = (64.0, 3.0, 128.0, 4.0), sbh = s * b * h
        for (t, sp) in [(1, false), (2, false), (2, true), (4, true)] {
            let T = Double(t)
            let floats = sp ? 16 * sbh / T + a * s * b / T + 4 * s * b / T : sbh * (4 + 12 / T) + a * s * b / T + 4 * s * b
            #expect(ActivationModel.perBlock(m, b: b, tp: t, sp: sp, recompute: .none, .tessera) == 4 * floats, "tp \(t) sp \(sp)")
        }
    }

    /// Narayanan et al. 2021, Table 1: parameters P = 12lh²(1 + 13/(12h) + (V + s)/(12lh)) with V 51200,
    /// s 2048, for 1.7B (l 24, h 2304) … 1008.0B (l 128, h 25600), to the published 0.1B.
    @Test func parametersMatchNarayananTable1() {
        let published: [(l: Int, h: Int, a: Int, billions: Double)] = [
            (24, 2304, 24, 1.7), (30, 3072, 32, 3.6), (36, 4096, 32, 7.5), (40, 6144, 48, 18.4),
            (48, 8192, 64, 39.1), (60, 10240, 80, 76.1), (80, 12288, 96, 145.6), (96, 16384, 128, 310.1),
            (105, 20480, 128, 529.6), (128, 25600, 160, 1008.0)]
        for (l, h, a, billions) in published {
            let p = Self.gpt(layers: l, h: h, heads: a).parameterCount / 1e9
            #expect(abs(p - billions) <= 0.051, "l \(l) h \(h): \(p)B vs \(billions)B")
        }
    }

    /// Narayanan et al. 2021, §5.1: FLOPs per iteration without recompute 72·B·s·l·h²·(1 + s/(6h) + V/(12lh))
    /// (their 96 with full recompute, where the head is not recomputed).
    @Test func flopsMatchNarayananFormula() {
        let m = Self.gpt(layers: 128, h: 25600, heads: 160)
        let (B, s, l, h, V) = (3072.0, 2048.0, 128.0, 25600.0, 51200.0)
        let formula = 72 * B * s * l * h * h * (1 + s / (6 * h) + V / (12 * l * h))
        // ModelShape counts the biases' and norms' parameters too (13h per layer): within 0.01%.
        #expect(abs(m.modelFlops(tokens: B * s) / formula - 1) < 1e-4)
    }

    /// Narayanan et al. 2021, §2.2: bubble time / ideal time = (p−1)/m for 1F1B and (p−1)/(v·m) interleaved,
    /// from the simulator with backward = 2 × forward; and Korthikanti §4.2.3's in-flight factor: the first
    /// stage holds p micro-batches under 1F1B and p·(1 + (p−1)/(p·v)) under the interleaved schedule.
    @Test func bubbleAndInFlightMatchTheSchedules() throws {
        let model = Self.gpt(layers: 48, h: 256, heads: 4)
        for (p, m, v) in [(4, 8, 1), (4, 16, 1), (8, 32, 1), (4, 8, 2), (4, 16, 3), (8, 16, 2)] {
            var layout = Layout()
            layout.pp = p; layout.microBatches = m; layout.ppChunks = v
            layout.schedule = v > 1 ? .interleaved : .oneFOneB
            let plan = try PipelinePlan(model, layout: layout)
            let chunk = 1 / Double(v)
            let t = try ScheduleSimulator.run(plan.schedule!, costs: ActionCosts(forward: chunk, backward: 2 * chunk, weight: 0))
            let ideal = 3 * Double(m)
            #expect(abs((t.stepTime - ideal) / ideal - Double(p - 1) / (Double(v) * Double(m))) < 1e-9, "p \(p) m \(m) v \(v)")
            let expected = Double(p) * (1 + Double(p - 1) / (Double(p) * Double(v)))
            #expect(abs(plan.inFlight(rank: 0) - (v == 1 ? Double(p) : expected)) < 1e-9,
                    "p \(p) m \(m) v \(v): \(plan.inFlight(rank: 0))")
        }
    }
}
