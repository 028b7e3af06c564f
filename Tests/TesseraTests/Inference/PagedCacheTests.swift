import Foundation
import Testing
import Tessera

/// The paged KV cache (blocks from a pool, in any order) against the
/// contiguous one `tessera generate` uses: the same steps give bitwise
/// identical logits, and the pool hands out and takes back blocks exactly.
@Suite struct PagedCacheTests {
    static let shape = GPTConfig(vocab: 256, seqLen: 48, layers: 2, dModel: 32, heads: 4, dropout: 0)

    /// Prefill (two sequences, one split over two chunks), then decode steps,
    /// on both caches; the paged one with 5-position blocks scattered over the pool.
    @Test(arguments: [1, 5, 16])
    func pagedLogitsEqualContiguousBitwise(blockSize: Int) throws {
        let model = GPT(Self.shape, seed: 11)
        let contiguous = InferenceStage(model: model, slots: 2, capacity: 40)
        let paged = InferenceStage(model: model, blocks: 128, blockSize: blockSize)
        // Sequence 0 takes odd blocks from the top of the pool, sequence 1 even ones: nothing is in order.
        let tables = [Array(stride(from: 127, to: 0, by: -2)), Array(stride(from: 0, to: 128, by: 2))]
        var texts: [[Int32]] = [Array("The quick brown fox jumps".utf8).map(Int32.init), Array("Hi".utf8).map(Int32.init)]
        var cached = [0, 0]
        func step(_ counts: [Int]) throws {
            var a = DecodeBatch(), b = DecodeBatch()
            for s in 0..<2 where counts[s] > 0 {
                let tokens = Array(texts[s][cached[s]..<(cached[s] + counts[s])])
                a.append(slot: s, start: cached[s], tokens: tokens)
                b.append(slot: s, start: cached[s], tokens: tokens, blocks: tables[s])
                cached[s] += counts[s]
            }
            let x = try contiguous.logits(contiguous.blocks(contiguous.embed(a), a))
            let y = try paged.logits(paged.blocks(paged.embed(b), b))
            #expect(x.count == y.count && x.count > 0)
            #expect((0..<x.count).allSatisfy { x.data[$0] == y.data[$0] }, "block size \(blockSize), cached \(cached)")
            // Greedy next token of each sampling sequence, the same on both.
            for (i, seg) in a.sampling.enumerated() {
                var best = 0
                for j in 0..<256 where x.data[i * 256 + j] > x.data[i * 256 + best] { best = j }
                texts[seg.slot].append(Int32(best))
            }
        }
        try step([12, 2])               // a chunk of sequence 0 beside sequence 1's whole prompt
        try step([texts[0].count - 12, 1])  // the rest of 0's prompt beside 1's decode
        for _ in 0..<10 { try step([1, 1]) }
    }

    @Test func thePoolHandsOutAndTakesBackBlocks() {
        var pool = BlockPool(blocks: 6, blockSize: 4)
        #expect(pool.blocksFor(positions: 0) == 0 && pool.blocksFor(positions: 4) == 1 && pool.blocksFor(positions: 5) == 2)
        let a = pool.take(4)!
        #expect(a == [0, 1, 2, 3] && pool.freeCount == 2 && pool.usedCount == 4)
        #expect(pool.take(3) == nil && pool.freeCount == 2, "all or nothing")
        pool.release([1, 2])
        let b = pool.take(3)!
        #expect(Set(b) == [1, 2, 4] && pool.freeCount == 1)
        pool.release(a.filter { ![1, 2].contains($0) } + b)
        #expect(pool.freeCount == 6 && pool.usedCount == 0)
    }
}
