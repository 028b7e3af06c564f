import Foundation
import TesseraSupport
import TesseraTopology
import TesseraKernels
import TesseraCost

/// `tessera plan --serve`'s printout: what the request is, a table of tp × pp
/// layouts (weights and KV cache per device, the largest batch at the
/// context, TPOT with its memory and compute bounds, TTFT, tokens/s), and
/// the best layout for the target in words.
public enum ServingReport {
    public static func lines(_ plans: [ServingPlan], shape: ModelShape, hardware: Hardware, devices: Int,
                             precision: Precision, request r: ServingPlan.Request, target: ServingPlan.Target?,
                             top: Int) -> [String] {
        var out: [String] = []
        out.append(String(format: "serving %@ (%.4g parameters, %d blocks, %d heads / %d kv heads of %d) on %d × %@ "
                          + "(%@, %.4g TB/s memory, %.4g TFLOP/s %@ peak × %.2f achievable)",
                          shape.name, shape.parameterCount, shape.layers, shape.heads, shape.kvHeads, shape.headDim,
                          devices, hardware.name, MemoryBreakdown.format(hardware.memoryPerDevice(gpus: devices)),
                          hardware.memoryBandwidth / 1e12, hardware.peak(precision) / 1e12, precision.rawValue,
                          hardware.matmulFraction))
        out.append("context \(r.context) tokens, prompt \(r.prompt) tokens, weights and KV cache \(precision.rawValue), "
                   + String(format: "%.0f%% of each device's memory usable; ", 100 * r.memoryFraction)
                   + (r.batch.map { "batch \($0)" } ?? "each layout at its largest batch")
                   + (target.map { "; best for \($0.rawValue) first" } ?? ""))
        if let d = hardware.decode {
            out.append("TPOT (time per output token) = pp × (memory + compute + tp all-reduces) + (pp−1) hand-offs, from "
                       + String(format: "the profile's decode rates: weights streamed at %.3g GB/s (one row) and the KV cache "
                                + "read at %.3g GB/s (memory), what the batch's further rows add per weight byte (compute); ",
                                d.streamBandwidth / 1e9, d.attentionBandwidth / 1e9)
                       + "TTFT (time to first token) = one prompt's prefill through every stage")
        } else {
            out.append("TPOT (time per output token) = pp × (max(memory, compute) + tp all-reduces) + (pp−1) hand-offs; "
                       + "TTFT (time to first token) = one prompt's prefill through every stage")
        }
        let header = ["tp", "pp", "replicas", "weights/dev", "KV/token/dev", "max batch", "batch", "TPOT ms",
                      "mem ms", "compute ms", "tp comm ms", "TTFT ms", "tok/s/replica", "tok/s all", "bound"]
        var rows: [[String]] = []
        for p in plans.prefix(max(1, top)) {
            rows.append(["\(p.tp)", "\(p.pp)", "\(p.replicas)", MemoryBreakdown.format(p.weightBytes),
                         String(format: "%.0f KiB", p.kvBytesPerToken / 1024), "\(p.maxBatch)", "\(p.batch)",
                         String(format: "%.3g", 1000 * p.tpot), String(format: "%.3g", 1000 * p.stageMemorySeconds),
                         String(format: "%.3g", 1000 * p.stageComputeSeconds), String(format: "%.3g", 1000 * p.stageTPSeconds),
                         String(format: "%.4g", 1000 * p.ttft), String(format: "%.4g", p.tokensPerSecond),
                         String(format: "%.4g", p.totalTokensPerSecond), p.bound])
        }
        let widths = header.indices.map { i in max(header[i].count, rows.map { $0[i].count }.max() ?? 0) }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { String(repeating: " ", count: $1 - $0.count) + $0 }.joined(separator: "  ")
        }
        out.append(line(header))
        out += rows.map(line)
        out.append("(mem, compute, tp comm: one pipeline stage's decode step for ⌈batch/pp⌉ sequences)")
        if let best = plans.first, let target {
            out.append(String(format: "best for %@: tp %d × pp %d (%d replica(s)): TPOT %.3g ms at batch %d, TTFT %.4g ms, "
                              + "%.4g tokens/s over %d devices; a decode step is %@-bound",
                              target.rawValue, best.tp, best.pp, best.replicas, 1000 * best.tpot, best.batch,
                              1000 * best.ttft, best.totalTokensPerSecond, best.replicas * best.tp * best.pp, best.bound))
        }
        return out
    }
}
