import Foundation
import Synchronization
import Testing
import Tessera

/// Issue 30, item 3: the thread backend runs more ranks than libdispatch's
/// pool has threads (255). Each rank's started collectives ran on a dispatch
/// queue; with 256 ranks blocked in one, the last never got a thread and the
/// job timed out. Workers now own their threads.
@Suite struct ManyThreadRanksTests {
    @Test func startedCollectivesComplete_onMoreRanksThanTheDispatchPool() throws {
        let ranks = 300
        let wrong = Mutex(0)
        try ThreadWorld.run(size: ranks, timeout: 120) { g in
            let a = UnsafeMutablePointer<Float>.allocate(capacity: 2), b = UnsafeMutablePointer<Float>.allocate(capacity: 1)
            defer { a.deallocate(); b.deallocate() }
            a[0] = 1; a[1] = Float(g.rank); b[0] = Float(g.rank % 7)
            let first = try g.startAllReduce(a, count: 2, op: .sum)
            let second = try g.startAllReduce(b, count: 1, op: .max)
            try first.wait()
            try second.wait()
            if a[0] != Float(ranks) || a[1] != Float(ranks * (ranks - 1) / 2) || b[0] != 6 { wrong.withLock { $0 += 1 } }
        }
        #expect(wrong.withLock { $0 } == 0)
    }
}
