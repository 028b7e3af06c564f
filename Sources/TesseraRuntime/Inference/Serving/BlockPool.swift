/// The paged KV cache's bookkeeping: `blocks` fixed-size blocks of
/// `blockSize` positions, handed to sequences as they grow and taken back
/// when they end. Every rank's `ServingScheduler` holds an identical pool
/// and makes the same calls, so block ids agree across ranks without being
/// exchanged. Blocks are taken lowest id first from a free list; any block
/// fits any sequence, so freed blocks are reused at once (no fragmentation
/// and nothing moves).
public struct BlockPool: Sendable {
    public let blocks: Int, blockSize: Int
    /// Free block ids; the end of the array is taken first.
    private var free: [Int]

    public init(blocks: Int, blockSize: Int) {
        precondition(blocks >= 1 && blockSize >= 1, "a block pool needs at least one block of one position")
        self.blocks = blocks; self.blockSize = blockSize
        free = Array((0..<blocks).reversed())
    }

    public var freeCount: Int { free.count }
    public var usedCount: Int { blocks - free.count }

    /// Blocks that hold `positions` positions: ⌈positions / blockSize⌉.
    public func blocksFor(positions: Int) -> Int { (positions + blockSize - 1) / blockSize }

    /// `n` blocks, or nil (taking none) when fewer are free.
    public mutating func take(_ n: Int) -> [Int]? {
        guard n <= free.count else { return nil }
        let taken = Array(free.suffix(n).reversed())
        free.removeLast(n)
        return taken
    }

    /// Returns `ids` to the pool.
    public mutating func release(_ ids: [Int]) {
        free.append(contentsOf: ids.reversed())
    }
}
