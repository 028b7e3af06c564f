import Testing
import Tessera

/// `plan --serve`: the KV cache per token is Llama-2 70B's published 320 KiB
/// (2 · 80 layers · 8 kv heads · 128 · 2 bytes), a decode step at batch 1 is
/// bounded by reading the weights, and the search ranks by its target.
@Suite struct ServingPlanTests {
    static let a100 = try! Hardware.preset("a100-80")
    static let llama = try! ModelPresets.named("llama2-70b")

    static func plan(tp: Int, pp: Int, devices: Int = 8, context: Int = 4096, batch: Int? = 1) throws -> ServingPlan {
        try ServingPlan(llama, tp: tp, pp: pp, devices: devices, hardware: a100, precision: .bf16,
                        request: .init(context: context, prompt: 512, batch: batch))
    }

    @Test func theKVCachePerTokenIsSplitByTPUpToTheKVHeadsAndByPP() throws {
        #expect(try Self.plan(tp: 1, pp: 1).kvBytesPerToken == 327_680)     // 320 KiB
        #expect(try Self.plan(tp: 8, pp: 1).kvBytesPerToken == 40_960)
        #expect(try Self.plan(tp: 4, pp: 2).kvBytesPerToken == 40_960)
        // 16-way tp has 8 kv heads to split: each rank keeps one, as at tp 8.
        let wide = try ServingPlan(Self.llama, tp: 16, pp: 1, devices: 16, hardware: Self.a100, precision: .bf16,
                                   request: .init(context: 4096, prompt: 512, batch: 1))
        #expect(wide.kvBytesPerToken == 40_960)
    }

    @Test func batchOneIsBoundByReadingTheWeights() throws {
        let p = try Self.plan(tp: 8, pp: 1)
        // Back of the envelope: every parameter but the embedding table, bf16, an eighth per device, at 2039 GB/s,
        // plus 4096 cached tokens of 40 KiB.
        let P = Self.llama.parameterCount, embedding = Double(Self.llama.vocab * Self.llama.dModel)
        let envelope = ((P - embedding) * 2 / 8 + 4096 * 40_960) / 2039e9
        #expect(abs(p.stageMemorySeconds / envelope - 1) < 0.01, "\(p.stageMemorySeconds) vs \(envelope)")
        #expect(p.bound == "memory" && p.stageComputeSeconds < p.stageMemorySeconds / 50)
        // One stage: TPOT = the memory-bound step + 2 ring all-reduces per block of one token's 8192 bf16
        // values over NVLink (α 3 µs, 300 GB/s): 160 × (2·7·3 µs + 2·7/8 · 16384 B / 300 GB/s) = 6.735 ms.
        let allReduces = 160 * (14 * 3e-6 + 14.0 / 8 * 16384 / 300e9)
        #expect(abs(p.stageTPSeconds - allReduces) < 1e-9)
        #expect(abs(p.tpot - (p.stageMemorySeconds + allReduces)) < 1e-9)
        // Weights of a device: about an eighth of 2 bytes × 69 billion.
        #expect(abs(p.weightBytes / (2 * P / 8) - 1) < 0.01)
    }

    @Test func theLargestBatchIsWhatTheCacheRoomHolds() throws {
        let p = try Self.plan(tp: 8, pp: 1, batch: nil)
        #expect(p.batch == p.maxBatch)
        let room = 0.9 * 80 * 1_073_741_824 - p.weightBytes
        #expect(p.maxBatch == Int(room / (4096 * 40_960)))
        #expect((340...380).contains(p.maxBatch), "\(p.maxBatch)")
        // Two stages hold half the blocks each: the same memory per device holds more sequences.
        #expect(try Self.plan(tp: 4, pp: 2, batch: nil).maxBatch > 0)
        // One device cannot hold 140 GB of weights.
        #expect(try Self.plan(tp: 1, pp: 1).maxBatch == 0)
        #expect(try !Self.plan(tp: 1, pp: 1).fits)
    }

    @Test func theSearchRanksByItsTarget() throws {
        let request = ServingPlan.Request(context: 4096, prompt: 512, batch: 1)
        let latency = ServingPlan.search(Self.llama, devices: 8, hardware: Self.a100, precision: .bf16, request: request,
                                         target: .latency)
        #expect(!latency.isEmpty && latency.allSatisfy(\.fits))
        #expect(latency[0].tpot == latency.map(\.tpot).min())
        #expect(latency[0].tp == 8 && latency[0].pp == 1)   // tp divides every read; pp only adds stages in series
        let throughput = ServingPlan.search(Self.llama, devices: 8, hardware: Self.a100, precision: .bf16,
                                            request: .init(context: 4096, prompt: 512), target: .throughput)
        #expect(throughput[0].totalTokensPerSecond == throughput.map(\.totalTokensPerSecond).max())
        #expect(throughput[0].totalTokensPerSecond > latency[0].totalTokensPerSecond)
    }
}

