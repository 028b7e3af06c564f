import ArgumentParser
import Foundation
import Synchronization
import Tessera

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks that print figures for BENCHMARKS.md.",
        subcommands: [BenchTrain.self, BenchParallel.self, BenchPipeline.self, BenchActivations.self, BenchComm.self,
                      BenchProfile.self, BenchGenerate.self, BenchTrace.self, BenchMemory.self, BenchZeRO.self,
                      BenchExperts.self, BenchWeights.self])
}

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training throughput on the benchmark shape (6 layers, d=512, 8 heads, T=256, batch 8, vocab 256).",
        discussion: settingsHelp(table, defaults: TrainBenchmark.defaultConfig))

    @Option(parsing: .unconditional, help: "Kernel threads.") var threads = 1
    @Option(parsing: .unconditional, help: "Timed steps (after one warm-up step).") var steps = 5
    @Option(help: "Write a Chrome/Perfetto trace of the run here.") var trace: String?
    @OptionGroup var settings: SettingArguments
    /// The shape `validate()` read and checked.
    var config: TrainConfig?

    /// The shape settings this benchmark takes (train's keys, the benchmark shape as defaults).
    static let table = TrainConfig.table.only(["layers", "d-model", "heads", "seq-len", "batch", "precision", "recompute",
                                               "arch", "kv-heads", "ffn-hidden", "rope-theta"])

    enum CodingKeys: CodingKey { case threads, steps, trace, settings }

    mutating func validate() throws {
        config = try reportingErrors {
            guard (1...4096).contains(threads) else { throw ConfigError("--threads must be in 1...4096, got \(threads)") }
            try requireTimedSteps(steps)
            var c = try settings.given(Self.table).applied(to: TrainBenchmark.defaultConfig)
            try c.validate()
            c.trace = trace
            if let trace { try OutputPreflight.checkTrace(trace) }
            return c
        }
    }

    func run() throws {
        let c = config!
        try reportingErrors {
            say("engine: \(MatrixEngine.summary)")
            let display = ProgressDisplay(quiet: false, print: say)  // a live line on a terminal, nothing when piped
            let r = try TrainBenchmark.run(config: c, threads: threads, steps: steps) { display.progress($0, logged: false) }
            display.clearStatus()
            say(String(format: "tessera precision=%@ params=%d threads=%d step=%.0fms tokens/s=%.0f GFLOP/s=%.1f "
                       + "%@-peak=%.1fGFLOP/s step-cpu=%.0fms MFU=%.1f%% (per CPU second: %.1f of %.1f GFLOP) peak-mem=",
                       r.precision.rawValue, r.parameters, r.threads, r.medianStepSeconds * 1e3, r.tokensPerSecond,
                       r.gflops, r.precision.rawValue, r.peakGflops, r.medianStepCPUSeconds * 1e3, 100 * r.mfu,
                       r.flopsPerStep / r.medianStepCPUSeconds / 1e9, r.peakGflopsPerCPUSecond)
                + (r.peakResidentBytes.map(ProcessMemory.format) ?? "n/a"))
        }
    }
}

