import ArgumentParser
import Foundation
import Tessera

struct BenchMemory: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Per-rank memory of ZeRO 0-3 on N data-parallel thread ranks: measured after a step vs the formulas.",
        discussion: "Formulas (Ψ parameters, N ranks): 16Ψ, 8Ψ + 8Ψ/N, 4Ψ + 12Ψ/N, 16Ψ/N + gathered units.\n"
            + settingsHelp(table, defaults: ZeROMemoryBenchmark.defaultConfig))

    @Option(help: "Comma-separated data-parallel sizes.") var ranks = "1,2,4,8"
    @OptionGroup var settings: SettingArguments
    /// The shape `validate()` read and checked.
    var config: TrainConfig?

    static let table = TrainConfig.table.only(["layers", "d-model", "heads", "seq-len", "vocab", "batch", "precision"])

    enum CodingKeys: CodingKey { case ranks, settings }

    mutating func validate() throws {
        config = try reportingErrors {
            let c = try settings.given(Self.table).applied(to: ZeROMemoryBenchmark.defaultConfig)
            try c.validate()
            return c
        }
    }

    func run() throws {
        let base = config!
        try reportingErrors {
            let sizes = try ranks.split(separator: ",").map { s -> Int in
                guard let n = Int(s), (1...64).contains(n), base.batch % n == 0 else {
                    throw ConfigError("--ranks takes sizes in 1...64 that divide batch \(base.batch), got '\(s)'")
                }
                return n
            }
            let mib = { (x: Double) in String(format: "%.2f", x / 1_048_576) }
            say("Ψ = \(base.model.parameterCount) parameters, \(base.model.summary), batch \(base.batch), "
                + "\(base.precision.rawValue); MiB per rank (rank 0) after one step; model states = weights + grads "
                + "+ adam + gathered")
            say("N | zero | weights | grads | adam | gathered | model states measured | formula | measured/formula "
                + "| unreduced grads peak | activations")
            for n in sizes {
                for stage in n == 1 ? [0] : [0, 1, 2, 3] {
                    var c = base
                    c.dp = n; c.layout.zero = stage
                    let r = try ZeROMemoryBenchmark.measure(c)
                    let m = r.measured
                    say("\(n) | \(stage) | \(mib(m.weights)) | \(mib(m.gradients)) | \(mib(m.adam)) | \(mib(m.gathered)) "
                        + "| \(mib(m.modelStates)) | \(mib(r.formula.modelStates)) | "
                        + String(format: "%.3f", r.ratio) + " | \(mib(m.unreduced)) | \(mib(m.activations))")
                }
            }
        }
    }
}

struct BenchZeRO: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zero",
        abstract: "ZeRO 0-3 on dp ranks (benchmark shape): tokens/s, exposed communication share, dp volume vs Ψ.",
        discussion: "Threads: tessera bench zero [--dp 2]. MPI (one run per job): mpirun -np 2 tessera bench zero --runs 3.")

    @Option(parsing: .unconditional, help: "Data-parallel ranks (under mpirun: -np).") var dp = 2
    @Option(parsing: .unconditional, help: "Timed steps (after one warm-up step).") var steps = 3
    @Option(help: "Comma-separated runs: a stage 0-3, or 3-noprefetch.") var runs = "0,1,2,3,3-noprefetch"
    /// The (stage, prefetch) runs `validate()` read.
    var selected: [(stage: Int, prefetch: Bool)] = []

    enum CodingKeys: CodingKey { case dp, steps, runs }

    mutating func validate() throws {
        selected = try reportingErrors {
            try requireTimedSteps(steps)
            guard (2...64).contains(dp), 8 % dp == 0 else { throw ConfigError("--dp must divide batch 8 and be 2...8, got \(dp)") }
            let all = try runs.split(separator: ",").map { r -> (stage: Int, prefetch: Bool) in
                switch r {
                case "0", "1", "2", "3": return (Int(r)!, true)
                case "3-noprefetch": return (3, false)
                default: throw ConfigError("--runs takes 0, 1, 2, 3 or 3-noprefetch, got '\(r)'")
                }
            }
            if MPIGroup.launchedByMPI && all.count != 1 {
                throw ConfigError("under mpirun give one run (--runs 3): MPI ends with the job's only launch")
            }
            return all
        }
    }

    func run() throws {
        try reportingErrors {
            let backend = Launcher.Backend.automatic
            for (stage, prefetch) in selected {
                var c = TrainBenchmark.defaultConfig
                c.dp = MPIGroup.launched?.size ?? dp
                c.layout.zero = stage
                try c.validate()
                guard let r = try ZeROBenchmark.run(config: c, steps: steps, prefetch: prefetch, backend: backend)
                else { continue }
                let v = { (op: String) in String(format: "%.2f", r.volumeOverPsi[op] ?? 0) }
                say(String(format: "tessera %@ layout=%@ prefetch=%@ step=%.0fms tokens/s=%.0f exposed-comm-share=%.1f%% ",
                           backend.rawValue, r.layout, prefetch ? "on" : "off", r.medianStepSeconds * 1e3,
                           r.tokensPerSecond, 100 * r.exposedCommShare)
                    + "dp-volume/Ψ: all-reduce \(v("allReduce")) reduce-scatter \(v("reduceScatter")) all-gather \(v("allGather"))")
            }
        }
    }
}
