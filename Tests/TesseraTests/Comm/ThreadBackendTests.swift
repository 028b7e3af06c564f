import Foundation
import Synchronization
import Testing
import Tessera

/// Collects failure messages from rank threads.
final class Failures: Sendable {
    private let list = Mutex<[String]>([])
    func check(_ ok: Bool, _ message: @autoclosure () -> String) { if !ok { list.withLock { $0.append(message()) } } }
    var all: [String] { list.withLock { $0 } }
}

@Suite struct ThreadBackendTests {
    /// Every collective at group sizes 1, 2, 3, 4, 8 (and, for 4 and 8, on the
    /// tp and dp sub-groups of a 2 × n mesh), exact to the bit.
    @Test(arguments: [1, 2, 3, 4, 8])
    func everyCollectiveIsExact(size: Int) throws {
        let f = Failures()
        let counted = Mutex(0)
        try ThreadWorld.run(size: size) { g in
            let (checks, failures) = try CommSelfTest.run(g, exact: true)
            counted.withLock { $0 += checks }
            for m in failures { f.check(false, m) }
        }
        #expect(f.all.isEmpty, "\(f.all.prefix(3))")
        #expect(counted.withLock { $0 } >= size * (size > 1 ? 10 : 9))  // every check ran on every rank
    }

    @Test func pointToPointIsTaggedAndOrdered() throws {
        let f = Failures()
        try ThreadWorld.run(size: 3) { g in
            if g.rank == 0 {
                // Named, so each lives until the end of the block (a temporary is released once its pointer is read).
                let first = Tensor([2], [1, 2]), second = Tensor([2], [3, 4]), third = Tensor([2], [5, 6])
                try g.send(first.data, count: 2, to: 2, tag: 7)
                try g.send(second.data, count: 2, to: 2, tag: 8)
                try g.send(third.data, count: 2, to: 2, tag: 7)
                withExtendedLifetime((first, second, third)) {}
            } else if g.rank == 2 {
                let a = Tensor([2]), b = Tensor([2]), c = Tensor([2])
                try g.recv(b.data, count: 2, from: 0, tag: 8)  // tags are matched, not arrival order
                try g.recv(a.data, count: 2, from: 0, tag: 7)
                try g.recv(c.data, count: 2, from: 0, tag: 7)
                f.check(a.array == [1, 2] && b.array == [3, 4] && c.array == [5, 6], "p2p \(a.array) \(b.array) \(c.array)")
            }
        }
        #expect(f.all.isEmpty, "\(f.all)")
    }

    @Test func subGroupsOfAMeshReduceIndependently() throws {
        let mesh = try DeviceMesh(dp: 2, pp: 1, cp: 1, tp: 4)
        let f = Failures()
        try ThreadWorld.run(size: 8) { world in
            let tp = mesh.group([.tp], world: world), dp = mesh.group([.dp], world: world)
            let t = Tensor([5], (0..<5).map { Float(world.rank) + Float($0) })
            try tp.allReduce(t, op: .sum)
            let tpMembers = mesh.groupMembers(of: world.rank, along: [.tp])
            for i in 0..<5 { f.check(t[i] == tpMembers.reduce(Float(0)) { $0 + Float($1) + Float(i) }, "tp sum") }
            let u = Tensor([3], [Float](repeating: Float(world.rank), count: 3))
            try dp.allReduce(u, op: .max)
            f.check(u[0] == Float(mesh.groupMembers(of: world.rank, along: [.dp]).max()!), "dp max")
        }
        #expect(f.all.isEmpty, "\(f.all.prefix(3))")
    }