struct BenchParallel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parallel",
        abstract: "Tokens/s and communication share of layouts on threads, benchmark shape, global batch 16.",
        discussion: "Example: tessera bench parallel --layouts dp2,tp2,tp2+sp (ratios are printed against the first).")

    @Option(help: "Comma-separated layout names (as train prints them): dpN, tpN, dpNxtpM, ppN(1f1b), with +sp.")
    var layouts = "dp2,tp2,tp2+sp"
    @Option(parsing: .unconditional, help: "Timed steps (after one warm-up step).") var steps = 5
    @Option(parsing: .unconditional, help: "Global batch in sequences.") var batch = 16
    @Option(parsing: .unconditional, help: "Sequence length (default: the benchmark shape's).") var seqLen: Int?
    @Flag(help: "Compare the data-parallel gradient sync during and after backward (always under mpirun, one layout).")
    var overlap = false
    @Option(help: "Write a Chrome/Perfetto trace of each layout's run here (FILE-LAYOUT.json when several).")
    var trace: String?
    /// The layouts `validate()` read and checked, on the benchmark shape.
    var configs: [TrainConfig] = []

    enum CodingKeys: CodingKey { case layouts, steps, batch, seqLen, overlap, trace }

    mutating func validate() throws {
        configs = try reportingErrors {
            try requireTimedSteps(steps)
            var base = TrainBenchmark.defaultConfig
            base.batch = batch
            if let seqLen { base.model.seqLen = seqLen }
            let names = layouts.split(separator: ",").map(String.init)
            guard !names.isEmpty else { throw ConfigError("--layouts names no layout; give comma-separated names such as dp2,tp2") }
            return try names.map { name in
                var c = try ParallelBenchmark.layout(name, base: base)
                c.trace = tracePath(trace, label: c.layoutName, many: names.count > 1)
                if let path = c.trace { try OutputPreflight.checkTrace(path) }
                return c
            }
        }
    }

    func run() throws {
        try reportingErrors {
            if Launcher.Backend.automatic == .mpi || overlap {
                // Under mpirun the job is one layout; compare its gradient sync during and after backward.
                for c in configs {
                    guard let (on, off) = try ParallelBenchmark.overlapComparison(config: c, steps: steps,
                                                                                  backend: .automatic) else { continue }
                    let progress = Launcher.Backend.automatic != .mpi ? ""
                        : MPIGroup.progressesInBackground ? " (mpi progress thread)" : " (no mpi progress thread)"
                    for (r, mode) in [(on, "during backward" + progress), (off, "after backward")] {
                        say(String(format: "tessera %@ layout=%@ ranks=%d grad-sync %@: step=%.0fms tokens/s=%.0f exposed-comm-share=%.1f%%",
                                   Launcher.Backend.automatic.rawValue, r.layout, r.ranks, mode,
                                   r.medianStepSeconds * 1e3, r.tokensPerSecond, 100 * r.commShare))
                    }
                }
                return
            }
            var first: Double?
            for c in configs {
                let r = try ParallelBenchmark.run(config: c, steps: steps)
                first = first ?? r.tokensPerSecond
                say(String(format: "tessera layout=%@ ranks=%d step=%.0fms tokens/s=%.0f vs-first=%.2fx comm-share=%.1f%%",
                           r.layout, r.ranks, r.medianStepSeconds * 1e3, r.tokensPerSecond,
                           r.tokensPerSecond / first!, 100 * r.commShare))
            }
        }
    }
}

struct BenchPipeline: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "pp2 with each schedule on the benchmark shape: tokens/s vs dp2, measured vs simulated bubble.")

    /// The pipeline settings this benchmark takes, and their defaults here.
    static let table = Layout.table.only(["pp", "micro-batches"])
    static var defaults: Layout { var l = Layout(); l.pp = 2; l.microBatches = 8; return l }

    @OptionGroup var settings: SettingArguments
    @Option(help: "Comma-separated schedules.") var schedules = "gpipe,1f1b,interleaved,zb-h1"
    @Option(parsing: .unconditional, help: "Timed steps (after one warm-up step).") var steps = 3
    @Option(parsing: .unconditional, help: "Global batch in sequences.") var batch = 16
    @Option(help: "Write each traced step as SVG with this prefix (PREFIX-<schedule>.svg).") var svg: String?
    @Option(help: "Write a Chrome/Perfetto trace of each schedule's run here (FILE-SCHEDULE.json).") var trace: String?
    /// The dp reference and one pipeline config per schedule, read and checked by `validate()`.
    var configs: (reference: TrainConfig, pipelines: [TrainConfig])?

    enum CodingKeys: CodingKey { case settings, schedules, steps, batch, svg, trace }

    mutating func validate() throws {
        configs = try reportingErrors {
            try requireTimedSteps(steps)
            let layout = try settings.given(Self.table).applied(to: Self.defaults)
            let kinds: [PipelineScheduleKind] = try parseNames(schedules, flag: "--schedules")
            let (reference, pipelines) = try PipelineBenchmark.configs(layout: layout, batch: batch, schedules: kinds)
            return (reference, try pipelines.map { c in
                var c = c
                c.trace = tracePath(trace, label: c.schedule.rawValue, many: true)
                if let path = c.trace { try OutputPreflight.checkTrace(path) }
                if let svg {
                    try OutputFile.check("\(svg)-\(c.schedule.rawValue).svg", what: "timeline", example: "bench.svg",
                                         replaceable: TimelineRenderer.drewSVG)
                }
                return c
            })
        }
    }

    func run() throws {
        let (reference, pipelines) = configs!
        try reportingErrors {
            let dp = try ParallelBenchmark.run(config: reference, steps: steps)
            say(String(format: "tessera layout=%@ tokens/s=%.0f", dp.layout, dp.tokensPerSecond))
            for c in pipelines {
                let microbatches = c.microBatches, name = c.schedule.rawValue
                let r = try PipelineBenchmark.run(config: c, steps: steps)
                say(String(format: "tessera layout=%@ m=%d tokens/s=%.0f vs-dp=%.2fx bubble measured=%.1f%% simulated=%.1f%% (diff %.1f%% of simulated)",
                           r.layout, microbatches, r.tokensPerSecond, r.tokensPerSecond / dp.tokensPerSecond,
                           100 * r.measuredBubble, 100 * r.predictedBubble,
                           100 * abs(r.measuredBubble - r.predictedBubble) / max(r.predictedBubble, 1e-12)))
                if let svg {
                    try AtomicFile.write(TimelineRenderer.svg(r.timeline, title: "measured \(r.layout) m=\(microbatches)"),
                                         to: "\(svg)-\(name).svg")
                }
            }
        }
    }
}

