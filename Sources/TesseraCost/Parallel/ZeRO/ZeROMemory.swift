/// What each ZeRO stage holds per rank, by formula (Rajbhandari et al.
/// 2020, in Tessera's float32 units): with Ψ parameters on a model replica's
/// rank and N data-parallel ranks, float32 weights (4Ψ), gradients (4Ψ) and
/// AdamW's two moments (8Ψ) are
///
///     stage 0: 4Ψ + 4Ψ + 8Ψ = 16Ψ        stage 2: 4Ψ + 4Ψ/N + 8Ψ/N = 4Ψ + 12Ψ/N
///     stage 1: 4Ψ + 4Ψ + 8Ψ/N = 8Ψ + 8Ψ/N  stage 3: (4Ψ + 4Ψ + 8Ψ)/N + gathered = 16Ψ/N + gathered
///
/// where `gathered` is what stage 3 holds whole at once: with prefetch the
/// embeddings/head unit and two blocks (the one computing and the next),
/// without it one block. Under `--precision bf16` the float32 weights are
/// the master copy (sharded like the moments at stage 3 only, since the
/// LayerNorms, biases and embeddings read them at every step) and each
/// matrix also has a bf16 working copy of 2 bytes per element (4 where the
/// CPU has no native bf16 products and holds bf16 values in float32);
/// gradients and moments stay float32, so every stage adds that working
/// copy (at stage 3 only for the gathered units).
public enum ZeROMemory {
    /// Per-rank bytes of weights, gradients and moments (and `gathered` at
    /// stage 3) for `parameters` float32 parameters over `ranks` dp ranks,
    /// of which `expert` parameters (mixture-of-experts experts) shard over
    /// the `expertRanks` of the expert-data-parallel group instead.
    public static func modelStates(parameters psi: Double, ranks n: Double, stage: Int, gathered: Double,
                                   expert: Double = 0, expertRanks: Double = 1) -> MemoryBreakdown {
        let shard = { (bytesPerParameter: Double, sharded: Bool) in
            bytesPerParameter * (sharded ? (psi - expert) / n + expert / expertRanks : psi)
        }
        return MemoryBreakdown(weights: shard(4, stage >= 3), gradients: shard(4, stage >= 2), adam: shard(8, stage >= 1),
                               activations: 0, gathered: stage >= 3 ? gathered : 0)
    }

    /// Bytes stage 3 gathers at once: the outer unit (embeddings, final
    /// LayerNorm, head: `outer` parameters) and one block of `block`
    /// parameters, or two with prefetch.
    public static func gatheredBytes(outer: Double, block: Double, prefetch: Bool) -> Double {
        4 * (outer + (prefetch ? 2 : 1) * block)
    }
}
