import Foundation
import Testing
import Tessera

/// Merging the ranks' recordings: clocks shifted, each collective's time split
/// at the last member's arrival, each receive's at its send.
@Suite struct TraceMergerTests {
    static func comm(_ op: String, _ group: String, rank: Int, start: UInt64, end: UInt64, sequence: Int = 0,
                     peer: Int = -1, tag: Int = -1) -> TraceEvent {
        var e = TraceEvent(kind: .comm, name: op, detail: group, start: start, end: end)
        e.groupRank = rank; e.groupSize = 2; e.sequence = sequence; e.peer = peer; e.tag = tag; e.bytes = 400
        return e
    }

    @Test func waitingEndsWhenTheLastMemberArrivesOrTheMessageIsPosted() {
        // Rank 1's clock runs 1000 ns ahead of rank 0's.
        let zero: [TraceEvent] = [Self.comm("allReduce", "g", rank: 0, start: 100_000, end: 400_000),
                                  Self.comm("recv", "g", rank: 0, start: 500_000, end: 900_000, peer: 1, tag: 7)]
        let one: [TraceEvent] = [Self.comm("allReduce", "g", rank: 1, start: 301_000, end: 401_000),
                                 Self.comm("send", "g", rank: 1, start: 701_000, end: 711_000, peer: 0, tag: 7)]
        let parts = [RankTrace(rank: ChromeTrace.Rank(rank: 0, dp: 0, pp: 0, tp: 0), clockOffset: 0, events: zero, dropped: 0),
                     RankTrace(rank: ChromeTrace.Rank(rank: 1, dp: 0, pp: 0, tp: 1), clockOffset: 1000, events: one, dropped: 0)]
        let trace = TraceMerger.merge(parts, layout: "tp2", clock: "barrier")
        func arg(_ pid: Int, _ op: String, _ key: String) -> Double? {
            trace.slices.first { $0.pid == pid && $0.text("op") == op }?.args?[key]?.number
        }
        let expected: [(Int, String, String, Double)] = [
            (0, "allReduce", "wait_us", 200), (0, "allReduce", "transfer_us", 100),
            (1, "allReduce", "wait_us", 0), (1, "allReduce", "transfer_us", 100),
            (0, "recv", "wait_us", 200), (0, "recv", "transfer_us", 200), (1, "send", "wait_us", 0)]
        for (pid, op, key, value) in expected {
            let got: Double? = arg(pid, op, key)
            #expect(got == value, "rank \(pid) \(op) \(key)")
        }
        // Times start at the earliest event, on rank 0's clock.
        #expect(trace.slices.first { $0.pid == 1 && $0.text("op") == "allReduce" }?.ts == 200)
        let phases = trace.slices.filter { $0.pid == 0 && $0.cat == "comm phase" }.map(\.name)
        #expect(phases == ["waiting for peers", "moving data", "waiting for peers", "moving data"])
    }

    @Test func regionsRecordOnlyWhereARecorderIsInstalled() {
        let outside = Trace.begin(.optimizer)
        outside.end()
        let recorder = TraceRecorder(worldRank: 0, reserve: 4, capacity: 3)
        TraceRecorder.installed(recorder) {
            for _ in 0..<5 { Trace.region(.optimizer) {} }
        }
        #expect(recorder.events.count == 3 && recorder.dropped == 2)
        #expect(recorder.events.allSatisfy { $0.name == "optimizer" && $0.end >= $0.start })
        #expect(TraceRecorder.current == nil)
    }

    @Test func aFileThatIsNotATesseraTraceIsRefusedByName() throws {
        let path = TestSupport.temporaryPath("other.json")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(#"{"traceEvents": []}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect(TestSupport.message { _ = try ChromeTrace.read(path: path) }.contains("is not a Tessera trace"))
        #expect(TestSupport.message { _ = try ChromeTrace.read(path: path + "x") }.contains("does not exist"))
    }
}
