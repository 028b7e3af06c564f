import Foundation
import TesseraSupport
import TesseraTopology
import TesseraCost

/// Checks every file a training run will write before its first step, so a
/// run never learns at the end that it cannot save: the checkpoint path must
/// be free or Tessera's own checkpoint, not written by another run (its lock
/// is taken and held), creatable, and on a file system with room for one
/// more checkpoint; the trace path must be a file Tessera may (over)write.
public enum OutputPreflight {
    /// Runs the checks for `config`'s outputs on the process that writes
    /// them; returns the checkpoint lock, held until released (or the
    /// process ends). Errors are one line naming the path and what is wrong.
    public static func prepare(_ config: TrainConfig) throws -> CheckpointLock? {
        try OutputFile.requireDistinct([("--trace", config.trace), ("--metrics", config.metrics), ("--moe-stats", config.moeStats)])
        if let checkpoint = config.checkpoint.flatMap({ try? CheckpointDirectory($0) }) {
            for (flag, path) in [("--trace", config.trace), ("--metrics", config.metrics), ("--moe-stats", config.moeStats)] {
                guard let path, AtomicFile.resolved(FilePathParts(path).directory) == checkpoint.path else { continue }
                throw ConfigError("\(flag) '\(path)' lies inside the checkpoint directory '\(checkpoint.path)', which holds "
                                  + "only the checkpoint's own files (each save replaces it whole); write it beside the checkpoint")
            }
        }
        if let trace = config.trace { try checkTrace(trace) }
        if let metrics = config.metrics { try MetricsLog.check(metrics) }
        if let dir = config.tensorboard { try TensorBoardLog.check(dir) }
        if let stats = config.moeStats { try ExpertStatsLog.check(stats) }
        guard let path = config.checkpoint else { return nil }
        let dir = try CheckpointDirectory(path)
        try requireDirectory(dir.parent, for: "checkpoint '\(dir.path)'")
        let lock = try CheckpointLock.acquire(dir)
        do {
            try dir.recover()
            try dir.requireReplaceable()
            try requireAsked(config, toReplace: dir)
            let probe = dir.stagingPath()
            guard mkdir(probe, 0o755) == 0 || errno == EEXIST else {
                throw CheckpointError("cannot write checkpoint '\(dir.path)': cannot create \(probe): "
                                      + String(cString: strerror(errno)))
            }
            rmdir(probe)
            try requireRoom(checkpointBytes(config), in: dir.parent, for: "checkpoint '\(dir.path)'")
        } catch {
            lock.release()
            throw error
        }
        return lock
    }

    /// Throws unless `config` may replace the checkpoint already at `dir`:
    /// only the run resumed from it, or a run given `--overwrite`, may.
    static func requireAsked(_ config: TrainConfig, toReplace dir: CheckpointDirectory) throws {
        guard !config.overwrite, let step = CheckpointDirectory.completeStep(at: dir.path) else { return }
        if let resumed = config.resume, (try? CheckpointDirectory(resumed))?.path == dir.path { return }
        throw CheckpointError("'\(dir.path)' already holds a checkpoint (step \(step)); continue it with --resume "
                              + "\(dir.path), replace it with --overwrite, or choose another --checkpoint")
    }

    /// Bytes of one checkpoint of `config`'s model: weights and two AdamW moments, float32, plus headers.
    public static func checkpointBytes(_ config: TrainConfig) -> Double {
        3 * MemoryEstimate(config.oneRank, ranksHere: 1).perRank.weights + 1_048_576
    }

    static func requireDirectory(_ dir: String, for what: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw CheckpointError("cannot write \(what): its parent directory '\(dir)' does not exist; create it first")
        }
    }

    /// Throws a `CheckpointError` naming `what`, both sizes and `dir` unless
    /// the file system holding `dir` has `bytes` free for this user.
    public static func requireRoom(_ bytes: Double, in dir: String, for what: String) throws {
        var fs = statvfs()
        guard statvfs(dir, &fs) == 0 else { return }
        let free = Double(fs.f_bavail) * Double(fs.f_frsize)
        guard free >= bytes else {
            throw CheckpointError("cannot write \(what): it needs about \(MemoryBreakdown.format(bytes)) and the file "
                                  + "system of '\(dir)' has \(MemoryBreakdown.format(free)) free")
        }
    }

    /// The trace path: a new file in a writable directory, or an earlier trace (which is replaced).
    public static func checkTrace(_ path: String) throws {
        try checkOutputFile(path, what: "trace", example: "trace.json") { (try? ChromeTrace.read(path: $0)) != nil }
    }

    /// An output file of kind `what`: a new file in a writable directory, or
    /// one Tessera wrote before (`isOurs`), which is replaced; anything else is refused (`OutputFile.check`).
    public static func checkOutputFile(_ path: String, what: String, example: String,
                                       isOurs: (String) -> Bool) throws {
        try OutputFile.check(path, what: what, example: example, replaceable: isOurs)
    }
}
