import Foundation
import TesseraSupport
import TesseraComm
import TesseraTopology
import TesseraModel
import TesseraCost

/// Starts the ranks of a layout: threads of this process, or the processes
/// of an `mpirun` job.
public enum Launcher {
    /// How the launch reports (the trace's summary): a line on stdout, flushed.
    static func say(_ line: String) {
        print(line)
        fflush(nil)
    }

    /// Which engine runs the ranks.
    public enum Backend: String, Sendable, CaseIterable {
        case threads, mpi
        /// MPI when this process was started by mpirun, threads otherwise.
        public static var automatic: Backend { MPIGroup.launchedByMPI ? .mpi : .threads }
    }

    /// Whether this process prints the job's output: always on threads, rank 0 under mpirun.
    public static var isLeaderProcess: Bool { (MPIGroup.launched?.rank ?? 0) == 0 }

    /// Runs `body` once per rank of a training `config`'s layout and returns
    /// when all have finished, after checking that the ranks on this machine
    /// fit in its memory with weights, gradients, optimizer state and
    /// activations (`MemoryEstimate`, the cost model the planner reads too)
    /// and in `--memory-budget`.
    public static func run(config: TrainConfig, backend: Backend, timeout: Double = 60,
                           _ body: @escaping @Sendable (RankGroups) throws -> Void) throws {
        let ranksHere = backend == .threads ? config.worldSize : MPIGroup.launchedOnThisNode
        try MemoryEstimate.requireBudget(config, ranksHere: ranksHere)
        try MemoryEstimate(config, ranksHere: ranksHere).require(available: MemoryEstimate.availableBytes)
        try run(Topology(config.layout), backend: backend, timeout: timeout, trace: config.trace, namesLostRanks: true, body)
    }

    /// Runs `body` once per rank of `topology` and returns when all have
    /// finished (callers check memory first: training through `run(config:)`,
    /// generation its weights and KV cache). On threads, a rank that throws
    /// aborts the others and the error is rethrown here. Under MPI, a rank
    /// that throws stops the whole job with a message naming the rank (never
    /// a hang) and the error kind's exit status, the same as on threads and
    /// on one rank. `trace` writes a Chrome trace of every rank. With
    /// `namesLostRanks` (training and verify), MPI ranks watch each other
    /// (`MPILiveness`): when ranks are lost (killed, or their node goes down),
    /// one line names them and the collective they stopped in, and the job
    /// ends with exit status 4.
    public static func run(_ topology: Topology, backend: Backend, timeout: Double = 60, trace: String? = nil,
                           namesLostRanks: Bool = false,
                           _ body: @escaping @Sendable (RankGroups) throws -> Void) throws {
        let layout = topology.layout
        switch backend {
        case .threads:
            if topology.worldSize == 1 && trace == nil { return try body(.single()) }
            try ThreadWorld.run(size: topology.worldSize, timeout: timeout) { world in
                try TraceSession.run(path: trace, layout: layout, world: world, alignClocks: false, log: say) {
                    try body(try RankGroups(topology, world: $0))
                }
            }
        case .mpi:
            try layout.requireWorldSize(MPIGroup.launched?.size ?? 1, underMPI: true)
            let world = try MPIGroup.world(timeout: timeout)
            do {
                if namesLostRanks { try MPILiveness.start(world: world, handlesTermination: true) }
                let topology = try withNodes(of: world, topology)
                try TraceSession.run(path: trace, layout: layout, world: world, alignClocks: true, log: say) {
                    try body(try RankGroups(topology, world: $0))
                }
                try world.barrier()
            } catch {
                let cause = ErrorKind.rankFailure(error, rank: world.worldRank)
                MPIGroup.abort("tessera: error: \(cause)\n", code: cause.kind.exitStatus)
            }
            MPIGroup.finalize()
        }
    }

    /// `topology` with the node boundaries MPI reports (`MPINodes`) when the
    /// caller gave none; rank 0 warns (stderr, one line) when a tp group spans
    /// nodes, or when nodes hold unequal or non-consecutive ranks (then the
    /// job is described as one node). Collective over `world`.
    static func withNodes(of world: MPIGroup, _ topology: Topology) throws -> Topology {
        guard topology.nodes == 1 else { return topology }
        let nodes = try MPINodes.of(world)
        guard nodes.ranksOnNode.count > 1 else { return topology }
        func warn(_ line: String) { if world.rank == 0 { FileHandle.standardError.write(Data((line + "\n").utf8)) } }
        guard let perNode = nodes.uniformRanksPerNode else {
            warn("tessera: warning: nodes hold \(nodes.ranksOnNode) rank(s), not equal blocks of consecutive ranks "
                 + "(mpirun --map-by slot with equal slots gives them); node boundaries are ignored")
            return topology
        }
        let placed = try Topology(topology.layout, ranksPerNode: perNode)
        if let warning = placed.tensorParallelSpanWarning { warn(warning) }
        return placed
    }
}
