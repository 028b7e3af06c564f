import ArgumentParser
import Foundation
import Tessera

/// `tessera plan --serve`'s flags: the model is served instead of trained.
struct PlanServeOptions: ParsableArguments {
    @Flag(help: "Plan serving instead of training: weights and KV cache per device, the largest batch, TPOT, TTFT and the best tp/pp.")
    var serve = false
    @Option(help: "Serving: tokens of context each sequence holds in the KV cache (default: the model's sequence length).")
    var context: Int?
    @Option(help: "Serving: prompt tokens for the time to first token (default 512, at most the context).") var prompt: Int?
    @Option(help: "Serving: concurrent sequences per replica (default: 1 for --target latency, else the largest that fits).")
    var batch: Int?
    @Option(help: "Serving: rank layouts by latency (least TPOT) or throughput (most tokens/s); default throughput.")
    var target: String?
    @Option(name: .customLong("max-tpot-ms"), help: "Serving: leave out layouts slower than this many ms per output token.")
    var maxTPOT: Double?
    @Option(name: .customLong("memory-fraction"), help: "Serving: share of device memory usable for weights and KV cache (default 0.9).")
    var memoryFraction: Double?

    /// The request and target, checked; nil without --serve (a serving flag without it is an error).
    func request(shape: ModelShape, precision: Precision) throws -> (ServingPlan.Request, ServingPlan.Target)? {
        guard serve else {
            if context != nil || prompt != nil || batch != nil || target != nil || maxTPOT != nil || memoryFraction != nil {
                throw ConfigError("--context, --prompt, --batch, --target, --max-tpot-ms and --memory-fraction plan serving; add --serve")
            }
            return nil
        }
        let t: ServingPlan.Target
        switch target ?? "throughput" {
        case "latency": t = .latency
        case "throughput": t = .throughput
        case let other: throw ConfigError("unknown --target '\(other)'; valid: latency, throughput")
        }
        let ctx = context ?? shape.seqLen
        guard (1...10_000_000).contains(ctx) else { throw ConfigError("--context must be in 1...10000000, got \(ctx)") }
        let p = prompt ?? min(512, ctx)
        guard (1...ctx).contains(p) else { throw ConfigError("--prompt must be in 1...\(ctx) (the context), got \(p)") }
        if let batch, !(1...1_000_000).contains(batch) { throw ConfigError("--batch must be in 1...1000000, got \(batch)") }
        if let maxTPOT, !(maxTPOT > 0) { throw ConfigError("--max-tpot-ms must be a positive number of milliseconds, got \(maxTPOT)") }
        let fraction = memoryFraction ?? 0.9
        guard fraction > 0 && fraction <= 1 else { throw ConfigError("--memory-fraction must be in (0, 1], got \(fraction)") }
        let bytes = precision == .bf16 ? 2.0 : 4.0
        return (ServingPlan.Request(context: ctx, prompt: p, batch: batch ?? (t == .latency ? 1 : nil),
                                    weightBytes: bytes, kvBytes: bytes, memoryFraction: fraction), t)
    }
}
