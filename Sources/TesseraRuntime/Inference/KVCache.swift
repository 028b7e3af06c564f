import TesseraKernels

/// The keys and values one block has computed, for every sequence of a
/// batch: prefill writes the prompt's rows, each decode step appends one
/// row per sequence, and attention reads rows 0 ..< length of its sequence.
///
/// Storage is a pool of `blocks` fixed-size blocks, two float32 tensors
/// [blocks, heads, blockSize, headDim] for this rank's heads (under tensor
/// parallelism a rank caches only its own). A sequence's position p lives
/// in block `table[p / blockSize]` of its block table (`DecodeBatch.Segment.blocks`).
///
/// - Contiguous (`init(slots:capacity:...)`, `tessera generate`): one block
///   per slot of `capacity` positions, block s = slot s, so a sequence's
///   head is one run [capacity, headDim] — exactly the former layout.
/// - Paged (`init(blocks:blockSize:...)`, `tessera serve`): small blocks a
///   `BlockPool` hands to sequences as they grow and takes back when they
///   end (vLLM's PagedAttention layout); nothing is reallocated or moved.
///
/// Head-major inside a block, so one head's keys of a block are one
/// contiguous run that a decode step streams from start to end. A block is
/// reused when its sequence finishes: the next sequence overwrites it, so
/// nothing is cleared.
public final class KVCache: @unchecked Sendable {
    /// Blocks in the pool, positions per block, this rank's heads and their width.
    public let blocks: Int, blockSize: Int, heads: Int, headDim: Int
    let keys: Tensor, values: Tensor

    /// A pool of `blocks` blocks of `blockSize` positions each.
    public init(blocks: Int, blockSize: Int, heads: Int, headDim: Int) {
        precondition(blocks >= 1 && blockSize >= 1, "KV cache: \(blocks) blocks of \(blockSize) positions")
        self.blocks = blocks; self.blockSize = blockSize; self.heads = heads; self.headDim = headDim
        keys = Tensor(uninitialized: [blocks, heads, blockSize, headDim])
        values = Tensor(uninitialized: [blocks, heads, blockSize, headDim])
    }

    /// The contiguous cache: `slots` sequences of up to `capacity` positions, one block each.
    public convenience init(slots: Int, capacity: Int, heads: Int, headDim: Int) {
        self.init(blocks: slots, blockSize: capacity, heads: heads, headDim: headDim)
    }

    /// Sequences a contiguous cache holds (its blocks), and positions per block.
    public var slots: Int { blocks }
    public var capacity: Int { blockSize }

    /// Floats per position over this rank's heads: heads · head dim.
    public var width: Int { heads * headDim }

    /// Bytes held: 2 · blocks · blockSize · width · 4.
    public var bytes: Int { keys.byteCount + values.byteCount }

    /// Bytes one cached token costs this block on this rank: 2 · width · 4.
    public var bytesPerToken: Int { 2 * width * MemoryLayout<Float>.stride }

    /// Head `head`'s keys of block `block`: [blockSize, headDim] (row stride headDim).
    func keys(block: Int, head: Int) -> UnsafeMutablePointer<Float> { keys.data + (block * heads + head) * blockSize * headDim }
    /// Head `head`'s values of block `block`: [blockSize, headDim].
    func values(block: Int, head: Int) -> UnsafeMutablePointer<Float> { values.data + (block * heads + head) * blockSize * headDim }

    /// Copies the K and V columns of `rows` rows of a fused activation
    /// `qkv` [rows, 3·width] (columns [Q | K | V], each head by head) into
    /// positions start ..< start + rows of the sequence held in `table`.
    func store(qkv: UnsafePointer<Float>, rows: Int, table: [Int], start: Int) {
        store(keys: qkv + width, values: qkv + 2 * width, ld: 3 * width, rows: rows, table: table, start: start)
    }

    /// Copies `rows` rows of keys and values (row stride `ld`, this rank's
    /// heads head by head from each row's start) into positions start ..<
    /// start + rows of the sequence held in `table` (Llama's separate K and V).
    func store(keys kIn: UnsafePointer<Float>, values vIn: UnsafePointer<Float>, ld: Int, rows: Int, table: [Int],
               start: Int) {
        precondition(start >= 0 && start + rows <= table.count * blockSize,
                     "KV cache blocks \(table): positions \(start)..<\(start + rows) exceed \(table.count * blockSize)")
        var i = 0
        while i < rows {
            let p = start + i, block = table[p / blockSize], offset = p % blockSize
            let run = min(rows - i, blockSize - offset)
            for h in 0..<heads {
                let k = keys(block: block, head: h) + offset * headDim, v = values(block: block, head: h) + offset * headDim
                for r in 0..<run {
                    let row = (i + r) * ld + h * headDim
                    (k + r * headDim).update(from: kIn + row, count: headDim)
                    (v + r * headDim).update(from: vIn + row, count: headDim)
                }
            }
            i += run
        }
    }

    /// Copies head `head`'s keys and values of positions 0 ..< count of the
    /// sequence in `table` into contiguous k, v [count, headDim].
    func gather(table: [Int], head: Int, count: Int, keys k: UnsafeMutablePointer<Float>, values v: UnsafeMutablePointer<Float>) {
        var p = 0
        while p < count {
            let block = table[p / blockSize], run = min(count - p, blockSize)
            (k + p * headDim).update(from: keys(block: block, head: head), count: run * headDim)
            (v + p * headDim).update(from: values(block: block, head: head), count: run * headDim)
            p += run
        }
    }
}
