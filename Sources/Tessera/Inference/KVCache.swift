/// The keys and values one block has computed, for every slot of a batch:
/// prefill writes the prompt's rows, each decode step appends one row per
/// sequence, and attention reads rows 0 ..< length of its slot.
///
/// Storage is two float32 tensors [slots, capacity, width], width = this
/// rank's heads · head dim (under tensor parallelism a rank caches only its
/// own heads). A slot is reused when its sequence finishes: the next
/// sequence overwrites it from position 0, so nothing is cleared.
public final class KVCache: @unchecked Sendable {
    /// Sequences held at once, positions per sequence, and floats per position (local heads · head dim).
    public let slots: Int, capacity: Int, width: Int
    let keys: Tensor, values: Tensor

    public init(slots: Int, capacity: Int, width: Int) {
        self.slots = slots; self.capacity = capacity; self.width = width
        keys = Tensor(uninitialized: [slots, capacity, width])
        values = Tensor(uninitialized: [slots, capacity, width])
    }

    /// Bytes held: 2 · slots · capacity · width · 4.
    public var bytes: Int { keys.byteCount + values.byteCount }

    /// Bytes one cached token costs this block on this rank: 2 · width · 4.
    public var bytesPerToken: Int { 2 * width * MemoryLayout<Float>.stride }

    /// Slot `slot`'s keys [capacity, width] (row stride `width`).
    func keys(slot: Int) -> UnsafeMutablePointer<Float> { keys.data + slot * capacity * width }
    /// Slot `slot`'s values [capacity, width].
    func values(slot: Int) -> UnsafeMutablePointer<Float> { values.data + slot * capacity * width }

    /// Copies the K and V columns of `rows` rows of a fused activation
    /// `qkv` [rows, 3·width] (columns [Q | K | V]) into positions
    /// start ..< start + rows of `slot`.
    func store(qkv: UnsafePointer<Float>, rows: Int, slot: Int, start: Int) {
        precondition(start >= 0 && start + rows <= capacity, "KV cache slot \(slot): positions \(start)..<\(start + rows) exceed \(capacity)")
        let k = keys(slot: slot) + start * width, v = values(slot: slot) + start * width
        for i in 0..<rows {
            let row = qkv + i * 3 * width
            (k + i * width).update(from: row + width, count: width)
            (v + i * width).update(from: row + 2 * width, count: width)
        }
    }
}