/// `plan --serve` with a profile's measured decode rates (a CPU): the step is
/// the products at the measured seconds per weight byte for the batch's rows
/// plus the KV cache read, pinned to a hand computation on the `bench
/// generate` model (6 blocks of d 512, 8 heads, vocab 256 tied, fp32).
@Suite struct MeasuredDecodeTests {
    // 20 GB/s at one row; 8 rows cost 3×, 32 rows 4× a one-row pass (per weight byte); cache read at 8 GB/s.
    static let rates = DecodeRates(rows: [1, 8, 32], secondsPerWeightByte: [5e-11, 1.5e-10, 2e-10], attentionBandwidth: 8e9)
    static var cpu: Hardware {
        Hardware(name: "cpu", memoryBytes: 16 * 1_073_741_824, peakFlops: [.fp32: 100e9], matmulFraction: 1, halfSize: 0,
                 memoryBandwidth: 10e9, intraNode: Link(bandwidth: 5e9, latency: 5e-6),
                 interNode: Link(bandwidth: 5e9, latency: 5e-6), gpusPerNode: 64, sharedCores: 2, decode: rates)
    }

    @Test func theStepIsTheProductsAtTheBatchsRowsPlusTheCacheReadByHand() throws {
        let shape = ModelShape(GenerateBenchmark.model, name: "generate-bench")
        let plan = try ServingPlan(shape, tp: 1, pp: 1, devices: 1, hardware: Self.cpu, precision: .fp32,
                                   request: .init(context: 32, prompt: 16, batch: 8, weightBytes: 4, kvBytes: 4))
        // Streamed per step: 6 blocks × (12·512² + 13·512) = 18 914 304, the final norm's 1024 and the tied
        // 256 × 512 head = 19 046 400 parameters (the 1280 learned positions are looked up, not streamed).
        let block: Double = 12 * 512 * 512 + 13 * 512
        let params: Double = 6 * block + 1024 + 256 * 512
        #expect(params == 19_046_400)
        // KV cache per token: 2 (K, V) · 6 blocks · 8 heads · 64 · 4 bytes = 24 576 (the engine's figure).
        #expect(plan.kvBytesPerToken == 24_576)
        let stream = params * 4 * 5e-11                 // 3.80928 ms: 76 185 600 bytes at 20 GB/s
        let cache = 8.0 * 32 * 24_576 / 8e9              // 0.786432 ms
        let rows = params * 4 * (1.5e-10 - 5e-11)        // 7.61856 ms: what 8 rows add
        #expect(abs(plan.stageMemorySeconds - (stream + cache)) < 1e-12)
        #expect(abs(plan.stageComputeSeconds - rows) < 1e-12)
        #expect(abs(plan.tpot - 0.012214272) < 1e-9, "\(plan.tpot)")
        #expect(plan.measuredDecode && plan.bound == "compute")
        // Batch 1 is the stream and one sequence's cache: 3.80928 + 0.098304 ms.
        let one = try ServingPlan(shape, tp: 1, pp: 1, devices: 1, hardware: Self.cpu, precision: .fp32,
                                  request: .init(context: 32, prompt: 16, batch: 1, weightBytes: 4, kvBytes: 4))
        #expect(abs(one.tpot - 0.003907584) < 1e-9, "\(one.tpot)")
    }

    @Test func rowCountsBetweenAndBeyondTheTableAreLinear() {
        #expect(abs(Self.rates.secondsPerByte(rows: 20) - 1.75e-10) < 1e-22)      // halfway from 8 to 32
        #expect(abs(Self.rates.secondsPerByte(rows: 64) - (2e-10 + 5e-11 * 32 / 24)) < 1e-22)  // the last segment's slope
        #expect(Self.rates.secondsPerByte(rows: 1) == 5e-11 && Self.rates.streamBandwidth == 2e10)
    }

    @Test func aBrokenTableIsRefused() {
        #expect(Self.rates.isValid)
        #expect(!DecodeRates(rows: [1], secondsPerWeightByte: [1e-10], attentionBandwidth: 1e9).isValid)
        #expect(!DecodeRates(rows: [2, 8], secondsPerWeightByte: [1e-10, 2e-10], attentionBandwidth: 1e9).isValid)
        #expect(!DecodeRates(rows: [1, 8], secondsPerWeightByte: [1e-10, .infinity], attentionBandwidth: 1e9).isValid)
        #expect(!DecodeRates(rows: [1, 8, 4], secondsPerWeightByte: [1e-10, 2e-10, 3e-10], attentionBandwidth: 1e9).isValid)
    }
}
