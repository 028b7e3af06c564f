import Foundation
import TesseraSupport
import TesseraTopology
import TesseraCost

/// `tessera plan`'s request (`PlanRequest`) turned into the planner's
/// inputs: the model shape, the hardware, the device count, the training
/// setup and the layout to evaluate, each checked with a one-line error
/// naming what is wrong and what is valid.
public struct PlanInputs: Sendable {
    public var shape: ModelShape
    public var hardware: Hardware
    public var gpus: Int
    public var setup: TrainingSetup
    /// The layout to evaluate (nil: search).
    public var layout: Layout?

    public init(_ c: PlanRequest) throws {
        shape = try Self.shape(c)
        try shape.validate()
        hardware = try Self.hardware(c)
        var layout: Layout?
        var namedMicroBatches = false
        if let text = c.layout {
            (layout, namedMicroBatches) = try Self.layout(text)
            // A layout that names expert-tp decides how experts split over tp (the shape's default otherwise).
            if let l = layout, text.contains("expert-tp") || text.contains("+etp") { shape.expertsWholeOverTP = l.expertTP == 1 }
        }
        guard let gpus = c.gpus ?? layout?.worldSize else {
            throw ConfigError("give --gpus N (devices to plan for) or --layout with dp, pp, cp, tp")
        }
        guard (1...65_536).contains(gpus) else { throw ConfigError("--gpus must be in 1...65536, got \(gpus)") }
        if let layout, layout.worldSize != gpus {
            throw ConfigError("layout \(layout.name) has dp \(layout.dp) × pp \(layout.pp) × cp \(layout.cp) × tp "
                              + "\(layout.tp) = \(layout.worldSize) devices, but --gpus is \(gpus); make the product "
                              + "\(gpus) or drop --gpus")
        }
        self.gpus = gpus
        guard (1...100_000_000).contains(c.globalBatch) else {
            throw ConfigError("--global-batch must be in 1...100000000, got \(c.globalBatch)")
        }
        if let mb = c.microBatch, !(1...c.globalBatch).contains(mb) {
            throw ConfigError("--micro-batch must be in 1...\(c.globalBatch) (the global batch), got \(mb)")
        }
        let convention: ActivationConvention
        switch c.activations ?? (c.hardware != nil ? "tessera" : "megatron") {
        case "tessera": convention = .tessera
        case "megatron": convention = .megatron(elementBytes: c.precision == .bf16 ? 2 : 4)
        case let other: throw ConfigError("unknown --activations '\(other)'; valid: megatron, tessera")
        }
        var microBatch = c.microBatch ?? 1
        if let l = layout, namedMicroBatches {
            let unit = l.dp * l.microBatches
            guard c.globalBatch % unit == 0 else {
                throw ConfigError("global batch \(c.globalBatch) is not divisible by dp \(l.dp) × micro-batches "
                                  + "\(l.microBatches) = \(unit)")
            }
            microBatch = c.globalBatch / unit
        }
        setup = TrainingSetup(globalBatch: c.globalBatch, microBatch: microBatch, precision: c.precision,
                              gradientBytes: c.gradDtype == .bf16 ? 2 : 4, recompute: c.recompute ?? .none,
                              convention: convention)
        self.layout = layout
    }

    /// The preset (if any) with the shape flags on top; every field needed without a preset.
    public static func shape(_ c: PlanRequest) throws -> ModelShape {
        try ModelShape.requireFlags([("layers", c.layers), ("d-model", c.dModel), ("heads", c.heads),
                                     ("kv-heads", c.kvHeads), ("ffn", c.ffn), ("vocab", c.vocab), ("seq-len", c.seqLen),
                                     ("experts", c.experts), ("top-k", c.topK), ("moe-every", c.moeEvery),
                                     ("expert-ffn", c.expertFFN)])
        var m: ModelShape
        if let name = c.model {
            m = try ModelPresets.named(name)
        } else {
            let missing = [("--layers", c.layers), ("--d-model", c.dModel), ("--heads", c.heads), ("--vocab", c.vocab),
                           ("--seq-len", c.seqLen)].filter { $0.1 == nil }.map(\.0)
            guard missing.isEmpty else {
                throw ConfigError("give --model NAME (\(ModelPresets.names.joined(separator: ", "))) or the shape; "
                                  + "missing: \(missing.joined(separator: ", "))")
            }
            m = ModelShape(name: "custom", layers: c.layers!, dModel: c.dModel!, heads: c.heads!, vocab: c.vocab!,
                           seqLen: c.seqLen!)
        }
        // A changed width keeps the preset's ffn / d ratio, changed heads its kv grouping (where it still divides);
        // experts as wide as the feed-forward stay so.
        let expertsFollowFFN = m.expertFFN == m.ffn
        if let v = c.layers { m.layers = v }
        if let v = c.dModel { m.ffn = m.ffn * v / m.dModel; m.dModel = v }
        if let v = c.heads { m.kvHeads = m.kvHeads == m.heads || v % m.kvHeads != 0 ? v : m.kvHeads; m.heads = v }
        if let v = c.kvHeads { m.kvHeads = v }
        if let v = c.ffn { m.ffn = v }
        if let v = c.vocab { m.vocab = v }
        if let v = c.seqLen { m.seqLen = v }
        if let v = c.tied { m.tied = v }
        if c.swiglu { m.swiglu = true }
        if let v = c.experts { m.experts = v }
        if let v = c.topK { m.topK = v }
        if expertsFollowFFN { m.expertFFN = m.ffn }
        if let v = c.moeEvery { m.moeEvery = v }
        if let v = c.expertFFN { m.expertFFN = v }
        if c.model != nil && [c.layers, c.dModel, c.heads, c.kvHeads, c.ffn, c.vocab, c.seqLen, c.experts, c.topK,
                              c.moeEvery, c.expertFFN]
            .contains(where: { $0 != nil }) { m.name += " (modified)" }
        return m
    }

