import Foundation
import TesseraSupport

/// A Hugging Face model directory as `save_pretrained` writes it, read and
/// checked before any tensor is used: `config.json` (a JSON object naming
/// one architecture), and the weights in `model.safetensors` or sharded
/// over the files `model.safetensors.index.json` maps each tensor to.
/// Tensors of F32, F16 or BF16 arrive as float32 (`SafeTensors`); every
/// problem is a one-line `CheckpointError` naming the file and what is wrong.
struct HFDirectory {
    let path: String
    /// config.json, parsed.
    let config: [String: Any]
    /// config.json's path, for messages.
    var configPath: String { path + "/config.json" }
    /// Where the weights are, for messages: model.safetensors or the index.
    private(set) var weightsPath: String

    /// Reads and checks config.json: a JSON object with `architectures` one of `supported`.
    init(_ path: String, supported: [String]) throws {
        self.path = path
        let configPath = path + "/config.json"
        guard let data = FileManager.default.contents(atPath: configPath),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CheckpointError("\(configPath) is missing, unreadable or not a JSON object")
        }
        config = json
        weightsPath = path + "/model.safetensors"
        guard let archs = json["architectures"] as? [String], archs.count == 1, supported.contains(archs[0]) else {
            let named = (json["architectures"] as? [String]).map { $0.joined(separator: ", ") } ?? "missing"
            throw CheckpointError("\(configPath): architectures is \(named); Tessera reads "
                                  + supported.joined(separator: " and ") + " checkpoints")
        }
    }

    /// The architecture config.json names.
    var architecture: String { (config["architectures"] as! [String])[0] }

    /// Every tensor of the checkpoint by name, as float32 (from one file, or
    /// from the shards the index names: each tensor must be in the shard the
    /// index says and nowhere else, and every shard must exist).
    mutating func tensors() throws -> [String: SafeTensors.Array] {
        let fm = FileManager.default
        let single = path + "/model.safetensors", indexPath = path + "/model.safetensors.index.json"
        if fm.fileExists(atPath: single) { return try SafeTensors.read(path: single).arrays }
        guard fm.fileExists(atPath: indexPath) else {
            throw CheckpointError("'\(path)' has neither model.safetensors nor model.safetensors.index.json "
                                  + "(Tessera reads safetensors weights, not pytorch_model.bin)")
        }
        weightsPath = indexPath
        guard let data = fm.contents(atPath: indexPath),
              let index = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let map = index["weight_map"] as? [String: String], !map.isEmpty else {
            throw CheckpointError("\(indexPath) is unreadable or has no weight_map of tensor names to files")
        }
        var arrays: [String: SafeTensors.Array] = [:]
        for file in Set(map.values).sorted() {
            guard !file.contains("/"), file.hasSuffix(".safetensors") else {
                throw CheckpointError("\(indexPath) maps tensors to '\(file)'; shards must be .safetensors files beside it")
            }
            let shardPath = path + "/" + file
            for (name, array) in try SafeTensors.read(path: shardPath).arrays {
                guard map[name] == file else {
                    throw CheckpointError("\(shardPath) holds tensor '\(name)', which \(indexPath) maps to "
                                          + (map[name].map { "'\($0)'" } ?? "no file"))
                }
                arrays[name] = array
            }
        }
        if let missing = map.keys.sorted().first(where: { arrays[$0] == nil }) {
            throw CheckpointError("\(indexPath) maps tensor '\(missing)' to '\(map[missing]!)', which does not hold it")
        }
        return arrays
    }

    /// The tokenizer.json beside the weights, when there is one.
    var tokenizerPath: String? {
        let p = path + "/tokenizer.json"
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }

    /// A one-line error about config.json.
    func bad(_ what: String) -> CheckpointError { CheckpointError("\(configPath): \(what)") }

    /// The integer `key` of config.json, which must lie in `range`.
    func int(_ key: String, _ range: ClosedRange<Int>) throws -> Int {
        guard let n = config[key] as? Int, range.contains(n) else {
            throw bad("'\(key)' is \(config[key].map { "\($0)" } ?? "missing"); it must be an integer in \(range)")
        }
        return n
    }

    /// The number `key` of config.json (`fallback` when absent).
    func double(_ key: String, default fallback: Double) throws -> Double {
        guard let v = config[key] else { return fallback }
        guard let d = (v as? NSNumber)?.doubleValue else { throw bad("'\(key)' is \(v); it must be a number") }
        return d
    }

    /// Throws unless the boolean `key`, when present, is `wanted`.
    func require(_ key: String, _ wanted: Bool, because what: String) throws {
        if let v = config[key] as? Bool, v != wanted { throw bad("'\(key)' is \(v); \(what) has \(wanted)") }
    }

    /// Throws naming the first of `keys` that is present and not null (settings Tessera does not implement).
    func refuse(_ keys: [String], because what: String) throws {
        for key in keys {
            if let v = config[key], !(v is NSNull) { throw bad("'\(key)' is \(v); \(what)") }
        }
    }
}
