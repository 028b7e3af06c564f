import Foundation
import TesseraSupport
import TesseraComm
import TesseraTopology

/// Tracing one launch of a layout: each rank records on its own
/// `TraceRecorder` through a `TracingWorld` (so every group cut from it is
/// traced) with the recorder installed for the rank's thread (so layer
/// regions find it); at the end every rank ships its recording to world
/// rank 0, which merges the parts into one Chrome trace, writes it and
/// prints the communication summary. Under MPI the clocks are aligned at a
/// barrier first: each process reads its clock as it leaves the barrier, and
/// its offset from rank 0's reading is subtracted (exact to the barrier's
/// exit skew, typically microseconds on one machine). Thread ranks share one clock.
public enum TraceSession {
    /// Runs `body` for one rank on `world` (traced when `path` is set: the
    /// world `body` gets is then a `TracingWorld`), then, when tracing,
    /// merges the parts and writes `path` on world rank 0 (collective: every
    /// rank of the world calls it). `log` prints rank 0's report lines.
    public static func run(path: String?, layout: Layout, world: ProcessGroup & ProcessGroupFactory,
                           alignClocks: Bool, log: (String) -> Void,
                           _ body: (ProcessGroup & ProcessGroupFactory) throws -> Void) throws {
        guard let path else { return try body(world) }
        let recorder = TraceRecorder(worldRank: world.worldRank)
        try TraceRecorder.installed(recorder) { try body(TracingWorld(world, recorder: recorder)) }
        let mesh = try DeviceMesh(layout)
        let c = mesh.coordinates(of: world.worldRank)
        var offset: Int64 = 0
        if alignClocks && world.size > 1 {
            try world.barrier()
            let t = Int64(bitPattern: TraceRecorder.now())
            offset = t - Int64(try world.allGather([Int(t)])[0])
        }
        let part = RankTrace(rank: .init(rank: world.worldRank, dp: c[.dp]!, pp: c[.pp]!, tp: c[.tp]!),
                             clockOffset: offset, events: recorder.events, dropped: recorder.dropped)
        let parts = try gather(part, over: world)
        guard let parts else { return }
        let trace = TraceMerger.merge(parts, layout: layout.name, clock: alignClocks ? "barrier" : "one clock")
        try AtomicFile.write(try trace.encoded(), to: path)
        let summary = CommSummary(trace)
        log("wrote trace \(path): \(parts.count) rank(s), \(trace.slices.count) slices"
            + (trace.otherData.dropped > 0 ? " (\(trace.otherData.dropped) events dropped: buffer full)" : "")
            + "; open it in ui.perfetto.dev")
        for line in summary.lines { log(line) }
    }

    /// Every rank's part on world rank 0 (nil on the others), shipped as JSON packed into integers.
    static func gather(_ part: RankTrace, over world: ProcessGroup) throws -> [RankTrace]? {
        let bytes = [UInt8](try JSONEncoder().encode(part))
        var words = [bytes.count]
        for i in stride(from: 0, to: bytes.count, by: 8) {
            var w: UInt64 = 0
            for j in 0..<min(8, bytes.count - i) { w |= UInt64(bytes[i + j]) << (8 * UInt64(j)) }
            words.append(Int(bitPattern: UInt(w)))
        }
        let lengths = try world.allGather([words.count])
        let longest = lengths.max()!
        let all = try world.allGather(words + Array(repeating: 0, count: longest - words.count))
        guard world.rank == 0 else { return nil }
        return try (0..<world.size).map { r in
            let w = all[(r * longest)..<(r * longest + lengths[r])]
            let count = w.first!
            var out = [UInt8](repeating: 0, count: count)
            for (k, word) in w.dropFirst().enumerated() {
                let u = UInt64(UInt(bitPattern: word))
                for j in 0..<8 where 8 * k + j < count { out[8 * k + j] = UInt8(truncatingIfNeeded: u >> (8 * UInt64(j))) }
            }
            return try JSONDecoder().decode(RankTrace.self, from: Data(out))
        }
    }
}
