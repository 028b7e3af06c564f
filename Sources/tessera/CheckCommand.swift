import ArgumentParser
import Foundation
import Synchronization
import Tessera

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Self-checks of an installation.", subcommands: [CheckComm.self])
}

/// Which engine runs the ranks.
enum BackendChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, thread, mpi

    /// The engine: `auto` is `Launcher.Backend.automatic` (MPI under mpirun, threads otherwise).
    var resolved: Launcher.Backend {
        switch self {
        case .auto: return .automatic
        case .thread: return .threads
        case .mpi: return .mpi
        }
    }
}

extension CommSelfTest.Fault: ExpressibleByArgument {}

struct CheckComm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "comm",
        abstract: "Run every collective on the chosen backend and compare with directly computed values.",
        discussion: "Under mpirun the MPI backend is chosen automatically: mpirun -np 4 tessera check comm")

    @Option(help: "auto, thread or mpi.") var backend: BackendChoice = .auto
    @Option(parsing: .unconditional, help: "Ranks (thread backend; MPI takes mpirun's -np).") var ranks = 4
    @Option(parsing: .unconditional, help: "Seconds a rank waits for the others before the job is aborted.") var timeout: Double = 60
    @Option(help: "Inject a fault to see how it is reported.") var fault: CommSelfTest.Fault?

    func validate() throws {
        try reportingErrors {
            guard (1...65536).contains(ranks) else { throw ConfigError("--ranks must be in 1...65536, got \(ranks)") }
            guard timeout > 0, timeout.isFinite else { throw ConfigError("--timeout must be a positive number of seconds, got \(timeout)") }
        }
    }

    func run() throws {
        CollectiveChecking.enabled = true  // the fault checks need the agreement check
        try reportingErrors {
            switch backend.resolved {
            case .mpi: try runMPI(fault)
            case .threads: try runThreads(fault)
            }
        }
    }

    func runThreads(_ fault: CommSelfTest.Fault?) throws {
        let totals = Mutex((checks: 0, failures: [String]()))
        do {
            try ThreadWorld.run(size: ranks, timeout: timeout) { g in
                if let fault { try CommSelfTest.inject(fault, g, hangSeconds: timeout + 2) }
                let (checks, failures) = try CommSelfTest.run(g, exact: true)
                totals.withLock { $0.checks += checks; $0.failures += failures }
            }
        } catch let e as CommError {
            fail("thread backend: \(e.description)", status: e.kind.exitStatus)
        }
        if fault != nil { fail("the injected fault was not detected") }
        report("thread", ranks, totals.withLock { $0 })
    }

    func runMPI(_ fault: CommSelfTest.Fault?) throws {
        let world = try MPIGroup.world(timeout: timeout)
        do {
            if let fault { try CommSelfTest.inject(fault, world, hangSeconds: timeout + 2) }
            let (checks, failures) = try CommSelfTest.run(world, exact: false)
            let all = try world.allGather([checks, failures.count])
            for f in failures { FileHandle.standardError.write(Data("FAIL \(f)\n".utf8)) }
            if world.rank == 0 {
                let total = stride(from: 0, to: all.count, by: 2).reduce(0) { $0 + all[$1] }
                let failed = stride(from: 1, to: all.count, by: 2).reduce(0) { $0 + all[$1] }
                report("mpi", world.size, (total, Array(repeating: "", count: failed)))
            }
            try world.barrier()
            if fault != nil { MPIGroup.abort("tessera: error: the injected fault was not detected\n") }
        } catch {
            let cause = ErrorKind.rankFailure(error, rank: world.worldRank)
            MPIGroup.abort("tessera: error: \(cause)\n", code: cause.kind.exitStatus)
        }
        MPIGroup.finalize()
    }

    func report(_ backend: String, _ ranks: Int, _ totals: (checks: Int, failures: [String])) {
        for f in totals.failures where !f.isEmpty { say("FAIL \(f)") }
        let failed = totals.failures.count
        say("check comm \(backend) ranks=\(ranks): \(totals.checks - failed) checks passed, \(failed) failed")
        if failed > 0 { Foundation.exit(1) }
    }
}
