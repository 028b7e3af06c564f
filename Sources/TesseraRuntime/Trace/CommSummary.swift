import Foundation

/// What a traced run communicated, per step: for each group and operation
/// the calls, bytes, time and bandwidth (nccl-tests' definitions: algbw =
/// bytes / time with bytes the full buffer, busbw = algbw · 2(n−1)/n for an
/// all-reduce, · (n−1)/n for all-gather, reduce-scatter and all-to-all, · 1
/// for broadcast and point-to-point), and the share of each step that
/// communication was exposed (the compute stream blocked in a collective or
/// a wait). Bandwidth divides by the time spent moving data, after the last
/// peer arrived, where the trace could measure it; otherwise by the whole time.
///
/// One row per group, operation and message size: a gradient bucket and a
/// scalar all-reduce on one group are two rows, never one averaged size.
/// The figures per step are the steady state, the mean over steps 2…n; the
/// first step, which pays for warm-up (first touches of buffers, the
/// transport's connection set-up), is reported apart (with one traced step,
/// both are that step).
public struct CommSummary: Sendable {
    /// One group's operation at one message size.
    public struct Row: Sendable, Equatable {
        public var group: String, op: String, ranks: Int
        /// Bytes of each call (the full buffer).
        public var bytesPerCall: Double
        /// Steady state (mean over steps 2…n): operations per step (a collective once for the group,
        /// whatever its size; a send or recv once per call).
        public var callsPerStep: Double
        /// Steady state: seconds per step a member spends in the operation, and of those waiting for peers.
        public var secondsPerStep: Double, waitSecondsPerStep: Double
        public var algbw: Double, busbw: Double
        /// The first step: operations, seconds per member, and of those waiting for peers.
        public var firstStepCalls: Double, firstStepSeconds: Double, firstStepWaitSeconds: Double
    }

    public var rows: [Row]
    /// Steps the trace holds (the most any rank recorded).
    public var steps: Int
    /// Per step: the mean over ranks of exposed communication seconds / step seconds.
    public var exposedShare: [Double]
    /// Mean step seconds over ranks, per step.
    public var stepSeconds: [Double]

    /// The steps the steady-state figures average: 2…n, or the only one.
    public var steadySteps: ClosedRange<Int> { steps > 1 ? 2...steps : 1...max(steps, 1) }

    /// busbw / algbw of `op` over `n` ranks.
    public static func busFactor(_ op: String, ranks n: Int) -> Double {
        switch op {
        case "allReduce": 2 * Double(n - 1) / Double(n)
        case "allGather", "reduceScatter", "allToAll": Double(n - 1) / Double(n)
        default: 1
        }
    }

    /// What one (group, op, size) did over a set of steps.
    struct Totals {
        var events = 0, ranks = 1, seconds = 0.0, wait = 0.0, transfer = 0.0, members = Set<Int>()
    }

    /// A row's key: group, operation and bytes per call.
    struct Key: Hashable, Comparable {
        var group: String, op: String, bytes: Double
        static func < (a: Key, b: Key) -> Bool { (a.group, a.op, a.bytes) < (b.group, b.op, b.bytes) }
    }