    /// The preset, profile or explicit numbers (explicit ones override a preset).
    public static func hardware(_ c: PlanRequest) throws -> Hardware {
        if let path = c.hardware {
            if c.gpu != nil || c.gpuMemory != nil || c.gpuTflops != nil {
                throw ConfigError("--hardware describes the machine; drop --gpu, --gpu-memory and --gpu-tflops")
            }
            return try HardwareProfile.read(path: path).hardware(backend: c.backend)
        }
        let explicit = [c.gpuMemory, c.gpuTflops, c.intraNodeGBps, c.interNodeGBps]
        var hw: Hardware
        if let name = c.gpu { hw = try Hardware.preset(name) } else if explicit.contains(where: { $0 != nil }) {
            guard let memory = c.gpuMemory, let tflops = c.gpuTflops else {
                throw ConfigError("without --gpu NAME give at least --gpu-memory GIB and --gpu-tflops T "
                                  + "(or --gpu \(Hardware.presets.map(\.name).joined(separator: "|")))")
            }
            hw = try Hardware.preset("h100")
            hw.name = "custom"
            hw.memoryBytes = memory * 1_073_741_824
            hw.peakFlops = [.bf16: tflops * 1e12, .fp32: tflops * 1e12]
        } else {
            throw ConfigError("give --gpu \(Hardware.presets.map(\.name).joined(separator: "|")), explicit numbers "
                              + "(--gpu-memory, --gpu-tflops, --intra-node-gbps, --inter-node-gbps) or --hardware FILE")
        }
        // Wide of any device built or planned (a GiB to a PiB, a GFLOP/s to an EFLOP/s, a MB/s to a PB/s per
        // device), narrow enough that every time and byte count the cost model derives stays finite.
        for (flag, v, range) in [("--gpu-memory", c.gpuMemory, 1.0...1_048_576), ("--gpu-tflops", c.gpuTflops, 1e-3...1e6),
                                 ("--intra-node-gbps", c.intraNodeGBps, 1e-3...1e6),
                                 ("--inter-node-gbps", c.interNodeGBps, 1e-3...1e6)] {
            if let v, !(v.isFinite && range.contains(v)) {
                throw ConfigError("\(flag) must be a number in \(range.lowerBound)...\(range.upperBound), got \(v)")
            }
        }
        if let v = c.gpuMemory { hw.memoryBytes = v * 1_073_741_824 }
        if let v = c.gpuTflops { hw.peakFlops = [.bf16: v * 1e12, .fp32: v * 1e12] }
        if let v = c.intraNodeGBps { hw.intraNode.bandwidth = v * 1e9 }
        if let v = c.interNodeGBps { hw.interNode.bandwidth = v * 1e9 }
        if let g = c.gpusPerNode {
            guard (1...1024).contains(g) else { throw ConfigError("--gpus-per-node must be in 1...1024, got \(g)") }
            hw.gpusPerNode = g
        }
        return hw
    }

    /// "dp=4,tp=4,pp=4,zero=1" (key=value through `Layout.table`) or a layout name; and whether it named micro-batches.
    public static func layout(_ text: String) throws -> (Layout, namedMicroBatches: Bool) {
        guard text.contains("=") else { return (try Layout(name: text), false) }
        var entries: [ConfigEntry] = []
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ConfigError("--layout '\(text)': '\(pair)' is not KEY=VALUE; valid keys: "
                                  + Layout.table.keys.joined(separator: ", ") + " (chunks for pp-chunks)")
            }
            entries.append(ConfigEntry(parts[0], .text(parts[1]), source: "--layout"))
        }
        var layout = Layout()
        try Layout.table.apply(entries, to: &layout)
        let named = entries.contains { Layout.table.setting($0.key)?.key == "micro-batches" }
        return (layout, named)
    }

    /// The error when no layout of the search fits: the least memory any needs, and the smallest device count that fits.
    public static func fitsNowhere(_ search: LayoutSearch) -> ConfigError {
        let fmt = MemoryBreakdown.format
        let least = search.leastMemory().map { "the least any layout of \(search.gpus) needs is \(fmt($0)) per device "
                                               + "(micro-batch 1, full recompute, ZeRO-3)" } ?? "no layout is valid"
        let count = search.smallestFittingGPUCount().map { "smallest device count that fits: \($0)" }
            ?? "no count up to 65536 fits"
        return ConfigError("\(search.shape.name) fits no layout on \(search.gpus) × \(search.hardware.name) "
                           + "(\(fmt(search.hardware.memoryPerDevice(gpus: search.gpus))) each): \(least); \(count), "
                           + "or a device with at least that memory")
    }
}
