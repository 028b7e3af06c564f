/// Renders a `DeviceMesh` for people: one row per rank with its coordinates
/// and the members of its groups, then every group of each dimension.
/// Every column is as wide as its widest cell, so no group list is cut; with
/// `ranksPerNode` the rows carry a node column and a rule between nodes.
public enum MeshTable {
    /// The table for `mesh`; `ranksPerNode` (dividing the world size) draws node boundaries.
    public static func render(_ mesh: DeviceMesh, ranksPerNode: Int? = nil) -> String {
        let dims = mesh.order.reversed().filter { mesh.size($0) > 1 }  // innermost first, used dimensions only
        let shown = dims.isEmpty ? [MeshDim.tp] : dims
        let perNode = ranksPerNode.flatMap { $0 >= 1 && $0 < mesh.worldSize && mesh.worldSize % $0 == 0 ? $0 : nil }
        var lines: [String] = []
        let layout = mesh.order.map { "\($0.rawValue)=\(mesh.size($0))" }.joined(separator: " × ")
        lines.append("mesh \(layout) = \(mesh.worldSize) rank(s); order outermost→innermost: "
                     + mesh.order.map(\.rawValue).joined(separator: ", "))
        lines.append("")

        // Cells first, widths from them.
        var header = ["rank"] + (perNode == nil ? [] : ["node"]) + mesh.order.map(\.rawValue)
        let coordinateColumns = header.count
        header += shown.map { "\($0.rawValue) group" }
        var rows: [[String]] = []
        for r in 0..<mesh.worldSize {
            let c = mesh.coordinates(of: r)
            var row = ["\(r)"]
            if let perNode { row.append("\(r / perNode)") }
            row += mesh.order.map { "\(c[$0]!)" }
            row += shown.map { list(mesh.groupMembers(of: r, along: [$0])) }
            rows.append(row)
        }
        let widths = header.indices.map { i in max(header[i].count, rows.map { $0[i].count }.max() ?? 0) }
        func line(_ cells: [String]) -> String {
            var s = ""
            for (i, cell) in cells.enumerated() {
                if i >= coordinateColumns { s += "| " }
                s += cell.padding(toLength: widths[i] + 2, withPad: " ", startingAt: 0)
            }
            return String(s.reversed().drop(while: { $0 == " " }).reversed())
        }
        let headerLine = line(header)
        let rule = String(repeating: "-", count: widths.reduce(0) { $0 + $1 + 2 } + 2 * shown.count)
        lines.append(headerLine)
        lines.append(rule)
        for (r, row) in rows.enumerated() {
            if let perNode, r > 0, r % perNode == 0 {
                lines.append(String(repeating: "=", count: rule.count) + " node \(r / perNode)")
            }
            lines.append(line(row))
        }
        lines.append("")
        for d in shown {
            let groups = mesh.allGroups(along: [d])
            lines.append("\(d.rawValue) groups (\(groups.count) × \(mesh.size(d))): " + groups.map(list).joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }
}
