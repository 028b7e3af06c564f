import Foundation

/// A training checkpoint: a directory with `model.safetensors` (parameters,
/// plus metadata: the run's config as JSON, the completed step, the data
/// position) and `optimizer.safetensors` (AdamW moments `m.<name>`, `v.<name>`).
///
/// Saving writes a complete new directory beside the target and swaps it in
/// with renames, so a crash mid-save leaves the previous checkpoint intact.
public struct Checkpoint: Sendable {
    public static let format = "tessera-1"
    public var config: TrainConfig
    /// Completed optimizer steps.
    public var step: Int
    /// Parameter values by name.
    public var parameters: [String: (shape: [Int], values: [Float])]
    /// AdamW moments by parameter name, and the optimizer's step count.
    public var m: [String: [Float]], v: [String: [Float]]
    public var optimizerT: Int

    /// Captures a model and optimizer after `step` completed steps, as whole
    /// tensors: the pieces `parameters` (this rank's shards and stages) are
    /// assembled across `group`, the ranks of one model replica (collective:
    /// every rank of the group calls it; see `FullTensors`), so the
    /// checkpoint does not depend on the layout that wrote it.
    public init(config: TrainConfig, step: Int, parameters params: [Parameter], optimizer: AdamW,
                group: ProcessGroup, owns: (Parameter) -> Bool) throws {
        self.config = config
        self.step = step
        let layout = GPT.parameterLayout(config.model)
        let values = try FullTensors.gather(params, params.map(\.value), layout: layout, group: group, owns: owns)
        m = try FullTensors.gather(params, optimizer.m, layout: layout, group: group, owns: owns)
        v = try FullTensors.gather(params, optimizer.v, layout: layout, group: group, owns: owns)
        parameters = Dictionary(uniqueKeysWithValues: layout.map { name, shape in (name, (shape, values[name]!)) })
        optimizerT = optimizer.t
    }

    /// Writes the checkpoint to `dir` atomically (see the type's note).
    public func save(to dir: String) throws {
        let fm = FileManager.default
        let staging = dir + ".saving-\(getpid())"
        let previous = dir + ".previous-\(getpid())"
        try? fm.removeItem(atPath: staging)
        try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
        let configJSON = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        var model = SafeTensors.File(metadata: ["format": Self.format, "config": configJSON, "step": "\(step)",
                                                "data-position": "\(step)", "optimizer-t": "\(optimizerT)"])
        var opt = SafeTensors.File(metadata: ["format": Self.format])
        for (name, p) in parameters {
            model.arrays[name] = .f32(shape: p.shape, values: p.values)
            opt.arrays["m." + name] = .f32(shape: p.shape, values: m[name]!)
            opt.arrays["v." + name] = .f32(shape: p.shape, values: v[name]!)
        }
        try SafeTensors.encode(model).write(to: URL(fileURLWithPath: staging + "/model.safetensors"), options: .atomic)
        try SafeTensors.encode(opt).write(to: URL(fileURLWithPath: staging + "/optimizer.safetensors"), options: .atomic)
        let existed = fm.fileExists(atPath: dir)
        if existed { try fm.moveItem(atPath: dir, toPath: previous) }
        try fm.moveItem(atPath: staging, toPath: dir)
        if existed { try? fm.removeItem(atPath: previous) }
    }

    /// Reads `dir`; a missing or malformed checkpoint is a `CheckpointError`.
    /// With `withOptimizer: false` only the model file is read (for sampling).
    public static func load(from dir: String, withOptimizer: Bool = true) throws -> Checkpoint {
        let modelPath = dir + "/model.safetensors"
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw CheckpointError("no checkpoint at '\(dir)': expected \(modelPath) (written by tessera train --checkpoint DIR)")
        }
        let file = try SafeTensors.read(path: modelPath)
        guard file.metadata["format"] == format, let json = file.metadata["config"],
              let config = try? JSONDecoder().decode(TrainConfig.self, from: Data(json.utf8)),
              let step = Int(file.metadata["step"] ?? ""), let t = Int(file.metadata["optimizer-t"] ?? "")
        else { throw CheckpointError("\(modelPath) lacks Tessera's metadata (format \(format), config, step)") }
        var ckpt = Checkpoint(config: config, step: step, parameters: [:], m: [:], v: [:], optimizerT: t)
        for (name, array) in file.arrays {
            guard case .f32(let shape, let values) = array else {
                throw CheckpointError("\(modelPath): tensor '\(name)' is not float32")
            }
            ckpt.parameters[name] = (shape, values)
        }
        if withOptimizer {
            let optPath = dir + "/optimizer.safetensors"
            let opt = try SafeTensors.read(path: optPath)
            for name in ckpt.parameters.keys {
                ckpt.m[name] = try opt.floats("m." + name, in: optPath).values
                ckpt.v[name] = try opt.floats("v." + name, in: optPath).values
            }
        }
        return ckpt
    }

    private init(config: TrainConfig, step: Int, parameters: [String: (shape: [Int], values: [Float])],
                 m: [String: [Float]], v: [String: [Float]], optimizerT: Int) {
        self.config = config; self.step = step; self.parameters = parameters
        self.m = m; self.v = v; self.optimizerT = optimizerT
    }

    /// Copies the saved values into `model` (and moments into `optimizer`),
    /// after checking that every tensor exists with the model's global shape;
    /// a tensor-parallel rank takes its slice.
    public func restore(into params: [Parameter], optimizer: AdamW?, source dir: String) throws {
        for (i, p) in params.enumerated() {
            guard let saved = parameters[p.name] else {
                throw CheckpointError("checkpoint '\(dir)' has no tensor '\(p.name)'")
            }
            guard saved.shape == p.globalShape else {
                throw CheckpointError("checkpoint '\(dir)' tensor '\(p.name)' has shape \(saved.shape), the model needs \(p.globalShape)")
            }
            func load(_ values: [Float], into t: Tensor) { values.withUnsafeBufferPointer { p.slice($0.baseAddress!, into: t) } }
            load(saved.values, into: p.value)
            if let optimizer {
                load(m[p.name]!, into: optimizer.m[i])
                load(v[p.name]!, into: optimizer.v[i])
            }
        }
        optimizer?.t = optimizerT
    }

    /// Throws unless the requested model has the checkpoint's shape (dropout
    /// may differ), naming both shapes.
    public static func requireSameShape(saved: GPTConfig, requested: GPTConfig, dir: String) throws {
        var a = saved, b = requested
        a.dropout = 0; b.dropout = 0
        guard a != b else { return }
        throw CheckpointError("checkpoint '\(dir)' holds a model with \(saved.summary); this run asks for "
                              + "\(requested.summary). Drop the model-shape flags to resume it, or train a new run")
    }
}

extension GPTConfig {
    /// "layers=L d-model=d heads=h seq-len=T vocab=V dropout=p" for messages.
    public var summary: String {
        "layers=\(layers) d-model=\(dModel) heads=\(heads) seq-len=\(seqLen) vocab=\(vocab) dropout=\(dropout)"
    }
}