struct BenchActivations: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "activations",
        abstract: "Activation bytes per layer per rank under TP and TP+SP, beside Korthikanti et al. 2022.")

    @Option(help: "Comma-separated tensor-parallel sizes.") var tp = "1,2,4"
    @Option(parsing: .unconditional, help: "Micro-batch in sequences.") var batch = 8
    @Option(help: "Comma-separated recomputation modes: none, selective, full.") var recompute = "none"
    @Option(help: "Comma-separated context-parallel sizes: prints the long-context table instead (one layer, d 128, 4 heads, batch 1).")
    var cp: String?
    @Option(help: "Comma-separated sequence lengths of the long-context table.")
    var seqLens = "1024,2048,4096,8192,16384,32768"

    func validate() throws {
        try reportingErrors {
            guard (1...4096).contains(batch) else { throw ConfigError("--batch must be in 1...4096, got \(batch)") }
            let _: [Recompute] = try parseNames(recompute, flag: "--recompute")
            _ = try contextTable()
        }
    }

    /// The long-context table's cp sizes and sequence lengths (nil without --cp), checked.
    func contextTable() throws -> (cp: [Int], seqLens: [Int])? {
        guard let cp else { return nil }
        func list(_ text: String, _ flag: String, _ ok: (Int) -> Bool, _ valid: String) throws -> [Int] {
            try text.split(separator: ",").map { s in
                guard let n = Int(s), ok(n) else { throw ConfigError("--\(flag) takes \(valid), got '\(s)'") }
                return n
            }
        }
        let sizes = try list(cp, "cp", { (1...64).contains($0) }, "sizes in 1...64")
        let lengths = try list(seqLens, "seq-lens", { (2...1_048_576).contains($0) }, "lengths in 2...1048576")
        for T in lengths { for n in sizes where T % (2 * n) != 0 {
            throw ConfigError("--seq-lens \(T) is not divisible by 2·cp = \(2 * n) (each sequence is cut into 2·cp chunks)")
        } }
        return (sizes, lengths)
    }

    func run() throws {
        try reportingErrors {
            if let (sizes, lengths) = try contextTable() {
                var config = GPTConfig(vocab: 256, seqLen: 1024, layers: 1, dModel: 128, heads: 4, dropout: 0.1)
                say("per layer, cp rank 0; b=1 h=\(config.dModel) a=\(config.heads); Tessera formula at s = T/cp; "
                    + "'with T×T probabilities' is what the layer saved before blockwise attention")
                say("T | cp | measured MiB | Tessera formula MiB | with T×T probabilities MiB")
                for T in lengths {
                    config.seqLen = T
                    for n in sizes {
                        let r = try ActivationMemory.measure(config: config, batch: 1, cp: n)
                        say(String(format: "%d | %d | %.2f | %.2f | %.1f", T, n, Double(r.measured) / 1_048_576,
                                   Double(r.tesseraFormula) / 1_048_576, r.withProbabilities / 1_048_576))
                    }
                }
                return
            }
            let sizes = try tp.split(separator: ",").map { s -> Int in
                guard let n = Int(s), n >= 1, 8 % n == 0 else { throw ConfigError("--tp takes divisors of 8 heads, got '\(s)'") }
                return n
            }
            let config = TrainBenchmark.defaultConfig.model
            say("per layer, tp rank 0; s=\(config.seqLen) b=\(batch) h=\(config.dModel) a=\(config.heads); "
                + "Korthikanti: 2-byte activations + 1-byte masks; Tessera: float32, masks regenerated")
            say("layout | recompute | measured MiB | Tessera formula MiB | Korthikanti MiB (no recompute) | measured / Korthikanti")
            let modes: [Recompute] = try parseNames(recompute, flag: "--recompute")
            for t in sizes {
                for sp in t > 1 ? [false, true] : [false] {
                    for mode in modes {
                        let r = try ActivationMemory.measure(config: config, batch: batch, tp: t, sp: sp, recompute: mode)
                        let mib = { (x: Double) in x / 1_048_576 }
                        say(String(format: "tp%d%@ | %@ | %.2f | %.2f | %.2f | %.2f", t, sp ? "+sp" : "", mode.rawValue,
                                   mib(Double(r.measured)), mib(Double(r.tesseraFormula)), mib(r.korthikanti),
                                   Double(r.measured) / r.korthikanti))
                    }
                }
            }
        }
    }
}

