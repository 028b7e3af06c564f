import Foundation
import TesseraKernels

/// Checks every collective of a backend against values computed directly
/// (float32 here, every dtype in `TypedCommSelfTest`).
/// The same checks run on rank threads (the Swift tests) and on MPI
/// processes (`mpirun -np N tessera check comm`), so both backends are held
/// to one definition of correct.
public enum CommSelfTest {
    /// A value rank q contributes at index i.
    static func value(_ q: Int, _ i: Int) -> Float { Float(q * 1000 + i) * 0.37 + 0.011 }

    /// The reduction over p ranks in rank order (what the ThreadBackend computes exactly).
    static func reduced(_ p: Int, _ i: Int, _ op: ReduceOp) -> Float {
        var s = value(0, i)
        for q in 1..<max(p, 1) { s = op == .max ? max(s, value(q, i)) : s + value(q, i) }
        return op == .average ? s * (1 / Float(p)) : s
    }

    /// Runs every check on `world` (called by all of its ranks) and returns
    /// (checks run, failure messages). With `exact`, reductions must equal the
    /// rank-order result bit for bit; otherwise within 1e-6 relative (MPI may
    /// reduce in another order).
    public static func run(_ world: ProcessGroup & ProcessGroupFactory, exact: Bool) throws -> (checks: Int, failures: [String]) {
        var checks = 0, failures: [String] = []
        func expect(_ ok: Bool, _ what: @autoclosure () -> String) {
            checks += 1
            if !ok { failures.append("rank \(world.worldRank): \(what())") }
        }
        func same(_ a: Float, _ b: Float) -> Bool { exact ? a == b : abs(a - b) <= 1e-6 * max(1, abs(b)) }

        func collectives(_ g: ProcessGroup, _ label: String) throws {
            let p = g.size, r = g.rank
            for op in [ReduceOp.sum, .average, .max] {
                let n = 10  // not divisible by 3, 4 or 8
                let t = Tensor([n], (0..<n).map { value(r, $0) })
                try g.allReduce(t, op: op)
                expect((0..<n).allSatisfy { same(t[$0], reduced(p, $0, op)) }, "\(label) allReduce \(op): \(t.array)")
            }
            // Started all-reduces: two in flight, a blocking collective between, waited out of order.
            let first = Tensor([10], (0..<10).map { value(r, $0) }), second = Tensor([7], (0..<7).map { value(r, $0 + 3) })
            let firstRequest = try g.startAllReduce(first.data, count: 10, op: .sum)
            let secondRequest = try g.startAllReduce(second.data, count: 7, op: .max)
            let between = Tensor([1], [Float(r)])
            try g.allReduce(between, op: .sum)
            try secondRequest.wait()
            try firstRequest.wait()
            expect((0..<10).allSatisfy { same(first[$0], reduced(p, $0, .sum)) }, "\(label) started allReduce: \(first.array)")
            expect((0..<7).allSatisfy { same(second[$0], reduced(p, $0 + 3, .max)) }, "\(label) second started allReduce")
            expect(between[0] == Float(p * (p - 1) / 2), "\(label) allReduce between started ones")
            let send = Tensor([3], (0..<3).map { value(r, $0) }), all = Tensor([3 * p])
            try g.allGather(send.data, count: 3, into: all.data)
            expect((0..<p).allSatisfy { q in (0..<3).allSatisfy { all[q * 3 + $0] == value(q, $0) } }, "\(label) allGather")
            let total = 11
            let full = Tensor([total], (0..<total).map { value(r, $0) })
            let mine = g.chunk(r, of: total), out = Tensor([max(1, mine.count)])
            try g.reduceScatter(full.data, total: total, into: out.data, op: .sum)
            expect(mine.enumerated().allSatisfy { same(out[$0.offset], reduced(p, $0.element, .sum)) },
                   "\(label) reduceScatter of \(total) into chunk \(mine)")
            let a2a = Tensor([2 * p], (0..<(2 * p)).map { value(r, $0) }), got = Tensor([2 * p])
            try g.allToAll(a2a.data, count: 2, into: got.data)
            expect((0..<p).allSatisfy { q in (0..<2).allSatisfy { got[q * 2 + $0] == value(q, r * 2 + $0) } },
                   "\(label) allToAll")
            // Variable splits: rank r sends q+r+1 values to rank q.
            let sendCounts = (0..<p).map { $0 + r + 1 }, recvCounts = (0..<p).map { r + $0 + 1 }
            let payload = (0..<p).flatMap { q in (0..<sendCounts[q]).map { Float(r * 100 + q * 10 + $0) } }
            let vs = Tensor([payload.count], payload), vr = Tensor([recvCounts.reduce(0, +)])
            try g.allToAll(vs.data, sendCounts: sendCounts, into: vr.data, recvCounts: recvCounts)
            var offset = 0, ok = true
            for q in 0..<p {
                for k in 0..<recvCounts[q] where vr[offset + k] != Float(q * 100 + r * 10 + k) { ok = false }
                offset += recvCounts[q]
            }
            expect(ok, "\(label) allToAll with variable counts")
            let b = Tensor([4], (0..<4).map { value(r, $0) })
            try g.broadcast(b, root: p - 1)
            expect((0..<4).allSatisfy { b[$0] == value(p - 1, $0) }, "\(label) broadcast from \(p - 1)")
            try g.barrier()
            expect(try g.allGather([r, r * r]) == (0..<p).flatMap { [$0, $0 * $0] }, "\(label) allGather of integers")
            if p > 1 {  // ring exchange: send to the next rank, receive from the previous
                let next = (r + 1) % p, prev = (r + p - 1) % p
                let msg = Tensor([5], (0..<5).map { value(r, $0) }), inbox = Tensor([5])
                if r % 2 == 0 {
                    try g.send(msg.data, count: 5, to: next, tag: 3)
                    try g.recv(inbox.data, count: 5, from: prev, tag: 3)
                } else {
                    try g.recv(inbox.data, count: 5, from: prev, tag: 3)
                    try g.send(msg.data, count: 5, to: next, tag: 3)
                }
                expect((0..<5).allSatisfy { inbox[$0] == value(prev, $0) }, "\(label) send/recv ring")
                // The same ring as one paired step on every rank at once, then a batch both ways.
                let paired = Tensor([5])
                try g.sendRecv(msg.data, count: 5, to: next, into: paired.data, from: prev, tag: 4)
                expect(paired.array == inbox.array, "\(label) paired send/recv ring")
                let fromNext = Tensor([5]), fromPrev = Tensor([5])
                try g.exchange([.recv(fromNext.data, count: 5, from: next, tag: 5), .send(msg.data, count: 5, to: prev, tag: 5),
                                .send(msg.data, count: 5, to: next, tag: 6), .recv(fromPrev.data, count: 5, from: prev, tag: 6)])
                expect(fromNext.array == (0..<5).map { value(next, $0) } && fromPrev.array == inbox.array,
                       "\(label) batched point-to-point both ways")
            }
            try TypedCommSelfTest.run(g, label) { ok, what in expect(ok, what) }
        }

        try collectives(world, "world(\(world.size))")
        // Sub-groups of a 2 × (size/2) grid when even: rows of consecutive ranks ("tp") and columns ("dp").
        if world.size % 2 == 0 && world.size > 2 {
            let half = world.size / 2, r = world.worldRank
            let row = Array(r / half * half ..< r / half * half + half), column = [r % half, r % half + half]
            let tp = world.subgroup(members: row, name: "tp\(row)"), dp = world.subgroup(members: column, name: "dp\(column)")
            try collectives(tp, "tp(\(tp.size))")
            try collectives(dp, "dp(\(dp.size))")
        }
        // Uneven split into the first size−1 ranks and the last one (group sizes 3 and 1 for a world of 4).
        if world.size >= 3 {
            let last = world.size - 1
            let members = world.worldRank == last ? [last] : Array(0..<last)
            let g = world.subgroup(members: members, name: "split\(members)")
            try collectives(g, "split(\(g.size))")
        }
        return (checks, failures)
    }

