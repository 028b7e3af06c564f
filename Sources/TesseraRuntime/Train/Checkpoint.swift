import Foundation
import TesseraSupport
import TesseraKernels
import TesseraTopology
import TesseraModel

/// A training checkpoint: a directory with `model.safetensors` (parameters,
/// plus metadata: the run's config as JSON, the completed step, the data
/// position) and `optimizer.safetensors` (AdamW moments `m.<name>`, `v.<name>`).
///
/// Saving and loading are crash-safe and checked: see `save(to:)`,
/// `load(from:)`, `CheckpointDirectory` and `CheckpointReader`.
public struct Checkpoint: Sendable {
    public static let format = "tessera-2"
    public var config: TrainConfig
    /// Completed optimizer steps.
    public var step: Int
    /// Parameter values by name.
    public var parameters: [String: (shape: [Int], values: [Float])]
    /// AdamW moments by parameter name, and the optimizer's step count.
    public var m: [String: [Float]], v: [String: [Float]]
    public var optimizerT: Int

    /// Captures a model and optimizer after `step` completed steps, as whole
    /// tensors: the pieces in `store` and `optimizer` (this rank's
    /// tensor-parallel shards, pipeline stages and ZeRO shards) are
    /// assembled across `model`, the ranks of one model replica (with its
    /// expert-parallel ranks, each holding some experts), and across
    /// each bucket's shard group in `shards` for what ZeRO shards (dp, or the
    /// expert-data-parallel group; collective, see `BucketTensors`), so the checkpoint does not depend on the
    /// layout or ZeRO stage that wrote it.
    public init(config: TrainConfig, step: Int, store: ParameterStore, optimizer: AdamW, model: ModelReplica,
                shards: ZeROGroups) throws {
        self.config = config
        self.step = step
        let layout = GPT.parameterLayout(config.model)
        let (states, sharded) = store.valueStates
        let values = try BucketTensors.gather(states, layout: layout, model: model, shards: sharded ? shards : nil)
        let moments = optimizer.momentStates
        m = try BucketTensors.gather(moments.m, layout: layout, model: model, shards: moments.sharded ? shards : nil)
        v = try BucketTensors.gather(moments.v, layout: layout, model: model, shards: moments.sharded ? shards : nil)
        parameters = Dictionary(uniqueKeysWithValues: layout.map { name, shape in (name, (shape, values[name]!)) })
        optimizerT = optimizer.t
    }

    /// Writes the checkpoint to `path` so that a crash at any instant leaves
    /// a complete checkpoint there (see `CheckpointDirectory`): refuses a
    /// path that holds anything but a Tessera checkpoint, and one another
    /// process is writing (`CheckpointLock`, held for the save unless this
    /// process holds it already). The saved config records no output path.
    /// Errors are one line naming the file and the reason.
    public func save(to path: String) throws {
        let dir = try CheckpointDirectory(path)
        let heldBefore = CheckpointLock.isHeld(dir)
        let lock = try CheckpointLock.acquire(dir)
        defer { if !heldBefore { lock.release() } }
        try dir.recover()
        try dir.requireReplaceable()
        let staging = dir.stagingPath()
        try? FileManager.default.removeItem(atPath: staging)
        guard mkdir(staging, 0o755) == 0 else { throw OutputError.system("cannot create \(staging)") }
        do { try write(into: staging, marked: dir) } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
        FaultInjection.reached("swapped")
        try? FileManager.default.removeItem(atPath: staging)  // the old checkpoint, exchanged out
        FaultInjection.reached("cleaned")
    }

