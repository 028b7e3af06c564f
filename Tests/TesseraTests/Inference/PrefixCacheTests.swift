import Testing
import Tessera

/// The paged pool's prefix caching: block keys chain their parents, shared
/// blocks are counted, freed registered blocks stay until needed and are then
/// evicted after the blocks that never held a key, least recently freed first.
@Suite struct PrefixCacheTests {
    @Test func keysChainTheirParents() {
        let a = BlockKey.chain([1, 2, 3, 4, 5, 6, 7, 8], blockSize: 4, count: 2)
        let b = BlockKey.chain([9, 9, 9, 9, 5, 6, 7, 8], blockSize: 4, count: 2)
        #expect(a[0] != b[0])
        #expect(a[1].tokens == b[1].tokens && a[1] != b[1], "the same ids after another block are another block")
        #expect(BlockKey.chain([1, 2, 3, 4, 5, 6, 7, 8], blockSize: 4, count: 2) == a, "the same context gives the same keys")
        #expect(a[1].parent == a[0].hash)
    }

    @Test func sharedBlocksAreCountedAndEvictedLeastRecentlyFreedFirst() {
        var pool = BlockPool(blocks: 6, blockSize: 2)
        let keys = BlockKey.chain([1, 2, 3, 4, 5, 6], blockSize: 2, count: 3)
        #expect(pool.cachedPrefix(keys).isEmpty)
        let first = pool.take(3)!
        #expect(first == [0, 1, 2])
        for (b, k) in zip(first, keys) { pool.register(b, k) }
        #expect(pool.registeredCount == 3 && pool.freeCount == 3)
        // A second sequence whose context starts with the same two blocks shares them.
        let hit = pool.cachedPrefix(Array(keys.prefix(2)))
        #expect(hit == [0, 1])
        let second = pool.take(1, sharing: hit)!
        pool.countLookup(queried: 2, hit: hit.count)
        #expect(second == [0, 1, 3] && pool.freeCount == 2)
        #expect(pool.hitBlocks == 2 && pool.queriedBlocks == 2)
        pool.release(first)
        #expect(pool.freeCount == 3, "the shared blocks are still held by the second sequence")
        pool.release(second)
        #expect(pool.freeCount == 6 && pool.usedCount == 0 && pool.registeredCount == 3, "freed blocks stay registered")
        #expect(pool.cachedPrefix(keys) == [0, 1, 2], "a later sequence still finds all three")
        // Blocks without a key first (the most recently freed first), then the registered ones
        // least recently freed first: 2 (freed with the first sequence), then 1 and 0 (the second's, tail first).
        #expect(pool.take(6) == [3, 4, 5, 2, 1, 0])
        #expect(pool.registeredCount == 0 && pool.freeCount == 0)
        #expect(pool.cachedPrefix(keys).isEmpty, "evicted blocks are no longer found")
    }

    @Test func sharingAFreeRegisteredBlockNeedsRoomForIt() {
        var pool = BlockPool(blocks: 2, blockSize: 2)
        let keys = BlockKey.chain([7, 7], blockSize: 2, count: 1)
        let a = pool.take(1)!
        pool.register(a[0], keys[0])
        pool.release(a)
        let hit = pool.cachedPrefix(keys)
        #expect(hit == a)
        #expect(pool.take(2, sharing: hit) == nil && pool.freeCount == 2, "1 free + the shared one do not cover 3")
        #expect(pool.take(1, sharing: hit) == [a[0], 1 - a[0]] && pool.freeCount == 0)
    }
}
