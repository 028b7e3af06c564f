import ArgumentParser
import Foundation
import Tessera

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Memory per device, step time and the best layout for a model on a cluster, before renting it.",
        discussion: """
            Examples:
              tessera plan --model llama2-70b --gpus 64 --gpu a100-80 --global-batch 1024
              tessera plan --model gpt3-175b --gpus 512 --gpu a100-80 --global-batch 1536 --layout "pp=8,tp=4,dp=16"
              tessera plan --model tessera-bench --hardware profile.json --global-batch 16 --layout "dp=2"
              tessera plan --serve --model llama2-70b --gpus 8 --gpu a100-80 --context 4096 --target latency
            Without --layout the planner searches every dp·pp·cp·tp = gpus layout (tp within a node, sp with tp, \
            micro-batch 1/2/4/8, 1f1b/interleaved/zb-h1, ZeRO 0-3, the lightest recompute that fits) and ranks the \
            ones that fit by tokens/s.
            --layout takes key=value pairs of the layout settings: dp, pp, cp, tp, ep, sp, zero, schedule, \
            chunks (pp-chunks), micro-batches, pp-layers, order; or a layout name like dp2xtp2+sp.
            Memory terms (bytes per device, the most loaded pipeline rank): weights = working weights (bf16 2 \
            bytes/parameter, fp32 4); gradients = gradient dtype bytes; optimizer = Adam's two fp32 moments (8); \
            master = fp32 master weights under bf16 (4); ZeRO-1 shards optimizer+master over dp·cp, ZeRO-2 also \
            gradients, ZeRO-3 also weights; activations = Korthikanti et al. per block times the micro-batches the \
            schedule holds at once, plus embedding and head; buffers = sequence-parallel gather, pipeline \
            send/receive, and ZeRO's full buckets (zero_buckets: stage 3's gathered weights and stage 2-3's \
            unreduced gradients of the outer unit and two blocks). --json gives them as raw bytes (memory_bytes) with fits, \
            step_seconds, tokens_per_second, tflops_per_device and mfu (model FLOPs, no recompute), \
            hardware_tflops_per_device and hfu (hardware FLOPs: with recomputation, as Narayanan et al. 2021 count \
            them) and bubble.
            """)

    @Option(help: "Model preset: \(ModelPresets.names.joined(separator: ", ")).") var model: String?
    @Option(help: "Transformer blocks.") var layers: Int?
    @Option(name: .customLong("d-model"), help: "Width.") var dModel: Int?
    @Option(help: "Attention heads.") var heads: Int?
    @Option(name: .customLong("kv-heads"), help: "Key/value heads (grouped-query attention).") var kvHeads: Int?
    @Option(help: "Feed-forward width (default 4·d-model).") var ffn: Int?
    @Option(help: "Vocabulary.") var vocab: Int?
    @Option(name: .customLong("seq-len"), help: "Sequence length.") var seqLen: Int?
    @Flag(help: "Output head tied to the embedding (--tied) or its own matrix (--untied); default: the preset's, else untied.")
    var head: HeadTying?
    @Flag(help: "SwiGLU feed-forward (three matrices).") var swiglu = false
    @Option(help: "Experts per MoE layer (1: dense).") var experts: Int?
    @Option(name: .customLong("top-k"), help: "Experts per token.") var topK: Int?
    @Option(name: .customLong("moe-every"), help: "Every N-th block is a mixture of experts (default 1: every block).")
    var moeEvery: Int?
    @Option(name: .customLong("expert-ffn"), help: "Hidden width of one expert (default: the feed-forward width).")
    var expertFFN: Int?

    @Option(help: "Devices (default: the layout's product).") var gpus: Int?
    @Option(name: .customLong("gpus-per-node"), help: "Devices per node (default 8).") var gpusPerNode: Int?
    @Option(help: "Device preset: \(Hardware.presets.map(\.name).joined(separator: ", ")).") var gpu: String?
    @Option(name: .customLong("gpu-memory"), help: "Device memory in GiB.") var gpuMemory: Double?
    @Option(name: .customLong("gpu-tflops"), help: "Peak TFLOP/s at the precision.") var gpuTflops: Double?
    @Option(name: .customLong("intra-node-gbps"), help: "Intra-node bandwidth per device, GB/s.") var intraNodeGBps: Double?
    @Option(name: .customLong("inter-node-gbps"), help: "Inter-node bandwidth per device, GB/s.") var interNodeGBps: Double?
    @Option(help: "Hardware profile from tessera bench profile --out FILE (ranks on that machine).") var hardware: String?
    @Option(help: "Collective backend of the profile: threads or mpi.") var backend = "threads"

    @Option(name: .customLong("global-batch"), help: "Sequences per step.") var globalBatch = 512
    @Option(name: .customLong("micro-batch"), help: "Sequences per micro-batch (default: searched; 1 with --layout).")
    var microBatch: Int?
    @Option(help: "bf16 or fp32.") var precision: Precision = .bf16
    @Option(name: .customLong("grad-dtype"), help: "bf16 (ZeRO paper, 2+2+12) or fp32 (Megatron, 2+4+12).")
    var gradDtype: Precision = .fp32
    @Option(help: "none, selective or full (default: searched; none with --layout).") var recompute: Recompute?
    @Option(help: "Activation accounting: megatron (2-byte bf16, 1-byte masks) or tessera (float32, masks regenerated); default tessera with --hardware, else megatron.")
    var activations: String?
    @Option(help: "Layout to evaluate: \"dp=4,tp=4,pp=4,zero=1,schedule=1f1b,chunks=1\".") var layout: String?
    @Flag(name: .customLong("tp-across-nodes"), help: "Let the search put tp groups across nodes.") var tpAcrossNodes = false
    @Option(help: "Layouts the search prints.") var top = 5
    @Flag(help: "Print JSON instead of the table.") var json = false
    @OptionGroup(title: "Serving") var serving: PlanServeOptions

    func run() throws {
        try reportingErrors {
            let inputs = try PlanInputs(request)
            if let serve = try serving.request(shape: inputs.shape, precision: inputs.setup.precision) {
                if json { throw ConfigError("--json prints training plans; drop it with --serve") }
                return try showServing(inputs: inputs, request: serve.0, target: serve.1)
            }
            if let layout = inputs.layout {
                let plan = try LayoutPlan(inputs.shape, layout: layout, setup: inputs.setup, hardware: inputs.hardware)
                try show([plan], inputs: inputs, searched: nil)
            } else {
                var search = LayoutSearch(shape: inputs.shape, hardware: inputs.hardware, gpus: inputs.gpus,
                                          setup: inputs.setup)
                if let microBatch { search.microBatches = [microBatch] }
                if let recompute { search.recomputes = [recompute] }
                search.allowTPAcrossNodes = tpAcrossNodes
                let (ranked, evaluated) = search.run()
                guard !ranked.isEmpty else { throw PlanInputs.fitsNowhere(search) }
                try show(Array(ranked.prefix(max(1, top))), inputs: inputs, searched: (evaluated, ranked.count))
            }
        }
    }

    /// The flags as the library's request.
    var request: PlanRequest {
        var r = PlanRequest()
        r.model = model; r.layers = layers; r.dModel = dModel; r.heads = heads; r.kvHeads = kvHeads; r.ffn = ffn
        r.vocab = vocab; r.seqLen = seqLen; r.tied = head.map { $0 == .tied }; r.swiglu = swiglu
        r.experts = experts; r.topK = topK; r.moeEvery = moeEvery; r.expertFFN = expertFFN
        r.gpus = gpus; r.gpusPerNode = gpusPerNode; r.gpu = gpu; r.gpuMemory = gpuMemory; r.gpuTflops = gpuTflops
        r.intraNodeGBps = intraNodeGBps; r.interNodeGBps = interNodeGBps; r.hardware = hardware; r.backend = backend
        r.globalBatch = globalBatch; r.microBatch = microBatch; r.precision = precision; r.gradDtype = gradDtype
        r.recompute = recompute; r.activations = activations; r.layout = layout
        return r
    }

    func show(_ plans: [LayoutPlan], inputs: PlanInputs, searched: (evaluated: Int, fitting: Int)?) throws {
        let (m, hw) = (inputs.shape, inputs.hardware)
        if json { return say(try PlanReport.json(plans, shape: m, hardware: hw, gpus: inputs.gpus)) }
        say(String(format: "model %@: %.4g parameters (L %ld, d %ld, heads %ld/%ld kv, ffn %ld, vocab %ld, seq %ld%@%@)",
                   m.name, m.parameterCount, m.layers, m.dModel, m.heads, m.kvHeads, m.ffn, m.vocab, m.seqLen,
                   m.tied ? ", tied" : "", m.experts > 1 ? ", \(m.experts) experts top-\(m.topK) width \(m.expertFFN) every \(m.moeEvery)" : ""))
        say(String(format: "hardware %@: %ld devices, %ld per node, %@ each, %.4g TFLOP/s %@ peak; global batch %ld, %@, "
                   + "grads %@", hw.name, inputs.gpus, min(hw.gpusPerNode, inputs.gpus),
                   MemoryBreakdown.format(hw.memoryPerDevice(gpus: inputs.gpus)), hw.peak(inputs.setup.precision) / 1e12,
                   inputs.setup.precision.rawValue, inputs.setup.globalBatch, inputs.setup.precision.rawValue,
                   inputs.setup.gradientBytes == 2 ? "bf16" : "fp32"))
        if let searched {
            say("searched \(searched.evaluated) layouts; \(searched.fitting) meshes and schedules fit; the fastest \(plans.count), "
                + "each at its best micro-batch, ZeRO stage and lightest recompute:")
        }
        for line in PlanReport.table(plans, hardware: hw) { say(line) }
        let best = plans[0]
        for line in PlanReport.memoryLines(best, hardware: hw) { say(line) }
        say(String(format: "step %.4g s = pipeline %.4g s (bubble %.1f%%, tp/cp/ep comm %.4g s) + dp/zero sync "
                   + "%.4g s + optimizer %.4g s", best.time.seconds, best.time.pipeline, 100 * best.time.bubble,
                   best.time.layerCommunication, best.time.dataParallelExposed, best.time.optimizer)
            + (best.time.sharedCoreBound > 0 ? String(format: "; shared cores bound %.4g s", best.time.sharedCoreBound) : ""))
        for line in try MeshDrawing.lines(best.layout, gpusPerNode: hw.gpusPerNode) { say(line) }
    }
}

