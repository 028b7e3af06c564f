import ArgumentParser
import Tessera

struct MeshCommand: ParsableCommand {
    /// The layout settings that shape the mesh.
    static let table = Layout.table.only(["dp", "pp", "cp", "tp", "order"])

    static let configuration = CommandConfiguration(
        commandName: "mesh", abstract: "Show which rank holds which mesh coordinates and every process group.",
        discussion: settingsHelp(table, defaults: Layout()))

    @OptionGroup var settings: SettingArguments
    @Option(name: .customLong("ranks-per-node"), help: "Ranks on each machine (consecutive world ranks): draws node boundaries and which groups cross them.")
    var ranksPerNode: Int?
    /// The topology `validate()` read and checked.
    var topology: Topology?

    enum CodingKeys: CodingKey { case settings, ranksPerNode }

    mutating func validate() throws {
        topology = try reportingErrors {
            let layout = try settings.given(Self.table).applied(to: Layout())
            try layout.validateMesh()
            try MeshTable.requireDrawable(layout.worldSize, layout: layout.name)
            if let r = ranksPerNode, r < 1 || layout.worldSize % r != 0 {
                let valid = (1...layout.worldSize).filter { layout.worldSize % $0 == 0 }.map(String.init)
                throw ConfigError("--ranks-per-node \(r) does not divide the \(layout.worldSize) ranks of \(layout.name); "
                                  + "valid: \(valid.joined(separator: ", "))")
            }
            return try Topology(layout, ranksPerNode: ranksPerNode)
        }
    }

    func run() throws {
        let topology = topology!
        print(MeshTable.render(topology.mesh, ranksPerNode: ranksPerNode))
        let nodes = topology.nodeLines()
        if !nodes.isEmpty { print("\n" + nodes.joined(separator: "\n")) }
        if let warning = topology.tensorParallelSpanWarning { print(warning) }
    }
}
