/// Whole (unsharded) parameter tensors of the whole model from the pieces
/// every rank of one model replica holds (tensor-parallel shards, pipeline
/// stages), and back: what checkpoints and `tessera verify` work with, so a
/// checkpoint is the same file whatever layout wrote it.
public enum FullTensors {
    /// Global tensors by parameter name on every rank of `group` (the pp × tp
    /// group). Each rank writes its primary pieces (`Placement.isPrimary`:
    /// of the copies several ranks hold, one counts) into zeros at their
    /// place and a sum all-reduce assembles them. Exact: each element is one
    /// rank's value plus zeros.
    public static func gather(_ parameters: [Parameter], _ tensors: [Tensor], layout: [(name: String, shape: [Int])],
                              group: ProcessGroup) throws -> [String: [Float]] {
        var offsets: [String: Int] = [:], total = 0
        for (name, shape) in layout { offsets[name] = total; total += shape.reduce(1, *) }
        let flat = Tensor([total])
        for (p, t) in zip(parameters, tensors) where p.placement.isPrimary { p.place(t, into: flat.data + offsets[p.name]!) }
        try group.allReduce(flat.data, count: flat.count, op: .sum)
        return Dictionary(uniqueKeysWithValues: layout.map { name, shape in
            (name, Array(UnsafeBufferPointer(start: flat.data + offsets[name]!, count: shape.reduce(1, *))))
        })
    }
}

extension GPT {
    /// Every parameter of the whole model of `config`: name and global
    /// shape, in checkpoint order (the one-rank model's `parameters`).
    public static func parameterLayout(_ config: GPTConfig) -> [(name: String, shape: [Int])] {
        let d = config.dModel
        var out = [("wte", [config.vocab, d]), ("wpe", [config.seqLen, d])]
        for i in 0..<config.layers {
            let p = "h.\(i)."
            out += [(p + "ln1.weight", [d]), (p + "ln1.bias", [d]), (p + "attn.qkv.weight", [3 * d, d]),
                    (p + "attn.qkv.bias", [3 * d]), (p + "attn.proj.weight", [d, d]), (p + "attn.proj.bias", [d]),
                    (p + "ln2.weight", [d]), (p + "ln2.bias", [d]), (p + "mlp.fc.weight", [4 * d, d]),
                    (p + "mlp.fc.bias", [4 * d]), (p + "mlp.out.weight", [d, 4 * d]), (p + "mlp.out.bias", [d])]
        }
        return out + [("lnf.weight", [d]), ("lnf.bias", [d])]
    }
}
