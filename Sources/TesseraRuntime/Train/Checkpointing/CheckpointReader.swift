import Foundation
import TesseraSupport
import TesseraTopology
import TesseraModel

/// Reads a checkpoint directory and trusts nothing in it: each file must
/// match the size and CRC32C its marker recorded (so flipped bytes, a
/// truncated copy or an edited header are refused), the metadata must be
/// Tessera's and in range, and every tensor must be the config's model's,
/// with finite values. Errors name the file, the field or tensor, and what is valid.
struct CheckpointReader {
    let dir: CheckpointDirectory

    func read(withOptimizer: Bool) throws -> Checkpoint {
        let marker = try readMarker()
        let modelPath = dir.path + "/model.safetensors"
        let model = try SafeTensors.decode(try verifiedContents("model.safetensors", marker), path: modelPath)
        let (config, step, t) = try metadata(model.metadata, path: modelPath, markerStep: marker.step)
        let layout = GPT.parameterLayout(config.model)
        var ckpt = Checkpoint(config: config, step: step, parameters: [:], m: [:], v: [:], optimizerT: t)
        try requireNames(Set(model.arrays.keys), Set(layout.map(\.name)), path: modelPath)
        for (name, shape) in layout {
            ckpt.parameters[name] = (shape, try tensor(model, name, shape: shape, path: modelPath))
        }
        guard withOptimizer else { return ckpt }
        let optPath = dir.path + "/optimizer.safetensors"
        let opt = try SafeTensors.decode(try verifiedContents("optimizer.safetensors", marker), path: optPath)
        try requireNames(Set(opt.arrays.keys), Set(layout.flatMap { ["m." + $0.name, "v." + $0.name] }),
                         path: optPath)
        for (name, shape) in layout {
            ckpt.m[name] = try tensor(opt, "m." + name, shape: shape, path: optPath)
            let v = try tensor(opt, "v." + name, shape: shape, path: optPath)
            if let i = v.firstIndex(where: { $0 < 0 }) {
                throw CheckpointError("\(optPath): second moment 'v.\(name)' has the negative value \(v[i]) at "
                                      + "element \(i); AdamW's second moments are ≥ 0")
            }
            ckpt.v[name] = v
        }
        return ckpt
    }

    private func readMarker() throws -> CheckpointMarker {
        let fm = FileManager.default
        guard fm.fileExists(atPath: dir.markerPath) else {
            if fm.fileExists(atPath: dir.path + "/model.safetensors") {
                throw CheckpointError("'\(dir.path)' has no \(CheckpointDirectory.markerName): it is incomplete or "
                                      + "was written by an older Tessera without checksums; it cannot be trusted")
            }
            throw CheckpointError("no checkpoint at '\(dir.path)': expected \(dir.markerPath) (written by tessera "
                                  + "train --checkpoint DIR)")
        }
        return try CheckpointMarker.read(dir.markerPath)
    }

    /// The file's bytes, after checking its size and CRC32C against the marker.
    private func verifiedContents(_ file: String, _ marker: CheckpointMarker) throws -> Data {
        let path = dir.path + "/" + file
        guard let digest = marker.files[file] else { throw CheckpointError("\(dir.markerPath) records no \(file)") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointError("cannot read \(path): it does not exist or is not readable")
        }
        guard data.count == digest.bytes else {
            throw CheckpointError("\(path) is damaged: \(data.count) bytes, the checkpoint recorded \(digest.bytes)")
        }
        let crc = CRC32C.hex(CRC32C.checksum(data))
        guard crc == digest.crc32c else {
            throw CheckpointError("\(path) is damaged: its CRC32C is \(crc), the checkpoint recorded "
                                  + "\(digest.crc32c); restore it from a copy")
        }
        return data
    }

    /// The config, step and optimizer step count, each checked.
    private func metadata(_ meta: [String: String], path: String, markerStep: Int) throws
        -> (TrainConfig, Int, Int) {
        func bad(_ what: String) -> CheckpointError { CheckpointError("\(path): \(what)") }
        guard meta["format"] == Checkpoint.format else {
            throw bad("metadata format is '\(meta["format"] ?? "missing")'; this Tessera reads '\(Checkpoint.format)'")
        }
        guard let json = meta["config"],
              let config = try? JSONDecoder().decode(TrainConfig.self, from: Data(json.utf8)) else {
            throw bad("metadata 'config' is missing or is not a training config")
        }
        do { try config.validate() } catch { throw bad("metadata 'config' is invalid: \(error)") }
        func count(_ key: String) throws -> Int {
            guard let text = meta[key], let n = Int(text) else { throw bad("metadata '\(key)' is missing or not an integer") }
            guard (0...config.steps).contains(n) else {
                throw bad("metadata '\(key)' is \(n); valid: 0 to the run's steps (\(config.steps))")
            }
            return n
        }
        let step = try count("step"), position = try count("data-position"), t = try count("optimizer-t")
        for (key, value) in [("data-position", position), ("optimizer-t", t)] where value != step {
            throw bad("metadata '\(key)' is \(value) but 'step' is \(step); they must be equal")
        }
        guard step == markerStep else { throw bad("metadata 'step' is \(step) but the marker records \(markerStep)") }
        return (config, step, t)
    }

    private func requireNames(_ found: Set<String>, _ expected: Set<String>, path: String) throws {
        if let missing = expected.subtracting(found).sorted().first {
            throw CheckpointError("\(path) has no tensor '\(missing)', which the saved config's model needs")
        }
        if let extra = found.subtracting(expected).sorted().first {
            throw CheckpointError("\(path) holds tensor '\(extra)', which the saved config's model does not have")
        }
    }

    private func tensor(_ file: SafeTensors.File, _ name: String, shape: [Int], path: String) throws -> [Float] {
        let (s, values) = try file.floats(name, in: path)
        guard s == shape else {
            throw CheckpointError("\(path): tensor '\(name)' has shape \(s); the saved config's model needs \(shape)")
        }
        if let i = values.firstIndex(where: { !$0.isFinite }) {
            throw CheckpointError("\(path): tensor '\(name)' holds \(values[i]) at element \(i); a checkpoint's "
                                  + "values must be finite (the run that wrote it had diverged or the file was altered)")
        }
        return values
    }
}
