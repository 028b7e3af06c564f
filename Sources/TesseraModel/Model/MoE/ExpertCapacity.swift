import Foundation

/// Which routed choices an expert takes when it has a capacity: of the
/// choices a sample sends to one expert, the first ceil(C · T · K / E) in
/// the order (router probability descending, then position ascending); the
/// rest are dropped (they add nothing; their tokens still pass through the
/// residual).
///
/// The token group is one sample's sequence (T positions). Every layout
/// routes a sample's positions together (data, pipeline and expert
/// parallelism split samples, not positions; sequence parallelism's chunks
/// are gathered first; context parallelism's router gathers the logits of
/// the whole sequence, `Router.forward`), and the group does not change
/// with the number of ranks or micro-batches, so the drop decisions of
/// every layout are the one-rank run's.
public enum ExpertCapacity {
    /// Choices one expert takes per sample of `positions` rows: ceil(C·T·K/E), or nil when C = 0 (dropless).
    public static func perSample(factor: Float, positions: Int, topK: Int, experts: Int) -> Int? {
        guard factor > 0 else { return nil }
        return Int((Double(factor) * Double(positions * topK) / Double(experts)).rounded(.up))
    }

    /// Marks the choices past each expert's capacity as dropped, sample by
    /// sample (`samples` × `positions` rows in `routing`).
    public static func apply(_ routing: inout Routing, samples: Int, positions: Int, factor: Float) {
        let K = routing.topK, E = routing.experts
        guard let capacity = perSample(factor: factor, positions: positions, topK: K, experts: E) else { return }
        for s in 0..<samples {
            let first = s * positions * K, end = first + positions * K
            var byExpert = [[Int]](repeating: [], count: E)
            for c in first..<end { byExpert[Int(routing.choice[c])].append(c) }
            for list in byExpert where list.count > capacity {
                // Stable order: probability descending, then position (choice index) ascending.
                let ordered = list.sorted { a, b in
                    let pa = routing.probs[a / K * E + Int(routing.choice[a])]
                    let pb = routing.probs[b / K * E + Int(routing.choice[b])]
                    return pa != pb ? pa > pb : a < b
                }
                for c in ordered[capacity...] { routing.kept[c] = false }
            }
        }
    }
}
