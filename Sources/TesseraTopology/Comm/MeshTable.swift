/// Renders a `DeviceMesh` for people: one row per rank with its coordinates
/// and the members of its groups, then every group of each dimension.
public enum MeshTable {
    public static func render(_ mesh: DeviceMesh) -> String {
        let dims = mesh.order.reversed().filter { mesh.size($0) > 1 }  // innermost first, used dimensions only
        let shown = dims.isEmpty ? [MeshDim.tp] : dims
        var lines: [String] = []
        let layout = mesh.order.map { "\($0.rawValue)=\(mesh.size($0))" }.joined(separator: " × ")
        lines.append("mesh \(layout) = \(mesh.worldSize) rank(s); order outermost→innermost: "
                     + mesh.order.map(\.rawValue).joined(separator: ", "))
        lines.append("")
        var header = "rank".padding(toLength: 6, withPad: " ", startingAt: 0)
        for d in mesh.order { header += d.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0) }
        for d in shown { header += "| \(d.rawValue) group".padding(toLength: 20, withPad: " ", startingAt: 0) }
        lines.append(header)
        lines.append(String(repeating: "-", count: header.count))
        for r in 0..<mesh.worldSize {
            let c = mesh.coordinates(of: r)
            var row = "\(r)".padding(toLength: 6, withPad: " ", startingAt: 0)
            for d in mesh.order { row += "\(c[d]!)".padding(toLength: 4, withPad: " ", startingAt: 0) }
            for d in shown {
                row += "| " + list(mesh.groupMembers(of: r, along: [d])).padding(toLength: 18, withPad: " ", startingAt: 0)
            }
            lines.append(row)
        }
        lines.append("")
        for d in shown {
            let groups = mesh.allGroups(along: [d])
            lines.append("\(d.rawValue) groups (\(groups.count) × \(mesh.size(d))): " + groups.map(list).joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }
}