    /// Writes the files and, last, the marker into `staging`, then swaps it in as `dir`.
    private func write(into staging: String, marked dir: CheckpointDirectory) throws {
        FaultInjection.reached("staging-created")
        var saved = config
        saved.checkpoint = nil
        saved.trace = nil
        let configJSON = String(decoding: try JSONEncoder().encode(saved), as: UTF8.self)
        var model = SafeTensors.File(metadata: ["format": Self.format, "config": configJSON, "step": "\(step)",
                                                "data-position": "\(step)", "optimizer-t": "\(optimizerT)"])
        var opt = SafeTensors.File(metadata: ["format": Self.format])
        for (name, p) in parameters {
            model.arrays[name] = .f32(shape: p.shape, values: p.values)
            opt.arrays["m." + name] = .f32(shape: p.shape, values: m[name]!)
            opt.arrays["v." + name] = .f32(shape: p.shape, values: v[name]!)
        }
        var marker = CheckpointMarker(step: step, files: [:])
        for (file, contents, point) in [("model.safetensors", model, "model-written"),
                                        ("optimizer.safetensors", opt, "optimizer-written")] {
            let bytes = try SafeTensors.encode(contents)
            try DurableFile.write(bytes, to: staging + "/" + file)
            marker.files[file] = .init(bytes: bytes.count, crc32c: CRC32C.hex(CRC32C.checksum(bytes)))
            FaultInjection.reached(point)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try DurableFile.write(try encoder.encode(marker), to: staging + "/" + CheckpointDirectory.markerName)
        DurableFile.syncDirectory(staging)
        FaultInjection.reached("marker-written")
        try dir.swapIn(staging)
    }

    /// Reads the checkpoint at `path` and checks it whole before returning
    /// it: the marker, every file's size and CRC32C, the metadata (format,
    /// config valid, step in range and consistent), and every tensor (the
    /// names and shapes the config's model has, finite values, second
    /// moments ≥ 0). A save interrupted by a crash is completed first when
    /// no other process is writing (`CheckpointDirectory.recover`). Any
    /// problem is a one-line `CheckpointError` naming the file and what is wrong.
    /// With `withOptimizer: false` only the model file is read (for sampling).
    public static func load(from path: String, withOptimizer: Bool = true) throws -> Checkpoint {
        let dir = try CheckpointDirectory(path)
        let heldBefore = CheckpointLock.isHeld(dir)
        // Only one process of an MPI job repairs, so its ranks never contend for the lock.
        if Launcher.isLeaderProcess, let lock = CheckpointLock.tryAcquire(dir) {
            defer { if !heldBefore { lock.release() } }
            try dir.recover()
        }
        return try CheckpointReader(dir: dir).read(withOptimizer: withOptimizer)
    }

    init(config: TrainConfig, step: Int, parameters: [String: (shape: [Int], values: [Float])],
                 m: [String: [Float]], v: [String: [Float]], optimizerT: Int) {
        self.config = config; self.step = step; self.parameters = parameters
        self.m = m; self.v = v; self.optimizerT = optimizerT
    }

    /// Copies the saved values into `params` (a model outside a parameter
    /// store, as `generate` builds), after checking that every tensor exists
    /// with the model's global shape; a tensor-parallel rank takes its slice.
    public func restore(into params: [Parameter], source dir: String) throws {
        try requirePresent(params, source: dir)
        for p in params { parameters[p.name]!.values.withUnsafeBufferPointer { p.slice($0.baseAddress!, into: p.value) } }
    }

    /// Copies the saved values and AdamW moments into this rank's part of
    /// `store` and `optimizer` (its tensor-parallel slices, its stages, its
    /// ZeRO shards), after the same checks: a run resumes under any layout
    /// and ZeRO stage.
    public func restore(into store: ParameterStore, optimizer: AdamW, source dir: String) throws {
        try requirePresent(store.parameters, source: dir)
        BucketTensors.scatter(parameters.mapValues(\.values), into: store.valueStates.states)
        let moments = optimizer.momentStates
        BucketTensors.scatter(m, into: moments.m)
        BucketTensors.scatter(v, into: moments.v)
        optimizer.t = optimizerT
    }

    /// Throws unless every parameter of `params` is saved with its global shape.
    private func requirePresent(_ params: [Parameter], source dir: String) throws {
        for p in params {
            guard let saved = parameters[p.name] else {
                throw CheckpointError("checkpoint '\(dir)' has no tensor '\(p.name)'")
            }
            guard saved.shape == p.globalShape else {
                throw CheckpointError("checkpoint '\(dir)' tensor '\(p.name)' has shape \(saved.shape), the model needs \(p.globalShape)")
            }
        }
    }

    /// Throws unless the requested model has the checkpoint's shape (dropout
    /// may differ), naming both shapes.
    public static func requireSameShape(saved: GPTConfig, requested: GPTConfig, dir: String) throws {
        var a = saved, b = requested
        a.dropout = 0; b.dropout = 0
        guard a != b else { return }
        if saved.arch != requested.arch {
            throw CheckpointError("checkpoint '\(dir)' holds a \(saved.arch.rawValue) model (\(saved.summary)); this run "
                                  + "asks for arch \(requested.arch.rawValue). Drop --arch to resume it, or train a new run")
        }
        throw CheckpointError("checkpoint '\(dir)' holds a model with \(saved.summary); this run asks for "
                              + "\(requested.summary). Drop the model-shape flags to resume it, or train a new run")
    }
}

extension GPTConfig {
    /// "layers=L d-model=d heads=h seq-len=T vocab=V dropout=p" for messages.
    public var summary: String {
        "layers=\(layers) d-model=\(dModel) heads=\(heads) seq-len=\(seqLen) vocab=\(vocab) dropout=\(dropout)" + familySummary + expertSummary
    }
}
