import Foundation

/// The process groups one rank trains with, cut from the world by a
/// `DeviceMesh` (default order pp, dp, cp, tp: a tensor-parallel group is
/// consecutive ranks).
public struct RankGroups: Sendable {
    /// Every rank of the job.
    public let world: ProcessGroup
    public let mesh: DeviceMesh
    /// The tensor-parallel group and whether sequence parallelism is on.
    public let tp: TensorParallel
    /// The data-parallel group (each rank reads its share of the batch), counted.
    public let dp: CountingGroup
    /// The context-parallel group and its attention mode.
    public let cp: ContextParallel
    /// The data- and context-parallel ranks (dp × cp): every rank holding
    /// the same parameters, whose gradients and losses are partial sums over
    /// different tokens (Megatron's data-parallel group with context parallelism).
    public let dpcp: CountingGroup
    /// The pipeline group (point-to-point between stages), counted.
    public let pp: CountingGroup
    /// Every rank holding part of one model replica: pp × tp, × ep with expert parallelism.
    public let model: ModelReplica
    /// The expert-parallel group: consecutive dp × cp ranks (numbered dp-major), each holding E/ep experts.
    public let ep: ExpertParallel
    /// The expert-data-parallel group: the data-parallel ranks holding the
    /// same experts (one per expert-parallel group), over which the experts'
    /// gradients are summed (dp × cp itself when ep is 1).
    public let expertData: CountingGroup
    /// The first and the last pipeline stage of this rank's (dp, tp) column,
    /// which both hold the tied embedding (a group of one for middle stages or pp = 1).
    public let embedding: ProcessGroup

    /// Cuts the groups of `config`'s layout from `world` (collective: every
    /// rank calls it). `world.size` must equal dp · pp · cp · tp.
    public init(config: TrainConfig, world: ProcessGroup & ProcessGroupFactory) throws {
        try config.requireWorldSize(world.size, underMPI: false)
        self.world = world
        mesh = try DeviceMesh(config.layout)
        tp = TensorParallel(group: mesh.group([.tp], world: world), sequenceParallel: config.sp)
        dp = CountingGroup(mesh.group([.dp], world: world))
        cp = ContextParallel(group: mesh.group([.cp], world: world), mode: config.layout.cpMode)
        dpcp = config.layout.cp == 1 ? dp : CountingGroup(mesh.group([.dp, .cp], world: world))
        let ppGroup = CountingGroup(mesh.group([.pp], world: world))
        pp = ppGroup
        // Expert parallelism: the dp × cp ranks numbered dp-major (d·cp + c), in ep blocks of consecutive
        // numbers (ep divides dp·cp); the expert-data group is the ranks at the same place in every block.
        let epSize = config.layout.ep, mesh = self.mesh, cpSize = config.layout.cp
        func dataIndex(_ r: Int) -> Int { let c = mesh.coordinates(of: r); return c[.dp]! * cpSize + c[.cp]! }
        let block = dataIndex(world.worldRank) / epSize
        let expertTP = config.layout.expertTP > 1
        if epSize == 1 {
            ep = .single(splitsOverTP: expertTP)
            expertData = dpcp
            model = ModelReplica(group: mesh.group([.pp, .tp], world: world))
        } else {
            let epMembers = dpcp.members.filter { dataIndex($0) / epSize == block }
            ep = ExpertParallel(group: world.subgroup(members: epMembers, name: "ep\(epMembers)"), splitsOverTP: expertTP)
            let edp = dpcp.members.filter { dataIndex($0) % epSize == dataIndex(world.worldRank) % epSize }
            expertData = CountingGroup(world.subgroup(members: edp, name: "expert-dp\(edp)"))
            let replica = (0..<mesh.worldSize).filter { dataIndex($0) / epSize == block }
            model = ModelReplica(group: world.subgroup(members: replica, name: "model×ep\(replica)"),
                                 expertRank: ep.rank)
        }
        let ends = Array(Set([ppGroup.members.first!, ppGroup.members.last!])).sorted()
        let members = ends.contains(world.worldRank) ? ends : [world.worldRank]
        embedding = world.subgroup(members: members, name: "embedding\(members)")
    }

    /// One rank: every group of size one.
    public static func single() -> RankGroups {
        try! RankGroups(config: TrainConfig(), world: ThreadWorld(size: 1).worldGroup(rank: 0))
    }

    /// This rank's index in the world.
    public var worldRank: Int { world.members[world.rank] }

    /// Seconds spent in tensor- and data-parallel collectives since the last reset.
    public var commSeconds: Double {
        tp.group.seconds + dpcp.seconds + pp.seconds + (cp.size > 1 ? cp.group.seconds : 0)
            + (ep.size > 1 ? ep.group.seconds + expertData.seconds : 0)
    }

    /// Forgets the communication counts of the counted groups.
    public func resetCounts() {
        tp.group.reset(); dp.reset(); dpcp.reset(); cp.group.reset(); pp.reset(); ep.group.reset(); expertData.reset()
    }
}

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

    /// Runs `body` once per rank of `config`'s layout and returns when all
    /// have finished, after checking that the ranks on this machine fit in
    /// its memory (`MemoryEstimate`: the one place a run's size is checked). On threads, a rank that throws aborts the others and
    /// the error is rethrown here. Under MPI, a rank that throws stops the
    /// whole job with a message naming the rank (never a hang) and the
    /// error kind's exit status, the same as on threads and on one rank.
    public static func run(config: TrainConfig, backend: Backend, timeout: Double = 60,
                           _ body: @escaping @Sendable (RankGroups) throws -> Void) throws {
        let ranksHere = backend == .threads ? config.worldSize : MPIGroup.launchedOnThisNode
        try MemoryEstimate.requireBudget(config, ranksHere: ranksHere)
        try MemoryEstimate(config, ranksHere: ranksHere).require(available: MemoryEstimate.availableBytes)
        switch backend {
        case .threads:
            if config.worldSize == 1 && config.trace == nil { return try body(.single()) }
            try ThreadWorld.run(size: config.worldSize, timeout: timeout) { world in
                try TraceSession.run(path: config.trace, config: config, world: world, alignClocks: false, log: say) {
                    try body(try RankGroups(config: config, world: $0))
                }
            }
        case .mpi:
            try config.requireWorldSize(MPIGroup.launched?.size ?? 1, underMPI: true)
            let world = try MPIGroup.world(timeout: timeout)
            do {
                try TraceSession.run(path: config.trace, config: config, world: world, alignClocks: true, log: say) {
                    try body(try RankGroups(config: config, world: $0))
                }
                try world.barrier()
            } catch {
                let cause = ErrorKind.rankFailure(error, rank: world.worldRank)
                MPIGroup.abort("tessera: error: \(cause)\n", code: cause.kind.exitStatus)
            }
            MPIGroup.finalize()
        }
    }
}