struct BenchComm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "comm",
        abstract: "Collective bandwidth (nccl-tests style) per operation, size and rank count, beside memcpy bandwidth.",
        discussion: "Thread backend: tessera bench comm --ranks 2,4,8. MPI: mpirun -np N tessera bench comm.")

    @Option(help: "auto, thread or mpi (auto: mpi under mpirun).") var backend: BackendChoice = .auto
    @Option(help: "Comma-separated rank counts (thread backend).") var ranks = "2,4,8"
    @Option(name: .customLong("max-mib"), parsing: .unconditional, help: "Largest message in MiB.") var maxMiB = 256
    @Option(name: .customLong("min-mib"), parsing: .unconditional, help: "Smallest message in MiB (default 4 KiB).") var minMiB: Double = 0
    @Option(help: "Comma-separated operations (default all): all_reduce, all_gather, reduce_scatter, all_to_all.")
    var ops = CommBenchmark.Op.allCases.map(\.rawValue).joined(separator: ",")
    @Flag(help: "Under mpirun on several nodes: each operation flat and in two levels (node, across nodes, node), side by side; all_to_all is left out.")
    var hierarchical = false

    func validate() throws {
        try reportingErrors {
            let chosen: [CommBenchmark.Op] = try parseNames(ops, flag: "--ops")
            if hierarchical {
                guard backend.resolved == .mpi else { throw ConfigError("--hierarchical needs the MPI backend (run under mpirun across nodes)") }
                guard chosen.contains(where: HierarchicalCommBenchmark.ops.contains) else {
                    throw ConfigError("--hierarchical times all_reduce, reduce_scatter, all_gather; --ops \(ops) has none of them")
                }
            }
            guard (1...4096).contains(maxMiB) else { throw ConfigError("--max-mib must be in 1...4096, got \(maxMiB)") }
            guard minMiB >= 0, minMiB <= Double(maxMiB) else {
                throw ConfigError("--min-mib must be in 0...\(maxMiB) (--max-mib), got \(minMiB)")
            }
        }
    }

    func run() throws {
        try reportingErrors {
            let selected: [CommBenchmark.Op] = try parseNames(ops, flag: "--ops")
            let sizes = CommBenchmark.sizes(maxBytes: maxMiB << 20).filter { Double($0) >= minMiB * 1_048_576 }
            if backend.resolved == .mpi {
                if hierarchical {
                    return try HierarchicalCommBenchmark.runMPI(ops: selected, sizes: sizes, preamble: printPreamble, say: say)
                }
                return try CommBenchmark.runMPI(ops: selected, sizes: sizes, preamble: printPreamble) {
                    say(CommBenchmark.format($0, backend: "mpi"))
                }
            }
            let counts = try ranks.split(separator: ",").map { s -> Int in
                guard let n = Int(s), n >= 2 else { throw ConfigError("--ranks takes counts of at least 2, got '\(s)'") }
                return n
            }
            printPreamble()
            try CommBenchmark.runThreads(ranks: counts, ops: selected, sizes: sizes) {
                say(CommBenchmark.format($0, backend: "thread"))
            }
        }
    }

    func printPreamble() {
        say(String(format: "memcpy bandwidth (1 thread, 256 MiB): %.2f GB/s", CommBenchmark.memcpyBandwidth()))
        say(CommBenchmark.header)
    }
}

/// Throws unless a benchmark's timed-step count is in 1...10000.
func requireTimedSteps(_ steps: Int) throws {
    guard (1...10_000).contains(steps) else { throw ConfigError("--steps must be in 1...10000, got \(steps)") }
}

struct BenchTrace: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace", abstract: "Nanoseconds one traced region costs with tracing off and on.")

    func run() throws {
        let (off, on) = TraceOverheadBenchmark.regionCost()
        say(String(format: "tessera trace region: off %.1f ns, on %.1f ns per region (begin + end)", off, on))
    }
}
