/// The paged KV cache's bookkeeping: `blocks` fixed-size blocks of
/// `blockSize` positions, handed to sequences as they grow and taken back
/// when they end. Every rank's `ServingScheduler` holds an identical pool
/// and makes the same calls, so block ids agree across ranks without being
/// exchanged. Any block fits any sequence, so freed blocks are reused at
/// once (no fragmentation and nothing moves).
///
/// Prefix caching (vLLM's automatic prefix caching): a block whose
/// positions are all computed can be registered under its `BlockKey` (the
/// key of the block before it chained with its own token ids). A sequence
/// whose context starts with the same full blocks shares them read-only
/// (`cachedPrefix`, `take(_:sharing:)`): every block counts the sequences
/// holding it and is free only when none does. A freed registered block
/// keeps its keys and contents until the pool needs it: blocks that never
/// held a registered block are handed out first (the most recently freed
/// first), then registered ones are evicted least recently freed first
/// (a sequence's blocks are freed from its last to its first, so its
/// tail goes before its head, which other prompts are likelier to share).
public struct BlockPool: Sendable {
    public let blocks: Int, blockSize: Int
    /// Free blocks without a key; the end of the array is taken first.
    private var free: [Int]
    /// Sequences holding each block.
    private var refs: [Int]
    /// Each block's key while it is registered.
    private var keyOf: [BlockKey?]
    private var registered: [BlockKey: Int] = [:]
    /// Free registered blocks, least recently freed first.
    private var evictable = LRUList(0)
    /// Full blocks looked up at admission, and of them found registered (for the metrics).
    public private(set) var queriedBlocks = 0, hitBlocks = 0

    public init(blocks: Int, blockSize: Int) {
        precondition(blocks >= 1 && blockSize >= 1, "a block pool needs at least one block of one position")
        self.blocks = blocks; self.blockSize = blockSize
        free = Array((0..<blocks).reversed())
        refs = Array(repeating: 0, count: blocks)
        keyOf = Array(repeating: nil, count: blocks)
        evictable = LRUList(blocks)
    }

    /// Blocks no sequence holds (registered ones included: they are evicted when needed).
    public var freeCount: Int { free.count + evictable.count }
    public var usedCount: Int { blocks - freeCount }
    /// Blocks registered under a key (held or free).
    public var registeredCount: Int { registered.count }

    /// Blocks that hold `positions` positions: ⌈positions / blockSize⌉.
    public func blocksFor(positions: Int) -> Int { (positions + blockSize - 1) / blockSize }

    /// `n` blocks, or nil (taking none) when fewer are free.
    public mutating func take(_ n: Int) -> [Int]? { take(n, sharing: []) }

    /// The blocks `shared` (registered blocks from `cachedPrefix`, each now
    /// held once more) followed by `n` fresh blocks; nil, taking nothing,
    /// when the free blocks do not cover the fresh ones and the shared ones
    /// that were free.
    public mutating func take(_ n: Int, sharing shared: [Int]) -> [Int]? {
        let reclaimed = shared.filter { refs[$0] == 0 }.count
        guard n + reclaimed <= freeCount else { return nil }
        for b in shared {
            if refs[b] == 0 { evictable.remove(b) }
            refs[b] += 1
        }
        var fresh: [Int] = []
        fresh.reserveCapacity(n)
        for _ in 0..<n {
            let b: Int
            if let top = free.popLast() { b = top } else {
                b = evictable.removeFirst()!
                registered[keyOf[b]!] = nil
                keyOf[b] = nil
            }
            refs[b] = 1
            fresh.append(b)
        }
        return shared + fresh
    }

    /// Lets go of `ids` (a sequence's blocks in order); a block no sequence holds becomes free.
    public mutating func release(_ ids: [Int]) {
        for b in ids.reversed() {
            precondition(refs[b] > 0, "block \(b) released more often than taken")
            refs[b] -= 1
            guard refs[b] == 0 else { continue }
            if keyOf[b] != nil { evictable.append(b) } else { free.append(b) }
        }
    }

