import ArgumentParser
import Foundation
import Tessera

struct BenchProfile: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Measure this machine for tessera plan --hardware FILE: products, memory bandwidth, collectives.",
        discussion: """
            Measures what one rank gets while every core runs one (one engine thread each): the matrix-product \
            rate per precision fitted as r∞ and n½ over several shapes, memory bandwidth, the all-reduce α–β of \
            thread ranks, and the memory available; and, on one thread in its CPU time, a decode step's rates for \
            plan --serve (products per weight byte with 1 to 64 rows, the KV-cache attention's read rate). Under mpirun it measures the MPI backend's α–β instead and \
            adds it to the profile at --out (run it once without mpirun first).
            """)

    @Option(help: "Write the profile (JSON) to this file.") var out: String
    @Option(parsing: .unconditional, help: "Thread ranks for the collective figures (default: the cores, at least 2).")
    var ranks: Int?

    func validate() throws {
        try reportingErrors {
            if let ranks, !(2...64).contains(ranks) { throw ConfigError("--ranks must be in 2...64, got \(ranks)") }
            // Checked before measuring (a profile takes a while): a new file or an earlier profile.
            try OutputFile.check(out, what: "hardware profile", example: "profile.json") {
                Launcher.Backend.automatic == .mpi || (try? HardwareProfile.read(path: $0)) != nil
            }
        }
    }

    func run() throws {
        try reportingErrors {
            if Launcher.Backend.automatic == .mpi { return try addMPI() }
            let cores = ProcessInfo.processInfo.activeProcessorCount
            say("engine: \(MatrixEngine.summary); \(cores) cores, one rank per core")
            var matmul: [Precision: HardwareProfile.MatmulFit] = [:]
            for p in Precision.allCases {
                let fit = HardwareProfiler.fitMatmul(precision: p, ranks: cores)
                matmul[p] = fit
                say(String(format: "matmul %@: r∞ %.1f GFLOP/s per rank, n½ %.0f", p.rawValue, fit.peakFlops / 1e9, fit.halfSize))
            }
            let bandwidth = HardwareProfiler.memoryBandwidth(ranks: cores)
            say(String(format: "memory bandwidth: %.2f GB/s per rank (read + write)", bandwidth / 1e9))
            let decode = DecodeProfiler.measure()
            say("decode step (one thread, CPU time): products over fp32 weights, ms per 100 MB at "
                + zip(decode.rows, decode.secondsPerWeightByte).map { String(format: "%d rows %.2f", $0, $1 * 1e11) }
                    .joined(separator: ", ")
                + String(format: "; KV cache read at %.1f GB/s", decode.attentionBandwidth / 1e9))
            let link = try HardwareProfiler.threadLink(ranks: ranks ?? max(2, cores))
            say(String(format: "threads all-reduce: α %.1f µs, β %.2f GB/s", link.latency * 1e6, link.bandwidth / 1e9))
            let memory = MemoryEstimate.availableBytes ?? 0
            say("memory available: \(MemoryBreakdown.format(memory))")
            var profile = HardwareProfile(machine: InfoCommand.cpuModel, cores: cores, memoryBytes: memory,
                                          matmul: matmul, memoryBandwidth: bandwidth, collectives: ["threads": link])
            profile.decode = decode
            try write(profile)
        }
    }

    /// Under mpirun: the MPI backend's α–β, added to the profile at `out` by rank 0.
    func addMPI() throws {
        let world = try MPIGroup.world()
        let link = try HardwareProfiler.allReduceLink(group: world)
        if world.rank == 0 {
            var profile = try HardwareProfile.read(path: out)
            profile.collectives["mpi"] = link
            say(String(format: "mpi all-reduce (%d processes): α %.1f µs, β %.2f GB/s", world.size,
                       link.latency * 1e6, link.bandwidth / 1e9))
            try write(profile)
        }
        MPIGroup.finalize()
    }

    func write(_ profile: HardwareProfile) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(profile), to: out)
        say("wrote \(out)")
    }
}
