/// What a layout's node boundaries mean for its groups: which groups stay
/// inside a machine (shared memory) and which cross the network, drawn for
/// `tessera mesh --ranks-per-node` and the training banner.
extension Topology {
    /// The kinds of group a multi-node run cares about, innermost first, those with more than one rank.
    var nodeKinds: [GroupKind] {
        [.tp, .cp, .pp, .dp, .dpcp, .ep, .expertData].filter { kind in
            size(kind) > 1 && !(kind == .dpcp && (layout.cp == 1 || layout.dp == 1))
                && !((kind == .ep || kind == .expertData) && layout.ep == 1)
        }
    }

    /// One line per node (its ranks with their dp, pp, cp, tp coordinates), then
    /// one per group kind saying whether its groups stay within nodes or cross them.
    /// Empty on one node.
    public func nodeLines() -> [String] {
        guard nodes > 1 else { return [] }
        var lines = ["nodes: \(nodes) × \(ranksPerNode) rank(s)"]
        let dims = layout.order.filter { mesh.size($0) > 1 }
        for n in 0..<nodes {
            let ranks = (n * ranksPerNode) ..< ((n + 1) * ranksPerNode)
            let cells = ranks.map { r -> String in
                let c = coordinates(of: r)
                let coords = dims.map { "\($0.rawValue)\(c[$0]!)" }.joined(separator: " ")
                return coords.isEmpty ? "\(r)" : "\(r) (\(coords))"
            }
            lines.append("  node \(n) │ " + cells.joined(separator: " │ ") + " │")
        }
        for kind in nodeKinds {
            let all = groups(kind), crossing = all.filter(spansNodes)
            let name = kind == .dpcp ? "dp×cp" : kind == .expertData ? "expert-dp" : kind.rawValue
            let shown = Self.list(crossing.isEmpty ? all : crossing)
            lines.append("  \(name) groups " + (crossing.isEmpty ? "within nodes: \(shown)"
                : "across nodes (\(crossing.count) of \(all.count), over the network): \(shown)"))
        }
        return lines
    }

    /// A one-line warning when a tensor-parallel group spans nodes (its
    /// all-reduces, several per layer and step, would cross the network); nil otherwise.
    public var tensorParallelSpanWarning: String? {
        let crossing = groupsSpanningNodes(.tp)
        guard !crossing.isEmpty else { return nil }
        return "tessera: warning: tp groups \(Self.list(crossing)) span nodes (\(ranksPerNode) rank(s) per node): "
            + "every tensor-parallel all-reduce crosses the network; keep tp within a node "
            + "(tp dividing \(ranksPerNode), tp innermost in --order)"
    }

    /// The two levels of `rank`'s group of `kind` for hierarchical collectives
    /// (`HierarchicalGroup`): its members on `rank`'s node, and its members
    /// with `rank`'s place among them on every node. Nil unless every group of
    /// `kind` spans nodes with the same number (more than one) of members on
    /// each node it touches: otherwise one level is all there is.
    public func hierarchy(_ kind: GroupKind, of rank: Int) -> (intra: [Int], inter: [Int])? {
        guard nodes > 1 else { return nil }
        func byNode(_ members: [Int]) -> [[Int]] {
            var out: [[Int]] = []
            for m in members { if let last = out.last?.last, node(of: last) == node(of: m) { out[out.count - 1].append(m) } else { out.append([m]) } }
            return out
        }
        for g in groups(kind) {
            let parts = byNode(g)
            guard parts.count > 1, parts[0].count > 1, parts.allSatisfy({ $0.count == parts[0].count }) else { return nil }
        }
        let parts = byNode(members(kind, of: rank))
        guard let intra = parts.first(where: { $0.contains(rank) }), let place = intra.firstIndex(of: rank) else { return nil }
        return (intra, parts.map { $0[place] })
    }

    static func list(_ groups: [[Int]], limit: Int = 8) -> String {
        let shown = groups.prefix(limit).map { "[" + $0.map(String.init).joined(separator: ", ") + "]" }
        return shown.joined(separator: " ") + (groups.count > limit ? " … (\(groups.count) groups)" : "")
    }
}