    public init(_ trace: ChromeTrace) {
        let slices = trace.slices
        var stepsOf: [Int: [ChromeTrace.Event]] = [:]
        for s in slices where s.cat == "step" { stepsOf[s.pid, default: []].append(s) }
        for k in stepsOf.keys { stepsOf[k]!.sort { $0.ts! < $1.ts! } }
        steps = stepsOf.values.map(\.count).max() ?? 0
        /// The index of the step of rank `pid` that holds time `ts`.
        func step(_ pid: Int, _ ts: Double) -> Int? {
            stepsOf[pid]?.firstIndex { ts >= $0.ts! && ts <= $0.end }
        }
        var steady: [Key: Totals] = [:], first: [Key: Totals] = [:]
        var exposed = Array(repeating: [Int: Double](), count: steps)
        for s in slices where s.cat == "comm" || s.cat == "wait" {
            guard let k = step(s.pid, s.ts!) else { continue }
            if s.cat == "wait" || s.int("blocking") == 1 { exposed[k][s.pid, default: 0] += s.dur! / 1e6 }
            guard s.cat == "comm", let group = s.text("group"), let op = s.text("op") else { continue }
            let key = Key(group: group, op: op, bytes: s.args?["bytes"]?.number ?? 0)
            func add(_ t: inout Totals) {
                t.events += 1
                t.ranks = s.int("ranks") ?? 1
                t.seconds += s.dur! / 1e6
                t.wait += (s.args?["wait_us"]?.number ?? 0) / 1e6
                t.transfer += (s.args?["transfer_us"]?.number ?? s.dur!) / 1e6
                t.members.insert(s.pid)
            }
            if k == 0 { add(&first[key, default: Totals()]) }
            if k > 0 || steps == 1 { add(&steady[key, default: Totals()]) }
        }
        let n = Double(max(steps - 1, 1))  // steadySteps.count
        rows = Set(steady.keys).union(first.keys).sorted().map { key in
            let t = steady[key] ?? Totals(), f = first[key] ?? Totals()
            let ranks = max(t.ranks, f.ranks)
            let collective = !["send", "recv"].contains(key.op)
            func calls(_ t: Totals) -> Double { Double(t.events) / Double(collective ? ranks : 1) }
            func perMember(_ x: Double, _ t: Totals) -> Double { x / Double(max(t.members.count, 1)) }
            let bw = t.events > 0 ? t : f
            let algbw = bw.transfer > 0 ? key.bytes * Double(bw.events) / bw.transfer / 1e9 : 0
            return Row(group: key.group, op: key.op, ranks: ranks, bytesPerCall: key.bytes,
                       callsPerStep: calls(t) / n, secondsPerStep: perMember(t.seconds, t) / n,
                       waitSecondsPerStep: perMember(t.wait, t) / n, algbw: algbw,
                       busbw: algbw * Self.busFactor(key.op, ranks: ranks), firstStepCalls: calls(f),
                       firstStepSeconds: perMember(f.seconds, f), firstStepWaitSeconds: perMember(f.wait, f))
        }
        stepSeconds = (0..<steps).map { k in
            let durations = stepsOf.values.compactMap { $0.count > k ? $0[k].dur! / 1e6 : nil }
            return durations.reduce(0, +) / Double(max(durations.count, 1))
        }
        exposedShare = (0..<steps).map { k in
            let shares = stepsOf.compactMap { pid, steps in
                steps.count > k ? (exposed[k][pid] ?? 0) / max(steps[k].dur! / 1e6, 1e-12) : nil
            }
            return shares.reduce(0, +) / Double(max(shares.count, 1))
        }
    }

    /// Bytes as "12 B", "4.0 KiB" or "1.50 MiB".
    static func size(_ bytes: Double) -> String {
        bytes < 1024 ? String(format: "%.0f B", bytes)
            : bytes < 1_048_576 ? String(format: "%.1f KiB", bytes / 1024) : String(format: "%.2f MiB", bytes / 1_048_576)
    }

    /// The steps `steadySteps` names, in words: "steps 2–5 of 5", "step 2 of 2" or "the only step".
    var steadyWords: String {
        steps <= 1 ? "the only traced step"
            : steps == 2 ? "step 2 of 2" : "steps 2–\(steps) of \(steps)"
    }

    /// The summary as printed: the per-group table, then the exposed share per step.
    public var lines: [String] {
        guard steps > 0 else { return ["communication: the trace holds no training step"] }
        func share(_ part: Double, _ whole: Double) -> Double { whole > 0 ? 100 * part / whole : 0 }
        var out = ["communication per step (steady state: mean over \(steadyWords); the first step apart; time per "
                   + "member rank, bandwidth over the time moving data):",
                   "group | op | ranks | calls/step | size/call | ms/step | waiting for peers | algbw GB/s | busbw GB/s"
                   + " | step 1: calls | ms | waiting"]
        for r in rows {
            out.append(String(format: "%@ | %@ | %d | %.1f | %@ | %.3f | %.0f%% | %.2f | %.2f | %.0f | %.3f | %.0f%%",
                              r.group, r.op, r.ranks, r.callsPerStep, Self.size(r.bytesPerCall), r.secondsPerStep * 1e3,
                              share(r.waitSecondsPerStep, r.secondsPerStep), r.algbw, r.busbw, r.firstStepCalls,
                              r.firstStepSeconds * 1e3, share(r.firstStepWaitSeconds, r.firstStepSeconds)))
        }
        let shown = steps <= 8 ? Array(0..<steps) : [0, 1, 2, steps - 3, steps - 2, steps - 1]
        out.append("exposed communication (compute stream blocked in a collective or wait), mean over ranks:")
        for k in shown {
            out.append(String(format: "step %d: %.1f%% of %.1f ms", k + 1, 100 * exposedShare[k], stepSeconds[k] * 1e3))
        }
        let steadyShares = steadySteps.map { exposedShare[$0 - 1] }
        let mean = steadyShares.reduce(0, +) / Double(steadyShares.count)
        out.append(String(format: "steady state (%@): %.1f%% exposed; first step: %.1f%% of %.1f ms", steadyWords,
                          100 * mean, 100 * exposedShare[0], stepSeconds[0] * 1e3))
        return out
    }
}
