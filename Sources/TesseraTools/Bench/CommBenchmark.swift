import Foundation
import TesseraKernels
import TesseraComm

/// Collective bandwidth in the manner of nccl-tests: for a message of S bytes
/// (the full buffer: all-reduce input, all-gather output, reduce-scatter
/// input, all-to-all send), algbw = S / time and busbw = algbw · factor with
/// factor 2(n−1)/n for all-reduce and (n−1)/n for the others, so busbw is
/// comparable with a link's (here: memory's) bandwidth whatever n is.
public enum CommBenchmark {
    /// Operations the benchmark times.
    public enum Op: String, CaseIterable, Sendable {
        case allReduce = "all_reduce", allGather = "all_gather", reduceScatter = "reduce_scatter", allToAll = "all_to_all"

        /// busbw / algbw for n ranks.
        public func busFactor(_ n: Int) -> Double {
            self == .allReduce ? 2 * Double(n - 1) / Double(n) : Double(n - 1) / Double(n)
        }
    }

    /// One measured row.
    public struct Row: Sendable {
        public var op: Op, ranks: Int, bytes: Int, seconds: Double
        public init(op: Op, ranks: Int, bytes: Int, seconds: Double) {
            self.op = op; self.ranks = ranks; self.bytes = bytes; self.seconds = seconds
        }
        public var algbw: Double { Double(bytes) / seconds / 1e9 }
        public var busbw: Double { algbw * op.busFactor(ranks) }
    }

    /// Message sizes from 4 KiB to `maxBytes`, ×4 apart.
    public static func sizes(maxBytes: Int) -> [Int] {
        var out: [Int] = [], s = 4096
        while s <= maxBytes { out.append(s); s *= 4 }
        return out
    }

    /// Times `op` on `group` (all members call this) for a message of `bytes`:
    /// the median of `iterations` runs after one warm-up, each between barriers.
    public static func time(_ op: Op, group g: ProcessGroup, bytes: Int, iterations: Int) throws -> Double {
        let n = g.size
        let count = max(n, bytes / 4 / n * n)  // floats in the full buffer, divisible by n
        let full = Tensor(uninitialized: [count]), part = Tensor(uninitialized: [count / n])
        full.data.update(repeating: 1, count: count)
        part.data.update(repeating: 1, count: count / n)
        let scratch = op == .allToAll ? Tensor(uninitialized: [count]) : part
        var times: [Double] = []
        for i in 0...iterations {
            try g.barrier()
            let t0 = DispatchTime.now().uptimeNanoseconds
            switch op {
            case .allReduce: try g.allReduce(full.data, count: count, op: .sum)
            case .allGather: try g.allGather(part.data, count: count / n, into: full.data)
            case .reduceScatter: try g.reduceScatter(full.data, total: count, into: part.data, op: .sum)
            case .allToAll: try g.allToAll(full.data, count: count / n, into: scratch.data)
            }
            try g.barrier()
            if i > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9) }
        }
        return times.sorted()[times.count / 2]
    }

    /// memcpy bandwidth (bytes copied per second, GB/s) of one thread on a buffer of `bytes`.
    public static func memcpyBandwidth(bytes: Int = 256 << 20) -> Double {
        let a = Tensor(uninitialized: [bytes / 4]), b = Tensor(uninitialized: [bytes / 4])
        a.data.update(repeating: 1, count: a.count)
        b.data.update(repeating: 0, count: b.count)
        var best = Double.infinity
        for _ in 0..<5 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            memcpy(b.data, a.data, bytes)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return Double(bytes) / best / 1e9
    }

    /// Iterations for a message size: more for small messages, at least 3.
    public static func iterations(for bytes: Int) -> Int { max(3, min(50, (64 << 20) / max(bytes, 1))) }

    /// The header and one formatted line per row, nccl-tests style.
    public static let header = pad("backend", 9) + pad("op", 16)
        + String(repeating: " ", count: 1) + "ranks        bytes    time(us) algbw(GB/s) busbw(GB/s)"
    public static func format(_ r: Row, backend: String) -> String {
        pad(backend, 9) + pad(r.op.rawValue, 16)
            + String(format: "%6d %12d %11.1f %11.2f %11.2f", r.ranks, r.bytes, r.seconds * 1e6, r.algbw, r.busbw)
    }

    static func pad(_ s: String, _ width: Int) -> String { s.padding(toLength: width, withPad: " ", startingAt: 0) }
}
