import Foundation
import TesseraSupport
import TesseraKernels

extension Precision: CodingKeyRepresentable {}

/// What `tessera bench profile --out FILE` measured on a machine, read back
/// by `tessera plan --hardware FILE`: the matrix-product rate of one rank per
/// precision (Hockney's r∞ and n½, fitted to products of several sizes
/// while every core is busy), memory bandwidth, the α–β figures of
/// all-reduce per collective backend, cores and memory.
public struct HardwareProfile: Codable, Sendable, Equatable {
    /// Format version (1).
    public var version = 1
    /// The CPU's model name.
    public var machine: String
    public var cores: Int
    /// Memory the machine makes available (bytes), shared by its ranks.
    public var memoryBytes: Double
    /// One rank's product figures per precision.
    public var matmul: [Precision: MatmulFit]
    /// Bytes per second one rank streams (reads + writes), every core busy.
    public var memoryBandwidth: Double
    /// α–β of each collective backend measured ("threads", and "mpi" when run under mpirun).
    public var collectives: [String: Link]
    /// A decode step's rates (one thread, CPU time); nil in profiles written before they were measured.
    public var decode: DecodeRates?

    /// A product rate fit: seconds(m, n, k) = 2mnk / r∞ · (1 + n½·(1/m + 1/n + 1/k)).
    public struct MatmulFit: Codable, Sendable, Equatable {
        /// r∞ in FLOP/s.
        public var peakFlops: Double
        /// n½.
        public var halfSize: Double
        public init(peakFlops: Double, halfSize: Double) { self.peakFlops = peakFlops; self.halfSize = halfSize }
    }

    public init(machine: String, cores: Int, memoryBytes: Double, matmul: [Precision: MatmulFit],
                memoryBandwidth: Double, collectives: [String: Link]) {
        self.machine = machine; self.cores = cores; self.memoryBytes = memoryBytes; self.matmul = matmul
        self.memoryBandwidth = memoryBandwidth; self.collectives = collectives
    }

    /// Reads and checks a profile file; a `ConfigError` naming the file and the problem otherwise.
    public static func read(path: String) throws -> HardwareProfile {
        let data = try InputFile.contents(path, what: "hardware profile", limit: 1 << 20,
                                          hint: "write one with tessera bench profile --out \(path)")
        let p: HardwareProfile
        do { p = try JSONDecoder().decode(HardwareProfile.self, from: data) } catch {
            throw ConfigError("hardware profile '\(path)' is not a profile written by tessera bench profile: \(error)")
        }
        let numbers = [p.memoryBytes, p.memoryBandwidth] + p.matmul.values.flatMap { [$0.peakFlops, $0.halfSize] }
            + p.collectives.values.flatMap { [$0.bandwidth, $0.latency] }
        guard p.version == 1, (1...1_048_576).contains(p.cores), p.matmul[.fp32] != nil, !p.collectives.isEmpty,
              numbers.allSatisfy({ $0.isFinite && $0 >= 0 && $0 < 1e20 }),
              p.matmul.values.allSatisfy({ $0.peakFlops > 0 }), p.memoryBandwidth > 0, p.memoryBytes > 0,
              p.collectives.values.allSatisfy({ $0.bandwidth > 0 }), p.decode?.isValid ?? true else {
            throw ConfigError("hardware profile '\(path)' has a missing or invalid field (version 1, cores in "
                              + "1...1048576, an fp32 matmul fit, a collective backend, finite non-negative numbers "
                              + "below 1e20, positive rates and memory, decode rates positive if present)")
        }
        return p
    }

    /// The planner's `Hardware` for ranks of collective backend `backend`
    /// ("threads" or "mpi") on this one machine: every group within the
    /// node, ranks sharing the cores and the memory.
    public func hardware(backend: String) throws -> Hardware {
        guard let link = collectives[backend] else {
            throw ConfigError("the hardware profile has no '\(backend)' collectives; it has: "
                              + collectives.keys.sorted().joined(separator: ", ")
                              + (backend == "mpi" ? " (run tessera bench profile under mpirun to measure MPI)" : ""))
        }
        let fp32 = matmul[.fp32]!
        return Hardware(name: "profile of \(machine) (\(backend))", memoryBytes: memoryBytes,
                        peakFlops: matmul.mapValues(\.peakFlops), matmulFraction: 1, halfSize: fp32.halfSize,
                        memoryBandwidth: memoryBandwidth, intraNode: link, interNode: link, gpusPerNode: 65_536,
                        sharedCores: cores, decode: decode)
    }
}
