import Foundation
import TesseraTopology
import TesseraCost

/// `tessera plan`'s output: a table a person reads, and JSON with, per
/// layout, `layout` (its fields), `memory_bytes` (raw bytes by term),
/// `fits`, `step_seconds`, `tokens_per_second`, `tflops_per_device` and `mfu` (model FLOPs, no
/// recomputation), `hardware_tflops_per_device` and `hfu` (with recomputation), `bubble`.
public enum PlanReport {
    /// One layout's JSON object.
    struct Entry: Encodable {
        struct LayoutFields: Encodable {
            var name: String, dp: Int, pp: Int, cp: Int, tp: Int, ep: Int, sp: Bool, zero: Int
            var schedule: String, chunks: Int, micro_batches: Int, micro_batch_size: Int, recompute: String
            var order: String
        }
        var layout: LayoutFields
        var memory_bytes: MemoryBreakdown
        var fits: Bool
        var step_seconds: Double, tokens_per_second: Double, tflops_per_device: Double, mfu: Double
        var hardware_tflops_per_device: Double, hfu: Double, bubble: Double
        var binding: String
    }

    struct Document: Encodable {
        var model: ModelShape, hardware: String, gpus: Int, parameters: Double, layouts: [Entry]
    }

    /// The JSON document for `plans` of `shape` on `gpus` devices of `hw`.
    public static func json(_ plans: [LayoutPlan], shape: ModelShape, hardware hw: Hardware, gpus: Int) throws -> String {
        let entries = plans.map { p in
            let l = p.layout
            return Entry(layout: .init(name: l.name, dp: l.dp, pp: l.pp, cp: l.cp, tp: l.tp, ep: l.ep, sp: l.sp,
                                       zero: l.zero, schedule: l.schedule.rawValue, chunks: l.ppChunks,
                                       micro_batches: l.microBatches, micro_batch_size: p.setup.microBatch,
                                       recompute: p.setup.recompute.rawValue,
                                       order: l.order.map(\.rawValue).joined(separator: ",")),
                         memory_bytes: p.memory, fits: p.fits, step_seconds: p.time.seconds,
                         tokens_per_second: p.tokensPerSecond, tflops_per_device: p.tflopsPerDevice, mfu: p.mfu,
                         hardware_tflops_per_device: p.hardwareTflopsPerDevice, hfu: p.hfu,
                         bubble: p.time.bubble, binding: p.binding(hw))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let doc = Document(model: shape, hardware: hw.name, gpus: gpus, parameters: shape.parameterCount.rounded(),
                           layouts: entries)
        return String(decoding: try encoder.encode(doc), as: UTF8.self)
    }

    /// The memory breakdown of one plan, one line per term.
    public static func memoryLines(_ p: LayoutPlan, hardware hw: Hardware) -> [String] {
        let fmt = MemoryBreakdown.format
        var lines = ["memory per device (pipeline rank \(p.loadedStage), the most loaded):"]
        for (name, bytes) in p.memory.terms where bytes > 0 {
            lines.append("  " + name.padding(toLength: 12, withPad: " ", startingAt: 0) + fmt(bytes))
        }
        lines.append("  " + "total".padding(toLength: 12, withPad: " ", startingAt: 0) + fmt(p.memory.total)
                     + " of \(fmt(hw.memoryPerDevice(gpus: p.layout.worldSize))): " + (p.fits ? "fits" : "does not fit"))
        return lines
    }

    /// The table header and one row per plan.
    public static func table(_ plans: [LayoutPlan], hardware hw: Hardware) -> [String] {
        let header = "layout                                      mb  recompute  memory/dev  fits  step(s)   tokens/s  "
            + "TFLOP/s/dev (model/hw)   MFU    HFU  bubble  why"
        return [header] + plans.map { p in
            let name = p.layout.name + (p.layout.pp > 1 ? " m\(p.layout.microBatches)" : "")
            return name.padding(toLength: max(42, name.count + 1), withPad: " ", startingAt: 0)
                + String(format: "%4d  %-9@  %10@  %-4@ %8.3g %10.4g %12.4g/%-9.4g %5.1f%% %5.1f%% %6.1f%%  ",
                         p.setup.microBatch, p.setup.recompute.rawValue, MemoryBreakdown.format(p.memory.total),
                         p.fits ? "yes" : "no", p.time.seconds, p.tokensPerSecond, p.tflopsPerDevice,
                         p.hardwareTflopsPerDevice, 100 * p.mfu, 100 * p.hfu, 100 * p.time.bubble)
                + p.binding(hw)
        }
    }
}
