import ArgumentParser
import Foundation
import Tessera

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Train one rank and a layout from the same seed and compare every step's loss and every parameter.",
        discussion: """
            Defaults: 2 layers, d-model 64, 4 heads, seq-len 32, batch 8, dropout 0.1, 20 steps; any training \
            flag overrides them. Exits 1 when a loss differs by more than --loss-tolerance (relative) or a \
            parameter tensor by more than --param-tolerance (max |diff| / max |value|).
            Example: tessera verify --dp 2 --tp 2 --sp    (under mpirun: mpirun -np 4 tessera verify --dp 2 --tp 2 --sp)
            """)

    @OptionGroup var options: ConfigOptions
    @Option(name: .customLong("loss-tolerance"),
            help: "Largest allowed relative loss difference per step (default 1e-5; 1e-3 with --precision bf16).")
    var lossTolerance: Double?
    @Option(name: .customLong("param-tolerance"),
            help: "Largest allowed relative difference per parameter tensor (default 1e-4; 3e-2 with --precision bf16).")
    var paramTolerance: Double?

    func run() throws {
        try reportingErrors {
            for (flag, value) in [("--loss-tolerance", lossTolerance), ("--param-tolerance", paramTolerance)] {
                if let value, !(value >= 0 && value.isFinite) {
                    throw ConfigError("\(flag) must be a finite number ≥ 0, got \(value)")
                }
            }
            let config = try options.resolve(base: Equivalence.defaultConfig)
            Compute.threads = config.kernelThreads
            let data = try TokenDataset.of(config)
            let backend = Launcher.Backend.automatic
            if Launcher.isLeaderProcess {
                say("tessera verify: one rank vs \(config.layoutName) (\(config.worldSize) ranks on "
                    + "\(backend == .mpi ? "MPI processes" : "threads")), \(config.model.summary), batch "
                    + "\(config.batch), \(config.steps) steps")
            }
            guard let report = try Equivalence.run(config: config, data: data, backend: backend,
                                                   lossTolerance: lossTolerance, parameterTolerance: paramTolerance)
            else { return }
            for line in report.lines { say(line) }
            if !report.passed { Foundation.exit(1) }
        }
    }
}
