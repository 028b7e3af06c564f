import TesseraSupport

/// The one line that names a loss of ranks (`MPILiveness`): which ranks,
/// on which node and host, and the collective the surviving ranks wait for
/// them in — the operation the lost ranks stopped in (they never joined it).
///
/// `lost`: world ranks whose processes ended without a goodbye; `size`: the
/// world size; `hosts[r]`: rank r's host name (nodes are numbered by their
/// lowest rank, as `MPINodes` numbers them); `states[r]` for surviving ranks:
/// "m1,m2,…|operation" (the world ranks of the group it waits in, then what
/// it waits for), or "|" when it waits in no collective.
public struct LostRanksReport: Sendable, Equatable {
    public let lost: [Int]
    public let size: Int
    public let hosts: [String]
    public let states: [Int: String]

    public init(lost: [Int], size: Int, hosts: [String], states: [Int: String]) {
        self.lost = lost.sorted(); self.size = size; self.hosts = hosts; self.states = states
    }

    /// "2-3", "0, 2-3, 5": sorted ranks with consecutive runs joined.
    public static func ranges(_ ranks: [Int]) -> String {
        var parts: [String] = [], i = 0
        let r = ranks.sorted()
        while i < r.count {
            var j = i
            while j + 1 < r.count && r[j + 1] == r[j] + 1 { j += 1 }
            parts.append(j == i ? "\(r[i])" : "\(r[i])-\(r[j])")
            i = j + 1
        }
        return parts.joined(separator: ", ")
    }

    /// The nodes of the lost ranks: "node 1 (host node1, all 2 of its ranks)".
    var nodes: String {
        var order: [String] = []
        for h in hosts where !order.contains(h) { order.append(h) }
        var seen: [String] = []
        for r in lost where r < hosts.count && !seen.contains(hosts[r]) { seen.append(hosts[r]) }
        return seen.map { host in
            let onNode = hosts.indices.filter { hosts[$0] == host }
            let gone = onNode.filter(lost.contains)
            let share = gone.count == onNode.count ? "all \(onNode.count) of its ranks" : "\(gone.count) of its \(onNode.count) ranks"
            return "node \(order.firstIndex(of: host)!) (host \(host), \(share))"
        }.joined(separator: ", ")
    }

    /// The report, starting "tessera: error:".
    public var line: String {
        let who = lost.count == 1 ? "rank \(lost[0])" : "ranks \(Self.ranges(lost))"
        var waiting: [String] = [], elsewhere: [Int] = []
        for r in states.keys.sorted() where !lost.contains(r) {
            let parts = states[r]!.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
            let members = parts.first.map { $0.split(separator: ",").compactMap { Int($0) } } ?? []
            let what = parts.count > 1 ? String(parts[1]) : ""
            if !what.isEmpty && members.contains(where: lost.contains) {
                waiting.append("\(what) on rank \(r)")
            } else {
                elsewhere.append(r)
            }
        }
        var where_ = waiting.isEmpty ? "no surviving rank waits for them in a collective yet"
            : "they stopped in " + waiting.joined(separator: ", ")
        if !elsewhere.isEmpty && !waiting.isEmpty {
            where_ += elsewhere.count == 1 ? " (rank \(elsewhere[0]) waits elsewhere)" : " (ranks \(Self.ranges(elsewhere)) wait elsewhere)"
        }
        return "tessera: error: lost \(who) of \(size) on \(nodes): the process\(lost.count == 1 ? "" : "es") ended "
            + "without a goodbye or stopped answering (killed, crashed or the node went down); \(where_); "
            + "ending the job (exit status \(ErrorKind.communication.exitStatus))"
    }
}
