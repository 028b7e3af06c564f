/// Causal multi-head attention core on a fused qkv activation, one rank
/// holding whole sequences.
///
/// For each sample b and head h: S = Q·Kᵀ/√hd (causal), P = softmax(S) row by
/// row, Y = dropout(P)·V, computed tile by tile with `BlockwiseAttention`'s
/// online softmax: the forward saves only Y and the per-row log-sum-exp
/// [b, heads, t], never the [t, t] probabilities, and the backward
/// recomputes them tile by tile. Q, K and V are read straight out of the
/// strided qkv rows (no transposes copied); key tiles wholly above the
/// causal diagonal are skipped.
///
/// Under bf16 every product's inputs (Q, K, V, P, dY, dS) are rounded to bf16
/// and kept in float32, so the products compute exactly what bf16 × bf16 →
/// float32 instructions would, up to the order of the sums, on every CPU.
/// Softmax and its statistics stay float32.
public enum AttentionKernel {
    /// Shapes: qkv [b·t, 3·dl] with columns [Q | K | V], each dl = heads·hd
    /// (heads of this rank); y [b·t, dl]; lse [b, heads, t] (saved).
    public struct Shape: Sendable {
        public var batch: Int, seq: Int, heads: Int, headDim: Int
        /// Global index of this rank's first head (dropout coordinates).
        public var headOffset: Int
        public init(batch: Int, seq: Int, heads: Int, headDim: Int, headOffset: Int = 0) {
            self.batch = batch; self.seq = seq; self.heads = heads; self.headDim = headDim
            self.headOffset = headOffset
        }
        package var width: Int { heads * headDim }

        /// The tile parameters of (sample b, local head h).
        func head(_ b: Int, _ h: Int, dropout: DropoutSite?, sampleOffset: Int,
                  precision: Precision) -> BlockwiseAttention.Head {
            BlockwiseAttention.Head(scale: 1 / Float(headDim).squareRoot(), causal: true, dropout: dropout,
                                    featureBase: (headOffset + h) * seq, sample: sampleOffset + b,
                                    precision: precision)
        }
    }

    /// A tensor as the products read it: itself, or a bf16-rounded copy under bf16.
    package static func productInput(_ x: UnsafePointer<Float>, count: Int, _ precision: Precision) -> (UnsafePointer<Float>, Tensor?) {
        guard precision == .bf16 else { return (x, nil) }
        let rounded = Tensor(uninitialized: [count])
        BF16.round(x, into: rounded.data, count: count)
        return (UnsafePointer(rounded.data), rounded)
    }

    /// y [b·t, dl] and lse [b, heads, t] from qkv [b·t, 3·dl].
    public static func forward(y: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>,
                               qkv unrounded: UnsafePointer<Float>, shape s: Shape,
                               dropout: DropoutSite?, sampleOffset: Int, precision: Precision = .fp32) {
        let T = s.seq, hd = s.headDim, dl = s.width, ld = 3 * dl
        let pairs = s.batch * s.heads
        let (qkv, rounded) = productInput(unrounded, count: s.batch * T * ld, precision)
        let parts = Compute.parts(for: pairs)
        let scratch = Tensor(uninitialized: [parts, BlockwiseAttention.forwardScratch + 2 * T])
        Compute.parallelParts(pairs, parts: parts) { part, parts in
            let tile = scratch.data + part * (BlockwiseAttention.forwardScratch + 2 * T)
            let m = tile + BlockwiseAttention.forwardScratch, l = m + T
            for pair in (pairs * part / parts)..<(pairs * (part + 1) / parts) {
                let b = pair / s.heads, h = pair % s.heads
                let q = qkv + b * T * ld + h * hd, out = y + b * T * dl + h * hd
                for i in 0..<T { (out + i * dl).update(repeating: 0, count: hd) }
                m.update(repeating: -.infinity, count: T)
                l.update(repeating: 0, count: T)
                BlockwiseAttention.forwardTile(s.head(b, h, dropout: dropout, sampleOffset: sampleOffset,
                                                      precision: precision),
                                               q: .init(q, ld: ld, start: 0, count: T),
                                               k: .init(q + dl, ld: ld, start: 0, count: T), v: q + 2 * dl,
                                               headDim: hd, o: out, ldo: dl, m: m, l: l, scratch: tile)
                BlockwiseAttention.finish(o: out, ldo: dl, headDim: hd, count: T, m: m, l: l, lse: lse + pair * T)
            }
        }
        withExtendedLifetime(rounded) {}
    }

    /// Writes dqkv [b·t, 3·dl] from dy [b·t, dl], the forward's y and lse, and qkv.
    public static func backward(dqkv: UnsafeMutablePointer<Float>, dy unroundedDY: UnsafePointer<Float>,
                                y: UnsafePointer<Float>, lse: UnsafePointer<Float>, qkv unrounded: UnsafePointer<Float>,
                                shape s: Shape, dropout: DropoutSite?, sampleOffset: Int, precision: Precision = .fp32) {
        let T = s.seq, hd = s.headDim, dl = s.width, ld = 3 * dl
        let pairs = s.batch * s.heads
        let (qkv, rounded) = productInput(unrounded, count: s.batch * T * ld, precision)
        let (dy, roundedDY) = productInput(unroundedDY, count: s.batch * T * dl, precision)
        let parts = Compute.parts(for: pairs)
        let stride = BlockwiseAttention.backwardScratch + T
        let scratch = Tensor(uninitialized: [parts, stride])
        Compute.parallelParts(pairs, parts: parts) { part, parts in
            let tile = scratch.data + part * stride, dDot = tile + BlockwiseAttention.backwardScratch
            for pair in (pairs * part / parts)..<(pairs * (part + 1) / parts) {
                let b = pair / s.heads, h = pair % s.heads
                let q = qkv + b * T * ld + h * hd, dq = dqkv + b * T * ld + h * hd
                let dyb = dy + b * T * dl + h * hd
                for i in 0..<T { for part in 0..<3 { (dq + part * dl + i * ld).update(repeating: 0, count: hd) } }
                // D_i = dY_i · Y_i in float32 from the unrounded gradient, as the formula has it.
                BlockwiseAttention.rowDots(dO: unroundedDY + b * T * dl + h * hd, lddo: dl, o: y + b * T * dl + h * hd,
                                           ldo: dl, headDim: hd, count: T, into: dDot)
                BlockwiseAttention.backwardTile(s.head(b, h, dropout: dropout, sampleOffset: sampleOffset,
                                                       precision: precision),
                                                q: .init(q, ld: ld, start: 0, count: T),
                                                k: .init(q + dl, ld: ld, start: 0, count: T), v: q + 2 * dl,
                                                headDim: hd, dO: dyb, lddo: dl, lse: lse + pair * T, dDot: dDot,
                                                dq: dq, lddq: ld, dk: dq + dl, dv: dq + 2 * dl, lddkv: ld,
                                                scratch: tile)
            }
        }
        withExtendedLifetime((rounded, roundedDY)) {}
    }
}
