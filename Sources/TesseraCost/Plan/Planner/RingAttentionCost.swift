import TesseraKernels
import TesseraTopology

/// What ring attention (`RingAttention`) adds to one block on one
/// context-parallel rank, beyond the attention products `BlockCost.block`
/// prices as the causal half of s × S: the runtime's own copies, the
/// online-softmax merges its narrower key blocks add, and its messages.
///
/// With c = cp ranks, n = b·S/c rows on the rank, w = kv/t the local K (and
/// V) width and e the element bytes, the runtime:
/// - forward copies its K/V into a [n, 2w] block to send (read + write,
///   4·e·n·w bytes) and passes c − 1 blocks on (2·e·n·w bytes each);
/// - merges each visible key tile into its queries' running output: every
///   (query row, head) reads and writes its hd outputs and its max and sum
///   (2·e·hd + 16 bytes). Each rank holds chunks r and 2c − 1 − r of the
///   sequence's 2c (load-balanced), so a query row sees on average c − ½
///   whole key chunks of S/(2c) and half of its own; tiles are
///   `BlockwiseAttention.keyTile` keys wide but never cross a chunk, so a
///   row visits (c − ½)·k + (k + 1)/2 tiles, k = ⌈S/(2c) / keyTile⌉, where
///   one rank visits (⌈S/keyTile⌉ + 1)/2: the difference is the ring's;
/// - backward copies the K/V block again, zeroes a [n, 2w] dK/dV
///   accumulator and copies it home into dQKV at the end (10·e·n·w bytes
///   with the copy), and sends c − 1 K/V blocks and c dK/dV blocks.
public struct RingAttentionCost: Sendable, Equatable {
    /// Bytes read and written by the ring's copies and merges, forward and backward.
    public var forwardBytes = 0.0, backwardBytes = 0.0
    /// Point-to-point messages each way, of `messageBytes` each.
    public var forwardMessages = 0.0, backwardMessages = 0.0, messageBytes = 0.0

    /// The ring's extra work for a micro-batch of `b` sequences of `m` under `layout` (nothing at cp 1).
    public init(_ m: ModelShape, b: Double, layout: Layout, elementBytes e: Double) {
        guard layout.cp > 1 else { return }
        let c = Double(layout.cp), t = Double(layout.tp), S = Double(m.seqLen)
        let n = b * S / c, w = Double(m.kvWidth) / t, heads = Double(m.heads) / t, hd = Double(m.headDim)
        let tile = Double(BlockwiseAttention.keyTile)
        let k = (S / (2 * c) / tile).rounded(.up)
        let extraVisits = max(0, (c - 0.5) * k + (k + 1) / 2 - ((S / tile).rounded(.up) + 1) / 2)
        let merges = n * heads * extraVisits * (2 * e * hd + 16)
        forwardBytes = 4 * e * n * w + merges
        backwardBytes = 10 * e * n * w
        messageBytes = 2 * e * n * w
        forwardMessages = c - 1
        backwardMessages = 2 * c - 1
    }
}
