import Foundation
import TesseraKernels
import TesseraComm
import TesseraTopology

/// The matrix-product rate MFU is measured against, in GFLOP/s: the rate
/// the run's ranks reach on the cores they actually have.
///
/// One rank: the one-thread rate of a 1024³ product at the run's precision
/// (through the model's own `BLAS.gemm`) times its kernel threads, at most
/// the cores this process may run on (`ProcessCores`, which sees an
/// mpirun or taskset binding; the machine's core count does not).
///
/// Several ranks (`measured(world:config:)`): every rank measures the
/// one-thread rate at the same time as all the others, and the rates are
/// summed over the world. Ranks that share cores (threads of one process,
/// or MPI processes on one machine, bound or not) split them during the
/// measurement exactly as they do while training, so the sum is what the
/// run's cores reach together. Measuring on world rank 0 alone and
/// multiplying by the ranks, as before, counted cores the process did not
/// have and measured one rank while the others spun in their first
/// collective, which printed MFU above 100% under mpirun.
///
/// Each figure is the best of four products: on a shared machine the best
/// is the closest to what the cores can do, and an MFU over a lowered peak
/// would overstate.
public enum ComputePeak {
    nonisolated(unsafe) private static var perThread: [Precision: Double] = [:]
    private static let lock = NSLock()

    /// GFLOP/s of one thread at `precision` (measured once per process).
    public static func oneThread(_ precision: Precision) -> Double {
        lock.withLock {
            if let p = perThread[precision] { return p }
            let p = measureOneThread(precision)
            perThread[precision] = p
            return p
        }
    }

    /// The best of four one-thread 1024³ products at `precision`, measured now.
    static func measureOneThread(_ precision: Precision) -> Double {
        (0..<4).map { _ in ProductRate.measure(threads: 1, precision: precision, n: 1024, repeats: 1) }.max()!
    }

    /// GFLOP/s of a one-rank run of `config` in this process: one thread's
    /// rate × its kernel threads, capped at the cores the process may run on.
    public static func of(_ config: TrainConfig) -> Double {
        oneThread(config.precision) * Double(min(config.kernelThreads, ProcessCores.available))
    }

    /// GFLOP/s of the run's ranks together (collective over `world`, every
    /// rank gets the result): each rank's one-thread rate measured while all
    /// the others measure theirs, summed. A rank that shares a core can, by
    /// luck of the scheduler, have it alone for its best product; so the sum
    /// is capped at the fastest rank's rate times the cores the ranks can
    /// occupy (at most the machine's cores on each node). One rank: `of(config)`.
    public static func measured(world: ProcessGroup, config: TrainConfig) throws -> Double {
        guard world.size > 1 else { return of(config) }
        try world.barrier()
        let rate = Float(measureOneThread(config.precision))
        var sum = rate, fastest = rate
        try world.allReduce(&sum, count: 1, op: .sum)
        try world.allReduce(&fastest, count: 1, op: .max)
        let perNode = MPIGroup.launchedByMPI ? max(1, MPIGroup.launchedOnThisNode) : world.size
        let nodes = (world.size + perNode - 1) / perNode
        return min(Double(sum), Double(fastest) * Double(cores(ranks: world.size, perNode: perNode, nodes: nodes)))
    }

    /// Cores `ranks` one-thread ranks can occupy, `perNode` of them on each
    /// of `nodes` machines with this one's core count.
    static func cores(ranks: Int, perNode: Int, nodes: Int) -> Int {
        min(ranks, nodes * min(perNode, ProcessInfo.processInfo.activeProcessorCount))
    }
}
