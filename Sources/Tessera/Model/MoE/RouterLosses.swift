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
    /// Σ over samples of the load-balancing loss α·E·Σᵢ fᵢPᵢ (unscaled; divide by samples for the mean).
    public static func loadBalancing(_ r: Routing, samples: Int, positions: Int, coefficient: Float) -> Double {
        var total = 0.0
        for s in 0..<samples {
            let (f, p) = fractions(r, sample: s, positions: positions)
            var dot = 0.0
            for i in 0..<r.experts { dot += Double(f[i]) * Double(p[i]) }
            total += Double(coefficient) * Double(r.experts) * dot
        }
        return total
    }

    /// Σ over rows of β·lse² (unscaled; divide by tokens for the mean).
    public static func zLoss(_ r: Routing, coefficient: Float) -> Double {
        r.logSumExp.reduce(0.0) { $0 + Double(coefficient) * Double($1) * Double($1) }
    }

    /// Sample `s`'s fᵢ (fraction of its choices routed to i) and Pᵢ (mean probability).
    static func fractions(_ r: Routing, sample s: Int, positions T: Int) -> (f: [Float], p: [Float]) {
        let E = r.experts, K = r.topK
        var f = [Float](repeating: 0, count: E), p = [Float](repeating: 0, count: E)
        for t in (s * T)..<((s + 1) * T) {
            for k in 0..<K { f[Int(r.choice[t * K + k])] += 1 }
            for i in 0..<E { p[i] += r.probs[t * E + i] }
        }
        for i in 0..<E { f[i] /= Float(T * K); p[i] /= Float(T) }
        return (f, p)
    }

    /// Adds the load-balancing gradient, per token `scale`·α·E·fᵢ (the
    /// per-sample loss counted T times, times 1/T from Pᵢ), to `dprobs` [rows, E].
    static func addLoadBalancingGradient(_ dprobs: inout [Float], _ r: Routing, samples: Int, positions T: Int,
                                         coefficient: Float, scale: Float) {
        let E = r.experts
        for s in 0..<samples {
            let f = fractions(r, sample: s, positions: T).f
            for t in (s * T)..<((s + 1) * T) {
                for i in 0..<E { dprobs[t * E + i] += scale * coefficient * Float(E) * f[i] }
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
