import TesseraKernels

/// The keys and values one block has computed, for every slot of a batch:
/// prefill writes the prompt's rows, each decode step appends one row per
/// sequence, and attention reads rows 0 ..< length of its slot.
///
/// Storage is two float32 tensors [slots, heads, capacity, headDim] for this
/// rank's heads (under tensor parallelism a rank caches only its own).
/// Head-major, so one head's keys of a slot are one contiguous run that a
/// decode step streams from start to end (a [positions, width] layout would
/// read a head's 4 cache lines out of every 2 KiB, page after page). A slot
/// is reused when its sequence finishes: the next sequence overwrites it
/// from position 0, so nothing is cleared.
public final class KVCache: @unchecked Sendable {
    /// Sequences held at once, positions per sequence, this rank's heads and their width.
    public let slots: Int, capacity: Int, heads: Int, headDim: Int
    let keys: Tensor, values: Tensor

    public init(slots: Int, capacity: Int, heads: Int, headDim: Int) {
        self.slots = slots; self.capacity = capacity; self.heads = heads; self.headDim = headDim
        keys = Tensor(uninitialized: [slots, heads, capacity, headDim])
        values = Tensor(uninitialized: [slots, heads, capacity, headDim])
    }

    /// Floats per position over this rank's heads: heads · head dim.
    public var width: Int { heads * headDim }

    /// Bytes held: 2 · slots · capacity · width · 4.
    public var bytes: Int { keys.byteCount + values.byteCount }

    /// Bytes one cached token costs this block on this rank: 2 · width · 4.
    public var bytesPerToken: Int { 2 * width * MemoryLayout<Float>.stride }

    /// Head `head`'s keys of slot `slot`: [capacity, headDim] (row stride headDim).
    func keys(slot: Int, head: Int) -> UnsafeMutablePointer<Float> { keys.data + (slot * heads + head) * capacity * headDim }
    /// Head `head`'s values of slot `slot`: [capacity, headDim].
    func values(slot: Int, head: Int) -> UnsafeMutablePointer<Float> { values.data + (slot * heads + head) * capacity * headDim }

    /// Copies the K and V columns of `rows` rows of a fused activation
    /// `qkv` [rows, 3·width] (columns [Q | K | V], each head by head) into
    /// positions start ..< start + rows of `slot`.
    func store(qkv: UnsafePointer<Float>, rows: Int, slot: Int, start: Int) {
        precondition(start >= 0 && start + rows <= capacity, "KV cache slot \(slot): positions \(start)..<\(start + rows) exceed \(capacity)")
        for h in 0..<heads {
            let k = keys(slot: slot, head: h) + start * headDim, v = values(slot: slot, head: h) + start * headDim
            for i in 0..<rows {
                let row = qkv + i * 3 * width + h * headDim
                (k + i * headDim).update(from: row + width, count: headDim)
                (v + i * headDim).update(from: row + 2 * width, count: headDim)
            }
        }
    }
}
