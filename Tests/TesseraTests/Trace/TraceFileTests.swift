import Foundation
import Synchronization
import Testing
import Tessera

/// A traced run's file, read with a plain JSON decoder (not Tessera's own
/// reader): every rank is a process with a compute and a communication
/// track, and each strategy's collectives appear where and as often as it
/// must communicate.
@Suite struct TraceFileTests {
    /// The fields of Chrome's trace-event format the checks read.
    struct File: Decodable {
        struct Event: Decodable {
            var name: String, ph: String, pid: Int
            var cat: String?, ts: Double?, dur: Double?, tid: Int?
            var args: [String: Value]?
            var end: Double { ts! + dur! }
            func text(_ k: String) -> String? { if case .text(let s)? = args?[k] { s } else { nil } }
        }
        enum Value: Decodable {
            case text(String), number(Double)
            init(from d: Decoder) throws {
                let c = try d.singleValueContainer()
                if let x = try? c.decode(Double.self) { self = .number(x) } else { self = .text(try c.decode(String.self)) }
            }
        }
        var traceEvents: [Event]
    }

    /// The decoded trace of `config`'s run.
    static func traced(_ config: TrainConfig) throws -> File {
        try JSONDecoder().decode(File.self, from: TracedRun.file(config))
    }

    /// Every rank 0..<n is a named process with a "compute" and a "communication" thread, both holding slices.
    static func checkTracks(_ file: File, ranks n: Int) {
        for r in 0..<n {
            let meta = file.traceEvents.filter { $0.pid == r && $0.ph == "M" }
            #expect(meta.contains { $0.name == "process_name" && $0.text("name")?.hasPrefix("rank \(r) ") == true })
            #expect(Set(meta.filter { $0.name == "thread_name" }.compactMap { $0.text("name") }) == ["compute", "communication"])
            let slices = file.traceEvents.filter { $0.pid == r && $0.ph == "X" }
            #expect(slices.contains { $0.tid == 0 } && slices.contains { $0.tid == 1 }, "rank \(r) has both tracks")
        }
        #expect(Set(file.traceEvents.map(\.pid)) == Set(0..<n))
    }

    /// The collectives of group `prefix…` inside each slice named `region` of rank `pid`, by operation.
    static func commInside(_ file: File, pid: Int, region: String, group prefix: String) -> [[String: Int]] {
        let comm = file.traceEvents.filter { $0.pid == pid && $0.cat == "comm" && $0.text("group")?.hasPrefix(prefix) == true }
        return file.traceEvents.filter { $0.pid == pid && $0.name == region }.map { r in
            var n: [String: Int] = [:]
            for c in comm where c.ts! >= r.ts! && c.end <= r.end { n[c.text("op")!, default: 0] += 1 }
            return n
        }
    }

    @Test func dataTensorSequenceParallelTraceHasEveryRankAndTheMegatronCounts() throws {
        Compute.threads = 1
        var c = Equivalence.defaultConfig
        c.dp = 2; c.tp = 2; c.sp = true; c.steps = 2
        let file = try Self.traced(c)
        Self.checkTracks(file, ranks: 4)
        for r in 0..<4 {
            // Each block forward gathers before qkv and fc and scatters after proj and out; backward mirrors it.
            let forward = Self.commInside(file, pid: r, region: "block forward", group: "tp")
            #expect(forward.count == 2 * c.model.layers && forward.allSatisfy { $0 == ["allGather": 2, "reduceScatter": 2] })
            let backward = Self.commInside(file, pid: r, region: "block backward", group: "tp")
            #expect(backward.count == 2 * c.model.layers && backward.allSatisfy { $0 == ["allGather": 4, "reduceScatter": 2] })
            // Attention and MLP regions nest inside the blocks, one each per block pass.
            #expect(file.traceEvents.filter { $0.pid == r && $0.name == "attention forward" }.count == 2 * c.model.layers)
            #expect(file.traceEvents.filter { $0.pid == r && $0.cat == "step" }.count == 2)
            // The data-parallel sync runs inside "gradient sync" or overlapped with backward, never elsewhere in a step.
            #expect(file.traceEvents.contains { $0.pid == r && $0.name == "optimizer" })
        }
    }

    /// cp2 in both modes: every rank's tracks, and inside each attention
    /// region the cp group's exchanges as `ContextParallelTests` counts them
    /// (ring: cp−1 sends forward, 2cp−1 backward; Ulysses: 2 all-to-alls each way), and none elsewhere.
    @Test(arguments: [ContextParallelMode.ring, .ulysses])
    func contextParallelTraceHoldsEachAttentionLayersExchanges(_ mode: ContextParallelMode) throws {
        Compute.threads = 1
        var c = Equivalence.defaultConfig
        c.layout.cp = 2; c.layout.cpMode = mode; c.steps = 2
        let file = try Self.traced(c)
        let n = 2, passes = c.steps * c.model.layers
        Self.checkTracks(file, ranks: n)
        let (forward, backward) = mode == .ring
            ? (["send": n - 1, "recv": n - 1], ["send": 2 * n - 1, "recv": 2 * n - 1])
            : (["allToAll": 2], ["allToAll": 2])
        for r in 0..<n {
            let f = Self.commInside(file, pid: r, region: "attention forward", group: "cp")
            #expect(f.count == passes && f.allSatisfy { $0 == forward }, "rank \(r) forward: \(f)")
            let b = Self.commInside(file, pid: r, region: "attention backward", group: "cp")
            #expect(b.count == passes && b.allSatisfy { $0 == backward }, "rank \(r) backward: \(b)")
            let onCP = file.traceEvents.filter { $0.pid == r && $0.cat == "comm" && $0.text("group")?.hasPrefix("cp") == true }
            #expect(onCP.count == passes * (forward.values.reduce(0, +) + backward.values.reduce(0, +)))
            // The gradients are summed over dp×cp, in the gradient sync or overlapped with backward.
            #expect(file.traceEvents.contains { $0.pid == r && $0.cat == "comm" && $0.text("group")?.hasPrefix("dp×cp") == true })
        }
    }

    @Test func pipelineTraceHoldsEveryActionAndItsMessages() throws {
        Compute.threads = 1
        var c = Equivalence.defaultConfig
        c.pp = 2; c.microBatches = 4; c.schedule = .oneFOneB; c.steps = 2
        let file = try Self.traced(c)
        Self.checkTracks(file, ranks: 2)
        for r in 0..<2 {
            let actions = file.traceEvents.filter { $0.pid == r && $0.cat == "pipeline" }.compactMap { $0.text("kind") }
            #expect(actions.filter { $0 == "F" }.count == 4 * 2 && actions.filter { $0 == "B" }.count == 4 * 2)
            let p2p = file.traceEvents.filter { $0.pid == r && $0.cat == "comm" && $0.text("group")?.hasPrefix("pp") == true }
            // Stage 0 sends 4 activations and receives 4 gradients per step; stage 1 the reverse.
            #expect(p2p.filter { $0.text("op") == "send" }.count == 4 * 2)
            #expect(p2p.filter { $0.text("op") == "recv" }.count == 4 * 2)
        }
    }
}
