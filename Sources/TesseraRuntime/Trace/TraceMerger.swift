import TesseraSupport

/// One rank's recording, as it is shipped to rank 0: its events on its own
/// clock and the offset of that clock from rank 0's (nanoseconds to subtract).
public struct RankTrace: Codable, Sendable {
    public var rank: ChromeTrace.Rank
    public var clockOffset: Int64
    public var events: [TraceEvent]
    public var dropped: Int

    public init(rank: ChromeTrace.Rank, clockOffset: Int64, events: [TraceEvent], dropped: Int) {
        self.rank = rank; self.clockOffset = clockOffset; self.events = events; self.dropped = dropped
    }
}

/// Builds the Chrome trace of a run from every rank's recording. Where the
/// members' records of one operation can be lined up, each rank's time in it
/// is split into what can be measured from the merged clocks:
/// - a collective (matched by group and sequence number): waiting for peers
///   runs from this rank's arrival to the last member's arrival, moving data
///   from there to this rank's return;
/// - a receive (matched with its send by group, ranks, tag and order):
///   waiting runs until the sender posted the message, moving data after.
/// A send is eager (the backends copy and return), so it is all moving data.
/// An all-reduce started without waiting is shown from its start to the end
/// of its wait, not split: its data moves while compute goes on.
public enum TraceMerger {
    /// The merged trace of `parts` (any order) for `layout`.
    public static func merge(_ parts: [RankTrace], layout: String, clock: String) -> ChromeTrace {
        let parts = parts.sorted { $0.rank.rank < $1.rank.rank }
        func shifted(_ t: UInt64, _ p: RankTrace) -> Int64 { Int64(bitPattern: t) - p.clockOffset }
        let origin = parts.flatMap { p in p.events.map { shifted($0.start, p) } }.min() ?? 0
        func us(_ t: UInt64, _ p: RankTrace) -> Double { Double(shifted(t, p) - origin) / 1000 }

        // Arrival of the last member of each collective, and when each message was posted.
        var lastArrival: [String: Int64] = [:], posted: [String: [Int64]] = [:]
        for p in parts {
            for e in p.events where e.kind == .comm {
                if e.peer < 0 {
                    let key = "\(e.detail)#\(e.sequence)"
                    lastArrival[key] = max(lastArrival[key] ?? .min, shifted(e.start, p))
                } else if e.name == "send" {
                    let key = "\(e.detail)|\(e.groupRank)>\(e.peer)#\(e.tag)"
                    posted[key, default: []].append(shifted(e.start, p))
                }
            }
        }

        var out: [ChromeTrace.Event] = []
        for p in parts {
            let pid = p.rank.rank
            out.append(.init(name: "process_name", ph: "M", pid: pid, args: [
                "name": .text("rank \(pid) (dp \(p.rank.dp), pp \(p.rank.pp), tp \(p.rank.tp))")]))
            out.append(.init(name: "process_sort_index", ph: "M", pid: pid, args: ["sort_index": .number(Double(pid))]))
            out.append(.init(name: "thread_name", ph: "M", pid: pid, tid: ChromeTrace.computeThread,
                             args: ["name": .text("compute")]))
            out.append(.init(name: "thread_name", ph: "M", pid: pid, tid: ChromeTrace.commThread,
                             args: ["name": .text("communication")]))
            var received: [String: Int] = [:]
            for e in p.events {
                let ts = us(e.start, p), dur = Double(e.end &- e.start) / 1000
                switch e.kind {
                case .region:
                    let step = e.name == TraceRegion.step.rawValue
                    out.append(.init(name: step ? "step \(e.sequence + 1)" : e.name, cat: step ? "step" : "region",
                                     ts: ts, dur: dur, pid: pid, tid: ChromeTrace.computeThread,
                                     args: step ? ["step": .number(Double(e.sequence))]
                                                : (e.detail.isEmpty ? nil : ["layer": .text(e.detail)])))
                case .pipeline:
                    out.append(.init(name: "\(e.name)\(e.microBatch) s\(e.stage)", cat: "pipeline", ts: ts, dur: dur,
                                     pid: pid, tid: ChromeTrace.computeThread,
                                     args: ["kind": .text(e.name), "micro_batch": .number(Double(e.microBatch)),
                                            "stage": .number(Double(e.stage))]))
                case .wait:
                    out.append(.init(name: e.name, cat: "wait", ts: ts, dur: dur, pid: pid, tid: ChromeTrace.computeThread,
                                     args: ["group": .text(e.detail)]))
                case .comm:
                    // When this rank could start moving data: the last arrival, or the message's posting.
                    var ready: Int64? = nil
                    if e.peer < 0 {
                        ready = e.async ? nil : lastArrival["\(e.detail)#\(e.sequence)"]
                    } else if e.name == "recv" {
                        let key = "\(e.detail)|\(e.peer)>\(e.groupRank)#\(e.tag)"
                        let n = received[key, default: 0]
                        received[key] = n + 1
                        if let times = posted[key], n < times.count { ready = times[n] }
                    } else {
                        ready = shifted(e.start, p)
                    }
                    let start = shifted(e.start, p), end = shifted(e.end, p)
                    let waitNs = ready.map { min(max($0 - start, 0), end - start) }
                    var args: [String: ChromeTrace.Arg] = [
                        "group": .text(e.detail), "op": .text(e.name), "bytes": .number(Double(e.bytes)),
                        "ranks": .number(Double(e.groupSize)), "sequence": .number(Double(e.sequence)),
                        "blocking": .number(e.async ? 0 : 1)]
                    if e.peer >= 0 { args["peer"] = .number(Double(e.peer)); args["tag"] = .number(Double(e.tag)) }
                    if let waitNs {
                        args["wait_us"] = .number(Double(waitNs) / 1000)
                        args["transfer_us"] = .number(Double(end - start - waitNs) / 1000)
                    }
                    out.append(.init(name: "\(e.name) \(e.detail)", cat: "comm", ts: ts, dur: dur, pid: pid,
                                     tid: ChromeTrace.commThread, args: args))
                    if let waitNs, waitNs > 0 {
                        out.append(.init(name: "waiting for peers", cat: "comm phase", ts: ts, dur: Double(waitNs) / 1000,
                                         pid: pid, tid: ChromeTrace.commThread))
                        out.append(.init(name: "moving data", cat: "comm phase", ts: ts + Double(waitNs) / 1000,
                                         dur: dur - Double(waitNs) / 1000, pid: pid, tid: ChromeTrace.commThread))
                    }
                }
            }
        }
        return ChromeTrace(traceEvents: out, otherData: .init(format: ChromeTrace.formatTag, layout: layout,
                                                              ranks: parts.map(\.rank),
                                                              dropped: parts.reduce(0) { $0 + $1.dropped }, clock: clock))
    }
}
