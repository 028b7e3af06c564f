import TesseraKernels
import TesseraComm
import TesseraTopology

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
    /// This rank's parameters as (name, global shape), each global shape
    /// from the parameter's placement (`Placement.globalShape(local:)`).
    public var heldLayout: [(name: String, shape: [Int])] { parameters.map { ($0.name, $0.globalShape) } }

    /// Every parameter of the whole model of `config`: name and global
    /// shape, in checkpoint order. Read from the one-rank model as its
    /// layers build it, declared without storage (`Parameter.declaring`).
    public static func parameterLayout(_ config: GPTConfig) -> [(name: String, shape: [Int])] {
        Parameter.declaring { GPT(config, seed: 0) }.heldLayout
    }
}
