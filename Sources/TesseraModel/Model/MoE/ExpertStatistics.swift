/// What one mixture-of-experts block's routing did over the training
/// micro-batches since the last `reset` (recorded in backward, so
/// evaluation and recomputation do not count): choices routed to each
/// expert before dropping, choices dropped, and the auxiliary losses' sums.
public final class ExpertStatistics: @unchecked Sendable {
    /// Choices routed to each expert, before dropping [E].
    public private(set) var routed: [Double]
    /// Choices dropped by capacity, and all choices (rows · K).
    public private(set) var dropped = 0.0, choices = 0.0
    /// Σ over samples of the load-balancing loss, Σ over tokens of the z-loss (both with their coefficients).
    public private(set) var loadBalancing = 0.0, zLoss = 0.0

    public init(experts: Int) { routed = [Double](repeating: 0, count: experts) }

    /// Counts one micro-batch's routing of `samples` × `positions` rows.
    func record(_ r: Routing, samples: Int, positions: Int, aux: Float, z: Float) {
        for (e, n) in r.routedPerExpert.enumerated() { routed[e] += Double(n) }
        dropped += Double(r.dropped)
        choices += Double(r.rows * r.topK)
        loadBalancing += RouterLosses.loadBalancing(r, samples: samples, positions: positions, coefficient: aux)
        zLoss += RouterLosses.zLoss(r, coefficient: z)
    }

    public func reset() {
        routed = routed.map { _ in 0 }
        dropped = 0; choices = 0; loadBalancing = 0; zLoss = 0
    }

    /// Everything as one flat vector [E + 4] (routed…, dropped, choices, load balancing, z), for summing across ranks.
    public var flat: [Double] { routed + [dropped, choices, loadBalancing, zLoss] }
}
