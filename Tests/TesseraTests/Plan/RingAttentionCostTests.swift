import Testing
import Tessera

/// Issue 15: what ring attention adds to a block's time, counted from what
/// `RingAttention` does (copies, merges, messages) and checked by hand.
@Suite struct RingAttentionCostTests {
    /// The benchmark's shape (d 512, 8 heads, T 256) at cp 2, micro-batch 8, float32.
    static let shape = ModelShape(name: "bench", layers: 6, dModel: 512, heads: 8, vocab: 256, seqLen: 256,
                                  tied: true, gptStyle: true)

    static func cp2() throws -> Layout { var l = try Layout(name: "cp2(ring)"); l.microBatches = 1; return l }

    /// n = 8·256/2 = 1024 rows, K/V width w = 512, hd 64. The K/V block is
    /// n·2w floats = 4 MiB: forward copies it (read + write 8 MiB); key
    /// chunks of 64 keys make a row visit (2 − ½)·1 + 1 = 2.5 tiles against
    /// one rank's (2 + 1)/2 = 1.5, one more merge of 64 outputs and the
    /// max and sum per (row, head): 1024·8·(2·4·64 + 16) bytes; backward
    /// copies K/V, zeroes dK/dV and copies it home, 10·4·1024·512 bytes.
    /// Messages: 1 forward, 1 + 2 backward.
    @Test func theRingsCopiesMergesAndMessagesAreCountedByHand() throws {
        let r = RingAttentionCost(Self.shape, b: 8, layout: try Self.cp2(), elementBytes: 4)
        #expect(r.forwardBytes == 8_388_608 + 1024 * 8 * 528)
        #expect(r.backwardBytes == 20_971_520)
        #expect(r.messageBytes == 4_194_304 && r.forwardMessages == 1 && r.backwardMessages == 3)
        // Chunks of 2048 keys (T 8192) are whole key tiles: no merges beyond one rank's.
        var long = Self.shape
        long.seqLen = 8192
        #expect(RingAttentionCost(long, b: 1, layout: try Self.cp2(), elementBytes: 4).forwardBytes == 4 * 4 * 4096 * 512)
        #expect(RingAttentionCost(Self.shape, b: 8, layout: Layout(), elementBytes: 4) == RingAttentionCost(
            Self.shape, b: 0, layout: Layout(), elementBytes: 4))
    }

    /// Where ranks share CPU cores the ring's four messages are all exposed
    /// (α + 4 MiB/β each); on a device they hide behind the attention products.
    @Test func theRingIsExposedOnSharedCoresAndHiddenOnDevices() throws {
        let link = Link(bandwidth: 1e9, latency: 1e-5)
        let cpu = Hardware(name: "cpu", memoryBytes: 1e11, peakFlops: [.fp32: 1e10], matmulFraction: 1, halfSize: 20,
                           memoryBandwidth: 1e10, intraNode: link, interNode: link, gpusPerNode: 64, sharedCores: 2)
        let setup = TrainingSetup(globalBatch: 8, microBatch: 8, precision: .fp32, convention: .tessera)
        func block(_ hw: Hardware) throws -> BlockCost {
            BlockCost.block(Self.shape, b: 8, layout: try Self.cp2(), setup: setup, hardware: hw,
                            comm: try CollectiveModel(hardware: hw, layout: try Self.cp2()), rankThreads: 1)
        }
        #expect(abs(try block(cpu).communication - 4 * (1e-5 + 4_194_304 / 1e9)) < 1e-15)
        var device = cpu
        device.sharedCores = nil
        #expect(try block(device).communication == 0)
        #expect(abs(try block(cpu).forward - block(device).forward - (1e-5 + 4_194_304 / 1e9)) < 1e-12)
        // The forward's memory-bound bytes at two bandwidths: the block's elementwise passes,
        // 4·1024·(14·512 + 3·2048) + 12·(8·8·128·128) = 67108864, plus the ring's 8388608 + 4325376.
        var fast = device
        fast.memoryBandwidth = 2e10
        let bytes = (try block(device).forward - block(fast).forward) / (1 / 1e10 - 1 / 2e10)
        #expect(abs(bytes / (67_108_864 + 8_388_608 + 4_325_376) - 1) < 1e-9, "\(bytes)")
    }
}
