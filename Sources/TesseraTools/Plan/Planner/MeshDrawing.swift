import TesseraTopology

/// A layout's mesh drawn as text: one column per pipeline stage, one row
/// per data-parallel replica, each cell the ranks of one tensor-parallel
/// group (context-parallel groups separated by `|`), with where nodes begin.
/// Meshes wider or taller than `limit` show their first and last rows and columns.
public enum MeshDrawing {
    public static func lines(_ layout: Layout, gpusPerNode: Int, limit: Int = 6) throws -> [String] {
        let mesh = try DeviceMesh(layout)
        func shown(_ n: Int) -> [Int?] {
            n <= limit ? (0..<n).map { $0 } : (0..<(limit / 2)).map { $0 } + [nil] + ((n - limit / 2)..<n).map { $0 }
        }
        func cell(dp: Int, pp: Int) -> String {
            let groups = (0..<layout.cp).map { c in
                (0..<layout.tp).map { t in String(mesh.rank(at: [.dp: dp, .pp: pp, .cp: c, .tp: t])) }
                    .joined(separator: " ")
            }
            return "[" + groups.joined(separator: " | ") + "]"
        }
        let columns = shown(layout.pp), rows = shown(layout.dp)
        let width = max(cell(dp: layout.dp - 1, pp: layout.pp - 1).count, cell(dp: 0, pp: 0).count, 5) + 2
        func pad(_ s: String) -> String { s.padding(toLength: width, withPad: " ", startingAt: 0) }
        var out = ["mesh \(layout.name): dp \(layout.dp) × pp \(layout.pp) × cp \(layout.cp) × tp \(layout.tp) = "
                   + "\(layout.worldSize) devices, order \(layout.order.map(\.rawValue).joined(separator: ","))"]
        out.append("       " + columns.map { $0.map { pad("pp\($0)") } ?? pad("…") }.joined())
        for row in rows {
            guard let dp = row else { out.append("  …"); continue }
            out.append(pad("dp\(dp)").prefix(7) + columns.map { $0.map { pad(cell(dp: dp, pp: $0)) } ?? pad("…") }.joined())
        }
        let tpNode = mesh.stride(.tp) * layout.tp <= gpusPerNode
        let ppNode = mesh.stride(.pp) * layout.pp <= gpusPerNode
        let dpNode = mesh.stride(.dp) * layout.dp * layout.cp <= gpusPerNode
        out.append("[ ] one tensor-parallel group\(layout.cp > 1 ? " (| between context-parallel ranks)" : ""); "
                   + "node k holds ranks \(gpusPerNode)k ..< \(gpusPerNode)(k+1): tp "
                   + (tpNode ? "within" : "across") + " nodes, pp " + (ppNode ? "within" : "across") + " nodes, dp "
                   + (dpNode ? "within" : "across") + " nodes")
        return out
    }
}
