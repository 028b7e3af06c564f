/// The router's auxiliary losses and their gradients, per sample (the same
/// token group as `ExpertCapacity`):
///
/// - load balancing (Switch Transformer, GShard): α · E · Σᵢ fᵢ · Pᵢ, fᵢ the
///   fraction of the sample's T·K choices routed to expert i *before*
///   dropping (so a dropped choice still pushes the router away from a full
///   expert), Pᵢ the sample's mean router probability of expert i. fᵢ is a
///   count and has no gradient; ∂/∂p_{t,i} = α · E · fᵢ / T.
/// - z-loss (ST-MoE): β · logsumexp(logits)² per token; ∂/∂z_{t,i} = 2β · lse_t · p_{t,i}.
///
/// Both enter the objective like the token loss: summed per token (the
/// sample's load-balancing loss counts once for each of its T tokens) and
/// scaled by the step's loss scale, 1 / global tokens, so their totals and
/// gradients are those of the one-rank run whatever the layout: the
/// load-balancing term is the mean over the global batch's samples, the
/// z-term the mean over its tokens.
public enum RouterLosses {
    /// Σ over samples of the load-balancing loss α·E·Σᵢ fᵢPᵢ (unscaled; divide by samples for the mean),
    /// of the rows `r` holds: fᵢ the whole sample's (`Routing.loadFractions`), Pᵢ summed over these rows
    /// over the whole sample's T, so context-parallel ranks' shares add up to the sample's loss.
    public static func loadBalancing(_ r: Routing, samples: Int, positions: Int, coefficient: Float) -> Double {
        let E = r.experts, T = Float(r.seqLen)
        var total = 0.0
        for s in 0..<samples {
            var p = [Float](repeating: 0, count: E)
            for t in (s * positions)..<((s + 1) * positions) { for i in 0..<E { p[i] += r.probs[t * E + i] } }
            var dot = 0.0
            for i in 0..<E { dot += Double(r.loadFractions[s * E + i]) * Double(p[i] / T) }
            total += Double(coefficient) * Double(E) * dot
        }
        return total
    }

    /// Σ over rows of β·lse² (unscaled; divide by tokens for the mean).
    public static func zLoss(_ r: Routing, coefficient: Float) -> Double {
        r.logSumExp.reduce(0.0) { $0 + Double(coefficient) * Double($1) * Double($1) }
    }

    /// fᵢ of every sample [samples · E]: the fraction of its T·K choices routed to i, before dropping
    /// (`r` holds `samples` whole samples of T positions).
    static func fractions(_ r: Routing, samples: Int, positions T: Int) -> [Float] {
        let E = r.experts, K = r.topK
        var f = [Float](repeating: 0, count: samples * E)
        for s in 0..<samples {
            for c in (s * T * K)..<((s + 1) * T * K) { f[s * E + Int(r.choice[c])] += 1 }
            for i in 0..<E { f[s * E + i] /= Float(T * K) }
        }
        return f
    }

    /// Adds the load-balancing gradient, per token `scale`·α·E·fᵢ (the
    /// per-sample loss counted T times, times 1/T from Pᵢ), to `dprobs` [rows, E] (`samples` × `positions` rows here).
    static func addLoadBalancingGradient(_ dprobs: inout [Float], _ r: Routing, samples: Int, positions T: Int,
                                         coefficient: Float, scale: Float) {
        let E = r.experts
        for s in 0..<samples {
            for t in (s * T)..<((s + 1) * T) {
                for i in 0..<E { dprobs[t * E + i] += scale * coefficient * Float(E) * r.loadFractions[s * E + i] }
            }
        }
    }

    /// Adds the z-loss gradient `scale`·2β·lse_t·p_{t,i} to `dlogits` [rows, E].
    static func addZLossGradient(_ dlogits: UnsafeMutablePointer<Float>, _ r: Routing, coefficient: Float, scale: Float) {
        let E = r.experts
        for t in 0..<r.rows {
            let a = scale * 2 * coefficient * r.logSumExp[t]
            for i in 0..<E { dlogits[t * E + i] += a * r.probs[t * E + i] }
        }
    }
}
