import ArgumentParser
import Foundation
import Tessera

struct VerifyCommand: ParsableCommand {
    /// Train's settings less those of a run that is kept (verify keeps nothing).
    static let table = TrainConfig.table.refusing(
        ["checkpoint", "checkpoint-every", "resume", "sample"],
        because: "verify trains one rank and the layout from the same seed, compares them and keeps nothing")

    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Train one rank and a layout from the same seed and compare every step's loss and every parameter.",
        discussion: """
            Exits 1 when a step's loss differs by more than --loss-tolerance (|Δloss|/|loss|) or a parameter tensor \
            by more than --param-tolerance (‖Δ‖₂/‖w‖₂: the difference's norm over the one-rank tensor's norm, after \
            the last step; max|Δ|/max|w| is printed beside it but not checked).
            Example: tessera verify --dp 2 --tp 2 --sp    (under mpirun: mpirun -np 4 tessera verify --dp 2 --tp 2 --sp)

            """ + settingsHelp(table, defaults: Equivalence.defaultConfig))

    @OptionGroup var settings: SettingArguments
    @Option(name: .customLong("loss-tolerance"), parsing: .unconditional,
            help: "Largest allowed relative loss difference per step (default 1e-5; 1e-3 with --precision bf16).")
    var lossTolerance: Double?
    @Option(name: .customLong("param-tolerance"), parsing: .unconditional,
            help: "Largest allowed ‖Δ‖₂/‖w‖₂ per parameter tensor (default 1e-4; 3e-2 with --precision bf16).")
    var paramTolerance: Double?
    /// The config `validate()` read and checked.
    var config: TrainConfig?

    enum CodingKeys: CodingKey { case settings, lossTolerance, paramTolerance }

    mutating func validate() throws {
        config = try reportingErrors {
            for (flag, value) in [("--loss-tolerance", lossTolerance), ("--param-tolerance", paramTolerance)] {
                if let value, !(value >= 0 && value.isFinite) {
                    throw ConfigError("\(flag) must be a finite number ≥ 0, got \(value)")
                }
            }
            let config = try settings.given(Self.table).applied(to: Equivalence.defaultConfig)
            try config.validate()
            return config
        }
    }

    func run() throws {
        let config = config!
        try reportingErrors {
            Compute.threads = config.kernelThreads
            let data = try TokenDataset.of(config)
            let backend = Launcher.Backend.automatic
            if Launcher.isLeaderProcess {
                say("tessera verify: one rank vs \(config.layoutName) (\(config.worldSize) ranks on "
                    + "\(backend == .mpi ? "MPI processes" : "threads")), \(config.model.summary), batch "
                    + "\(config.batch), \(config.steps) steps")
                let defaults = Equivalence.tolerances(for: config.precision)
                say("tessera verify " + Equivalence.criteria(loss: lossTolerance ?? defaults.loss,
                                                             parameter: paramTolerance ?? defaults.parameter))
            }
            // On a terminal, a live line per step; piped or quiet, nothing until the report.
            let display = ProgressDisplay(quiet: config.quiet || !Launcher.isLeaderProcess, print: say)
            guard let report = try Equivalence.run(config: config, data: data, backend: backend,
                                                   lossTolerance: lossTolerance, parameterTolerance: paramTolerance,
                                                   progress: { display.progress("verify: " + $0, logged: false) })
            else { return }
            display.clearStatus()
            for line in report.lines { say(line) }
            if !report.passed { Foundation.exit(1) }
        }
    }
}
