import Synchronization
import TesseraComm

extension CommBenchmark {
    /// Times every op of `ops` at every size of `sizes` over the MPI world
    /// of this mpirun job (collective; every process calls it), handing each
    /// row to `report` on world rank 0, and finalizes MPI. `preamble` runs on
    /// world rank 0 before the first row.
    public static func runMPI(ops: [Op], sizes: [Int], preamble: () -> Void, report: (Row) -> Void) throws {
        let world = try MPIGroup.world()
        if world.rank == 0 { preamble() }
        for op in ops {
            for bytes in sizes {
                let t = try time(op, group: world, bytes: bytes, iterations: iterations(for: bytes))
                if world.rank == 0 { report(Row(op: op, ranks: world.size, bytes: bytes, seconds: t)) }
            }
        }
        MPIGroup.finalize()
    }

    /// Times every op of `ops` at every size of `sizes` on a world of
    /// threads of each size in `ranks`, handing rank 0's row to `report`.
    public static func runThreads(ranks: [Int], ops: [Op], sizes: [Int], report: (Row) -> Void) throws {
        for n in ranks {
            for op in ops {
                for bytes in sizes {
                    let seconds = Mutex<Double>(0)
                    try ThreadWorld.run(size: n) { g in
                        let t = try time(op, group: g, bytes: bytes, iterations: iterations(for: bytes))
                        if g.rank == 0 { seconds.withLock { $0 = t } }
                    }
                    report(Row(op: op, ranks: n, bytes: bytes, seconds: seconds.withLock { $0 }))
                }
            }
        }
    }
}