    /// Deliberate faults, to show how each backend reports them.
    public enum Fault: String, CaseIterable, Sendable {
        /// The last rank skips a collective: the others time out.
        case missingRank = "missing-rank"
        /// Ranks pass different sizes to one all-reduce.
        case sizeMismatch = "size-mismatch"
        /// Rank 0 throws before a collective.
        case rankFailure = "rank-failure"
    }

    struct InjectedFailure: Error, CustomStringConvertible {
        let what: String
        var description: String { what }
    }

    /// Performs `fault` on `world`; on a correct backend this throws (or
    /// aborts) on every rank. The missing rank of `.missingRank` hangs for
    /// `hangSeconds` (set it beyond the timeout) before giving up.
    public static func inject(_ fault: Fault, _ world: ProcessGroup, hangSeconds: Double) throws {
        switch fault {
        case .missingRank:
            if world.rank == world.size - 1 {
                Thread.sleep(forTimeInterval: hangSeconds)
                throw InjectedFailure(what: "the missing rank gave up after \(hangSeconds)s")
            }
            try world.allReduce(Tensor([8]), op: .sum)
        case .sizeMismatch:
            try world.allReduce(Tensor([world.rank == 0 ? 8 : 12]), op: .sum)
        case .rankFailure:
            if world.rank == 0 { throw InjectedFailure(what: "injected failure before the first all-reduce") }
            try world.allReduce(Tensor([8]), op: .sum)
        }
    }
}
