import TesseraKernels
import TesseraModel

/// One float32 state of a bucket (values, or an AdamW moment) as this rank
/// holds it: `data` holds the bucket's elements `range` — the whole
/// capacity, or under ZeRO this rank's shard.
public struct BucketState {
    public let bucket: ParameterBucket
    public let data: UnsafeMutablePointer<Float>
    public let range: Range<Int>
}

/// Whole (unsharded) tensors by parameter name from bucket states, and back:
/// what checkpoints and `tessera verify` read, whatever the layout and the
/// ZeRO stage that held them. A parameter may straddle two shards; padding
/// between parameters and past the vocabulary is skipped.
public enum BucketTensors {
    /// Global tensors of the parameters in `layout` on every rank. When the
    /// states are ZeRO shards, each bucket's whole state is first
    /// all-gathered over its shard group (`shards`: dp, or the
    /// expert-data-parallel group for an expert's bucket). Then each rank
    /// writes the elements of the parameters it counts (`ModelReplica.counts`:
    /// the primary copy, and each expert on the rank that holds it) into
    /// zeros at their global place, and a sum all-reduce over `model` (the
    /// pp × tp group, × ep) assembles them. Exact: each element is one rank's
    /// value plus zeros. Collective over `model` and the shard groups.
    public static func gather(_ states: [BucketState], layout: [(name: String, shape: [Int])], model: ModelReplica,
                              shards: ZeROGroups?) throws -> [String: [Float]] {
        var offsets: [String: Int] = [:], total = 0
        for (name, shape) in layout { offsets[name] = total; total += shape.reduce(1, *) }
        var whole: [FlatBuffer] = []  // keeps the gathered buffers alive while `states` points into them
        var states = states
        if let shards {
            let requests = try states.map { s in
                let full = FlatBuffer(.float32, count: s.bucket.count)
                whole.append(full)
                return try shards.group(of: s.bucket).startAllGather(s.data, count: s.range.count, into: full.floats)
            }
            for r in requests { try r.wait() }
            states = zip(states, whole).map { BucketState(bucket: $0.bucket, data: $1.floats, range: 0..<$0.bucket.count) }
        }
        let flat = Tensor([total])
        visit(states) { p, state, element, global in
            if model.counts(p.placement) { flat.data[offsets[p.name]! + global] = state[element] }
        }
        try model.group.allReduce(flat.data, count: flat.count, op: .sum)
        withExtendedLifetime(whole) {}
        return Dictionary(uniqueKeysWithValues: layout.map { name, shape in
            (name, Array(UnsafeBufferPointer(start: flat.data + offsets[name]!, count: shape.reduce(1, *))))
        })
    }

    /// Loads every state's elements from the global tensors `full` (by
    /// parameter name, each checked present with the parameter's global shape by the caller).
    public static func scatter(_ full: [String: [Float]], into states: [BucketState]) {
        var current: (name: String, values: [Float])?
        visit(states) { p, state, element, global in
            if current?.name != p.name { current = (p.name, full[p.name]!) }
            state[element] = current!.values[global]
        }
    }

    /// Calls `body(parameter, state data, element within the state, global index)` for every element
    /// of a parameter that the states hold (padding excluded).
    static func visit(_ states: [BucketState],
                      _ body: (Parameter, UnsafeMutablePointer<Float>, Int, Int) -> Void) {
        for s in states {
            for (p, r) in zip(s.bucket.parameters, s.bucket.ranges) {
                let cut = r.clamped(to: s.range)
                for e in cut {
                    let g = p.globalIndex(e - r.lowerBound)
                    if g >= 0 { body(p, s.data, e - s.range.lowerBound, g) }
                }
            }
        }
    }
}

extension ParameterStore {
    /// Every bucket's values as this rank holds them (shards at ZeRO-3), and
    /// whether they are data-parallel shards.
    public var valueStates: (states: [BucketState], sharded: Bool) {
        (buckets.map { b in
            zero.shardsParameters ? BucketState(bucket: b, data: b.ownedValues, range: b.owned)
                                  : BucketState(bucket: b, data: b.values.floats, range: 0..<b.count)
        }, zero.shardsParameters)
    }

    /// Stages 1 and 2: after AdamW updated each rank's shard of the values,
    /// all-gathers them in place so every rank holds the whole updated
    /// buffers (collective over each bucket's group in `groups`). Nothing to do at stages 0 and 3.
    public func gatherUpdatedValues(over groups: ZeROGroups) throws {
        guard zero.shardsOptimizer && !zero.shardsParameters else { return }
        let requests = try buckets.map { b in
            try groups.group(of: b).startAllGather(b.ownedValues, count: b.owned.count, into: b.values.floats)
        }
        for r in requests { try r.wait() }
    }
}

extension AdamW {
    /// Every bucket's first and second moments as this rank holds them (its
    /// shards under ZeRO), and whether they are data-parallel shards.
    public var momentStates: (m: [BucketState], v: [BucketState], sharded: Bool) {
        let b = store.buckets
        return (b.indices.map { BucketState(bucket: b[$0], data: moments($0).m.floats, range: b[$0].owned) },
                b.indices.map { BucketState(bucket: b[$0], data: moments($0).v.floats, range: b[$0].owned) },
                store.zero.shardsOptimizer)
    }
}