extension PlanCommand {
    /// `--serve`: the layout given (dp = replicas, tp, pp), or every tp × pp ranked for the target.
    func showServing(inputs: PlanInputs, request: ServingPlan.Request, target: ServingPlan.Target) throws {
        let plans: [ServingPlan]
        if let l = inputs.layout {
            guard l.cp == 1 && l.ep == 1 && l.zero == 0 else {
                throw ConfigError("--serve takes a layout of dp (replicas), tp and pp only, got \(l.name)")
            }
            plans = [try ServingPlan(inputs.shape, tp: l.tp, pp: l.pp, devices: inputs.gpus, hardware: inputs.hardware,
                                     precision: inputs.setup.precision, request: request)]
        } else {
            plans = ServingPlan.search(inputs.shape, devices: inputs.gpus, hardware: inputs.hardware,
                                       precision: inputs.setup.precision, request: request, target: target,
                                       maxTPOT: serving.maxTPOT.map { $0 / 1000 })
            guard !plans.isEmpty else {
                throw ConfigError("no tp × pp of \(inputs.gpus) device(s) holds \(inputs.shape.name)'s weights"
                                  + (request.batch.map { " and \($0) sequence(s) of \(request.context) tokens" } ?? "")
                                  + (serving.maxTPOT.map { " within \($0) ms per token" } ?? "")
                                  + "; add devices, shorten --context or lower --batch")
            }
        }
        for line in ServingReport.lines(plans, shape: inputs.shape, hardware: inputs.hardware, devices: inputs.gpus,
                                        precision: inputs.setup.precision, request: request,
                                        target: inputs.layout == nil ? target : nil, top: top) { say(line) }
        if let p = plans.first, !p.fits {
            say("tessera: warning: tp \(p.tp) × pp \(p.pp) holds at most \(p.maxBatch) sequence(s) of \(request.context) tokens "
                + "beside its weights; batch \(p.batch) does not fit")
        }
    }
}

/// `--tied` / `--untied`.
enum HeadTying: String, EnumerableFlag { case tied, untied }

extension Precision: ExpressibleByArgument {}
extension Recompute: ExpressibleByArgument {}
