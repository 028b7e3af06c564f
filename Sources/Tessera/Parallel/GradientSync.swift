/// Makes every rank's gradients those of the whole global batch, after the
/// micro-batches' backward passes and before clipping:
///
/// 0. With a pipeline, the first and the last stage both hold the tied
///    embedding wte; its two gradients are summed between them (Megatron's
///    embedding group).
/// 1. Under sequence parallelism, the gradients of parameters every
///    tensor-parallel rank holds whole (LayerNorms, row-parallel biases, the
///    position embedding) are partial sums over the rank's sequence chunk:
///    they are all-reduced over the tp group (Megatron's
///    allreduce_layernorm_grads).
/// 2. Data parallelism: every gradient is all-reduced over the dp group. The
///    loss was scaled by 1/(global batch tokens), so the sum over dp ranks is
///    the average of their mean gradients: the one-rank gradient.
///
/// Gradients travel in buckets (DDP's bucket_cap_mb): parameters in reverse
/// order, packed into a flat buffer of at most `bucketBytes` (a larger
/// parameter gets a bucket of its own), one all-reduce per bucket.
public final class GradientSync: @unchecked Sendable {
    /// Parameters of each data-parallel bucket, and the flat buffer it travels in.
    public let dpBuckets: [[Parameter]]
    let spBuckets: [[Parameter]]
    let buffer: Tensor
    let dp: ProcessGroup, tp: TensorParallel, embedding: ProcessGroup
    let tied: [Parameter]

    public init(parameters: [Parameter], dp: ProcessGroup, tp: TensorParallel, embedding: ProcessGroup,
                bucketBytes: Int) {
        func buckets(_ params: [Parameter]) -> [[Parameter]] {
            var out: [[Parameter]] = [], current: [Parameter] = [], bytes = 0
            for p in params.reversed() {
                if !current.isEmpty && bytes + p.grad.byteCount > bucketBytes {
                    out.append(current); current = []; bytes = 0
                }
                current.append(p); bytes += p.grad.byteCount
            }
            if !current.isEmpty { out.append(current) }
            return out
        }
        dpBuckets = dp.size > 1 ? buckets(parameters) : []
        spBuckets = tp.sequenceParallel ? buckets(parameters.filter { !$0.isSharded }) : []
        let largest = (dpBuckets + spBuckets).map { $0.reduce(0) { $0 + $1.grad.count } }.max() ?? 0
        buffer = Tensor(uninitialized: [max(1, largest)])
        self.dp = dp
        self.tp = tp
        self.embedding = embedding
        tied = embedding.size > 1 ? parameters.filter { $0.name == "wte" } : []
    }

    /// Runs steps 0, 1 and 2 on the parameters' gradients, in place.
    public func run() throws {
        for p in tied { try embedding.allReduce(p.grad, op: .sum) }
        for bucket in spBuckets { try allReduce(bucket, over: tp.group) }
        for bucket in dpBuckets { try allReduce(bucket, over: dp) }
    }

    func allReduce(_ bucket: [Parameter], over group: ProcessGroup) throws {
        if bucket.count == 1 {
            try group.allReduce(bucket[0].grad, op: .sum)
            return
        }
        var offset = 0
        for p in bucket {
            (buffer.data + offset).update(from: p.grad.data, count: p.grad.count)
            offset += p.grad.count
        }
        try group.allReduce(buffer.data, count: offset, op: .sum)
        offset = 0
        for p in bucket {
            p.grad.data.update(from: buffer.data + offset, count: p.grad.count)
            offset += p.grad.count
        }
    }
}