    /// The registered blocks holding `keys` (a context's full blocks, first
    /// to last), as far as they are all registered.
    public func cachedPrefix(_ keys: [BlockKey]) -> [Int] {
        var found: [Int] = []
        for key in keys {
            guard let b = registered[key] else { break }
            found.append(b)
        }
        return found
    }

    /// Counts a lookup that admitted a sequence: `queried` full blocks, `hit` of them shared.
    public mutating func countLookup(queried: Int, hit: Int) {
        queriedBlocks += queried
        hitBlocks += hit
    }

    /// Registers held block `block`, all of whose positions are computed,
    /// under `key`, unless it already has a key or another block holds that
    /// content (which stays the one found).
    public mutating func register(_ block: Int, _ key: BlockKey) {
        precondition(refs[block] > 0, "only a held block is registered")
        guard keyOf[block] == nil, registered[key] == nil else { return }
        keyOf[block] = key
        registered[key] = block
    }
}

/// What a full KV block holds, as prefix caching compares it: its token
/// ids and, through `parent`, every block before it in its sequence.
/// `hash` chains the parent's hash with the ids (64-bit FNV-1a, the same
/// in every process, so MPI ranks agree); equality compares the parent's
/// hash and the ids, so two blocks are the same content only if their ids
/// match exactly (a wrong match needs a 64-bit collision of parent chains).
public struct BlockKey: Hashable, Sendable {
    public let parent: UInt64
    public let tokens: [Int32]
    public let hash: UInt64

    /// The key of a block of `tokens` after the block keyed `parent` (nil: the first block).
    public init(parent: BlockKey?, tokens: [Int32]) {
        let p = parent?.hash ?? 0xcbf2_9ce4_8422_2325
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ v: UInt64) {
            for shift in stride(from: 0, to: 64, by: 8) { h = (h ^ ((v >> UInt64(shift)) & 0xff)) &* 0x100_0000_01b3 }
        }
        mix(p)
        for t in tokens { mix(UInt64(UInt32(bitPattern: t))) }
        self.parent = p; self.tokens = tokens; hash = h
    }

    public static func == (a: BlockKey, b: BlockKey) -> Bool { a.hash == b.hash && a.parent == b.parent && a.tokens == b.tokens }
    public func hash(into hasher: inout Hasher) { hasher.combine(hash) }

    /// The keys of the first `count` full blocks of `context`, each chaining the one before.
    public static func chain(_ context: [Int32], blockSize: Int, count: Int) -> [BlockKey] {
        var keys: [BlockKey] = []
        keys.reserveCapacity(count)
        for i in 0..<count {
            keys.append(BlockKey(parent: keys.last, tokens: Array(context[(i * blockSize)..<((i + 1) * blockSize)])))
        }
        return keys
    }
}

/// A doubly linked list of block ids 0 ..< capacity (each in it at most
/// once), in insertion order: append, remove any, remove the first, all O(1).
struct LRUList: Sendable {
    private var next: [Int], prev: [Int]
    private var head = -1, tail = -1
    private(set) var count = 0

    init(_ capacity: Int) {
        next = Array(repeating: -2, count: capacity)
        prev = Array(repeating: -2, count: capacity)
    }

    mutating func append(_ b: Int) {
        precondition(next[b] == -2, "block \(b) is already in the list")
        prev[b] = tail; next[b] = -1
        if tail >= 0 { next[tail] = b } else { head = b }
        tail = b
        count += 1
    }

    mutating func remove(_ b: Int) {
        precondition(next[b] != -2, "block \(b) is not in the list")
        if prev[b] >= 0 { next[prev[b]] = next[b] } else { head = next[b] }
        if next[b] >= 0 { prev[next[b]] = prev[b] } else { tail = prev[b] }
        next[b] = -2; prev[b] = -2
        count -= 1
    }

    mutating func removeFirst() -> Int? {
        guard head >= 0 else { return nil }
        let b = head
        remove(b)
        return b
    }
}
