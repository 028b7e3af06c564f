import Foundation

/// What a traced run communicated, per step: for each group and operation
/// the calls, bytes, time and bandwidth (nccl-tests' definitions: algbw =
/// bytes / time with bytes the full buffer, busbw = algbw · 2(n−1)/n for an
/// all-reduce, · (n−1)/n for all-gather, reduce-scatter and all-to-all, · 1
/// for broadcast and point-to-point), and the share of each step that
/// communication was exposed (the compute stream blocked in a collective or
/// a wait). Bandwidth divides by the time spent moving data, after the last
/// peer arrived, where the trace could measure it; otherwise by the whole time.
public struct CommSummary: Sendable {
    /// One group's operation, averaged over the traced steps.
    public struct Row: Sendable, Equatable {
        public var group: String, op: String, ranks: Int
        /// Operations per step (a collective once for the group, whatever its size; a send or recv once per call).
        public var callsPerStep: Double
        /// Mean bytes per call.
        public var bytesPerCall: Double
        /// Seconds per step a member spends in the operation, and of those waiting for peers.
        public var secondsPerStep: Double, waitSecondsPerStep: Double
        public var algbw: Double, busbw: Double
    }

    public var rows: [Row]
    /// Steps the trace holds (the most any rank recorded).
    public var steps: Int
    /// Per step: the mean over ranks of exposed communication seconds / step seconds.
    public var exposedShare: [Double]
    /// Mean step seconds over ranks, per step.
    public var stepSeconds: [Double]

    /// busbw / algbw of `op` over `n` ranks.
    public static func busFactor(_ op: String, ranks n: Int) -> Double {
        switch op {
        case "allReduce": 2 * Double(n - 1) / Double(n)
        case "allGather", "reduceScatter", "allToAll": Double(n - 1) / Double(n)
        default: 1
        }
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
        struct Totals { var events = 0, ranks = 1, bytes = 0.0, seconds = 0.0, wait = 0.0, transfer = 0.0, members = Set<Int>() }
        var totals: [String: Totals] = [:]
        var exposed = Array(repeating: [Int: Double](), count: steps)
        for s in slices where s.cat == "comm" || s.cat == "wait" {
            guard let k = step(s.pid, s.ts!) else { continue }
            if s.cat == "wait" || s.int("blocking") == 1 { exposed[k][s.pid, default: 0] += s.dur! / 1e6 }
            guard s.cat == "comm", let group = s.text("group"), let op = s.text("op") else { continue }
            var t = totals[group + "\u{1}" + op] ?? Totals()
            t.events += 1
            t.ranks = s.int("ranks") ?? 1
            t.bytes += s.args?["bytes"]?.number ?? 0
            t.seconds += s.dur! / 1e6
            t.wait += (s.args?["wait_us"]?.number ?? 0) / 1e6
            t.transfer += (s.args?["transfer_us"]?.number ?? s.dur!) / 1e6
            t.members.insert(s.pid)
            totals[group + "\u{1}" + op] = t
        }
        let n = Double(max(steps, 1))
        rows = totals.map { key, t in
            let parts = key.split(separator: "\u{1}").map(String.init)
            let collective = !["send", "recv"].contains(parts[1])
            let calls = Double(t.events) / Double(collective ? t.ranks : 1)
            let algbw = t.transfer > 0 ? t.bytes / t.transfer / 1e9 : 0
            return Row(group: parts[0], op: parts[1], ranks: t.ranks, callsPerStep: calls / n,
                       bytesPerCall: t.bytes / Double(t.events), secondsPerStep: t.seconds / Double(t.members.count) / n,
                       waitSecondsPerStep: t.wait / Double(t.members.count) / n, algbw: algbw,
                       busbw: algbw * Self.busFactor(parts[1], ranks: t.ranks))
        }.sorted { ($0.group, $0.op) < ($1.group, $1.op) }
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

    /// The summary as printed: the per-group table, then the exposed share per step.
    public var lines: [String] {
        guard steps > 0 else { return ["communication: the trace holds no training step"] }
        var out = ["communication per step (mean over \(steps) traced step(s); time per member rank, "
                   + "bandwidth over the time moving data):",
                   "group | op | ranks | calls/step | size/call | ms/step | waiting for peers | algbw GB/s | busbw GB/s"]
        for r in rows {
            out.append(String(format: "%@ | %@ | %d | %.1f | %@ | %.3f | %.0f%% | %.2f | %.2f", r.group, r.op, r.ranks,
                              r.callsPerStep, Self.size(r.bytesPerCall), r.secondsPerStep * 1e3,
                              100 * r.waitSecondsPerStep / max(r.secondsPerStep, 1e-12), r.algbw, r.busbw))
        }
        let shown = steps <= 8 ? Array(0..<steps) : [0, 1, 2, steps - 3, steps - 2, steps - 1]
        out.append("exposed communication (compute stream blocked in a collective or wait), mean over ranks:")
        for k in shown {
            out.append(String(format: "step %d: %.1f%% of %.1f ms", k + 1, 100 * exposedShare[k], stepSeconds[k] * 1e3))
        }
        let mean = exposedShare.reduce(0, +) / Double(steps)
        out.append(String(format: "all steps: %.1f%% exposed", 100 * mean))
        return out
    }
}
