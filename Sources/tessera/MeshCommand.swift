import ArgumentParser
import Tessera

struct MeshCommand: ParsableCommand {
    /// The layout settings that shape the mesh.
    static let table = Layout.table.only(["dp", "pp", "cp", "tp", "order"])

    static let configuration = CommandConfiguration(
        commandName: "mesh", abstract: "Show which rank holds which mesh coordinates and every process group.",
        discussion: settingsHelp(table, defaults: Layout()))

    @OptionGroup var settings: SettingArguments
    /// The mesh `validate()` read and checked.
    var mesh: DeviceMesh?

    enum CodingKeys: CodingKey { case settings }

    mutating func validate() throws {
        mesh = try reportingErrors {
            let layout = try settings.given(Self.table).applied(to: Layout())
            try layout.validateMesh()
            return try DeviceMesh(layout)
        }
    }

    func run() throws {
        print(MeshTable.render(mesh!))
    }
}