    @Test func aMissingRankTimesOutNamingGroupOperationAndRank() {
        let start = Date()
        do {
            try ThreadWorld.run(size: 3, timeout: 0.3) { g in
                if g.rank == 2 { return }  // never joins the collective
                try g.allReduce(Tensor([4]), op: .sum)
            }
            Issue.record("expected a timeout")
        } catch {
            let m = "\(error)"
            #expect(m.contains("timeout") && m.contains("group world") && m.contains("allReduce #1") && m.contains("[2]"), "\(m)")
        }
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func disagreeingSizesAreAnErrorNamingBoth() {
        do {
            try ThreadWorld.run(size: 2, timeout: 5) { g in
                try g.allReduce(Tensor([g.rank == 0 ? 4 : 6]), op: .sum)
            }
            Issue.record("expected a size mismatch")
        } catch {
            let m = "\(error)"
            #expect(m.contains("passed 6 elements") || m.contains("passed 4 elements"), "\(m)")
            #expect(m.contains("6") && m.contains("4") && m.contains("allReduce"), "\(m)")
        }
    }

    @Test func disagreeingDTypesAreAnErrorNamingBoth() {
        do {
            try ThreadWorld.run(size: 2, timeout: 5) { g in
                let ints = [Int32](repeating: 1, count: 4), floats = Tensor([4])
                try ints.withUnsafeBufferPointer { p in
                    try g.allReduce(g.rank == 0 ? CommBuffer(p.baseAddress!, count: 4) : CommBuffer(floats), op: .sum)
                }
            }
            Issue.record("expected a dtype mismatch")
        } catch {
            #expect("\(error)".contains("int32") && "\(error)".contains("float32") && "\(error)".contains("allReduce"), "\(error)")
        }
    }

    @Test func typedBuffersOfTheWrongShapeAreRefusedBeforeCommunicating() {
        let sizes = [Int64](repeating: 0, count: 3), halves = [UInt16](repeating: 0, count: 4)
        sizes.withUnsafeBufferPointer { s in
            halves.withUnsafeBufferPointer { h in
                let gather = CommBuffer(s.baseAddress!, count: 3), wrong = CommBuffer(bfloat16: h.baseAddress!, count: 4)
                #expect(throws: CommError.self) {
                    try ThreadWorld.run(size: 2, timeout: 5) { g in try g.allGather(gather.slice(0..<2), into: wrong) }
                }
                #expect(throws: CommError.self) {
                    try ThreadWorld.run(size: 2, timeout: 5) { g in try g.allGather(gather.slice(0..<1), into: gather) }
                }
            }
        }
    }

    @Test func mismatchedOperationsAreAnError() {
        do {
            try ThreadWorld.run(size: 2, timeout: 5) { g in
                if g.rank == 0 { try g.allReduce(Tensor([2]), op: .sum) } else { try g.broadcast(Tensor([2]), root: 0) }
            }
            Issue.record("expected an operation mismatch")
        } catch {
            #expect("\(error)".contains("allReduce") && "\(error)".contains("broadcast"))
        }
    }

    @Test func aFailingRankWakesTheOthersWithItsError() {
        struct Boom: Error, CustomStringConvertible { var description: String { "optimizer exploded" } }
        let start = Date()
        do {
            try ThreadWorld.run(size: 4, timeout: 30) { g in
                if g.rank == 1 { throw Boom() }
                try g.barrier()
            }
            Issue.record("expected the failure to propagate")
        } catch {
            #expect("\(error)".contains("rank 1 failed: optimizer exploded"), "\(error)")
        }
        #expect(Date().timeIntervalSince(start) < 5, "waiting ranks must not wait for the 30 s timeout")
    }
}

@Suite struct DeviceMeshTests {
    @Test func megatronOrderPutsTensorParallelRanksNextToEachOther() throws {
        let mesh = try DeviceMesh(dp: 2, pp: 2, tp: 2)
        #expect(mesh.worldSize == 8)
        #expect(mesh.coordinates(of: 5) == [.pp: 1, .dp: 0, .cp: 0, .tp: 1])
        #expect(mesh.groupMembers(of: 5, along: [.tp]) == [4, 5])
        #expect(mesh.groupMembers(of: 5, along: [.dp]) == [5, 7])
        #expect(mesh.groupMembers(of: 5, along: [.pp]) == [1, 5])
        #expect(mesh.groupMembers(of: 5, along: [.dp, .tp]) == [4, 5, 6, 7])
        #expect(mesh.allGroups(along: [.tp]) == [[0, 1], [2, 3], [4, 5], [6, 7]])
        for r in 0..<8 { #expect(mesh.rank(at: mesh.coordinates(of: r)) == r) }
    }

    @Test func customOrderAndValidation() throws {
        let mesh = try DeviceMesh(dp: 4, tp: 2, order: [.tp, .pp, .cp, .dp])  // dp fastest
        #expect(mesh.groupMembers(of: 0, along: [.dp]) == [0, 1, 2, 3])
        #expect(mesh.groupMembers(of: 0, along: [.tp]) == [0, 4])
        #expect(throws: ConfigError.self) { try DeviceMesh(dp: 0) }
        #expect(throws: ConfigError.self) { try DeviceMesh(dp: 2, order: [.dp, .tp]) }
    }
}
