import ArgumentParser
import Tessera

struct MeshCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesh", abstract: "Show which rank holds which mesh coordinates and every process group.")

    @Option(help: "Data-parallel size.") var dp = 1
    @Option(help: "Pipeline-parallel size.") var pp = 1
    @Option(help: "Context-parallel size.") var cp = 1
    @Option(help: "Tensor-parallel size.") var tp = 1
    @Option(help: "Dimension order, outermost first (default pp,dp,cp,tp: tp on neighbouring ranks).")
    var order = "pp,dp,cp,tp"

    func run() throws {
        try reportingErrors {
            _ = try SizeLimits.product([("--dp", dp), ("--pp", pp), ("--cp", cp), ("--tp", tp)],
                                       atMost: SizeLimits.meshRanks, of: "ranks")
            let dims: [MeshDim] = try parseNames(order, flag: "--order")
            print(MeshTable.render(try DeviceMesh(dp: dp, pp: pp, cp: cp, tp: tp, order: dims)))
        }
    }
}
