import Foundation
import TesseraSupport

/// Where a checkpoint lives, and how a new one replaces it without ever
/// leaving the path without a complete checkpoint.
///
/// A checkpoint directory `DIR` holds `model.safetensors`,
/// `optimizer.safetensors` and, written last, the marker
/// `tessera-checkpoint.json` (format, step, every file's size and CRC32C).
/// A save writes `DIR.saving-PID` beside it, then swaps it in with one
/// atomic `renameat2(RENAME_EXCHANGE)` (Linux), and removes the old copy.
/// Where the file system cannot exchange, it renames `DIR` to
/// `DIR.previous-PID` and the new copy to `DIR`; a crash between the two is
/// repaired by `recover()`, which every save and load runs under the lock:
/// the newest complete copy (marker present) among `DIR` and its temporaries
/// becomes `DIR`, the rest are removed.
public struct CheckpointDirectory: Sendable {
    /// The marker file's name; its presence makes a copy complete.
    public static let markerName = "tessera-checkpoint.json"
    /// The files a checkpoint directory may hold.
    public static let fileNames: Set<String> = [markerName, "model.safetensors", "optimizer.safetensors"]

    /// The path as given, without trailing slashes.
    public let path: String
    let parent: String, name: String

    /// Checks the path's form: not empty, not `.`, `..` or `/` (which name
    /// directories that hold other things), trailing slashes dropped.
    public init(_ path: String) throws {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        // A symbolic link is followed: its target is the checkpoint (a save renames over the target, never the link).
        if FileCause.isSymbolicLink(p) { p = AtomicFile.resolved(p) }
        let parts = FilePathParts(p), last = parts.name
        guard !p.isEmpty, p != "/", last != ".", last != ".." else {
            let named = p.isEmpty ? "nothing" : "a directory that holds other things"
            throw CheckpointError("checkpoint path '\(path)' names \(named); give a directory for Tessera's own "
                                  + "files, e.g. 'ckpt' or 'runs/ckpt'")
        }
        self.path = p
        name = last
        parent = parts.directory
    }

    var lockPath: String { path + ".lock" }
    var markerPath: String { path + "/" + Self.markerName }
    func stagingPath(pid: Int32 = getpid()) -> String { path + ".saving-\(pid)" }

    /// The step recorded in the marker of the copy at `dir`, or nil if it is not a complete checkpoint.
    static func completeStep(at dir: String) -> Int? {
        (try? CheckpointMarker.read(dir + "/" + markerName))?.step
    }

    /// Throws unless the path is free for a checkpoint: nothing there, an
    /// empty directory, or a checkpoint Tessera wrote (its marker and files
    /// only). The error names the path and what is there.
    public func requireReplaceable() throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else { return }
        func refuse(_ found: String) -> CheckpointError {
            CheckpointError("will not write a checkpoint to '\(path)': it is \(found), not a Tessera checkpoint; "
                            + "Tessera replaces only a directory holding its own \(Self.markerName). Choose a new "
                            + "path or move it away")
        }
        guard isDir.boolValue else { throw refuse("a file") }
        guard let entries = try? fm.contentsOfDirectory(atPath: path) else { throw refuse("an unreadable directory") }
        if entries.isEmpty { return }
        let foreign = entries.filter { !Self.fileNames.contains($0) }.sorted()
        if !foreign.isEmpty {
            let shown = foreign.prefix(3).joined(separator: ", ") + (foreign.count > 3 ? ", …" : "")
            throw refuse("a directory holding \(foreign.count) other entr\(foreign.count == 1 ? "y" : "ies") (\(shown))")
        }
        do { _ = try CheckpointMarker.read(markerPath) } catch {
            throw refuse("a directory without a valid marker (\(error))")
        }
    }

    /// Siblings `DIR.saving-PID` and `DIR.previous-PID` left by saves: a
    /// numeric PID, and holding nothing but checkpoint files (so nothing
    /// else that happens to share the name is ever touched).
    func temporaries() -> [String] {
        let fm = FileManager.default
        return ((try? fm.contentsOfDirectory(atPath: parent)) ?? []).filter { entry in
            let pid = [".saving-", ".previous-"].compactMap { tag -> Substring? in
                entry.hasPrefix(name + tag) ? entry.dropFirst(name.count + tag.count) : nil
            }.first
            guard let pid, !pid.isEmpty, pid.allSatisfy(\.isNumber),
                  let files = try? fm.contentsOfDirectory(atPath: parent + "/" + entry) else { return false }
            return files.allSatisfy(Self.fileNames.contains)
        }.map { parent + "/" + $0 }
    }

    /// Under the lock: makes `DIR` the newest complete copy among itself and
    /// its temporaries (a save that finished writing but was not yet swapped
    /// in, or a crash between the fallback's two renames), then removes
    /// every temporary (their writers are gone: the lock is ours).
    public func recover() throws {
        let fm = FileManager.default
        let temps = temporaries()
        let current = fm.fileExists(atPath: path) ? Self.completeStep(at: path) : nil
        let best = temps.compactMap { t in Self.completeStep(at: t).map { (t, $0) } }.max { $0.1 < $1.1 }
        if let (copy, step) = best, !fm.fileExists(atPath: path) || (current != nil && step > current!) {
            try swapIn(copy)
        }
        for t in temporaries() { try? fm.removeItem(atPath: t) }
    }

    /// Makes the complete copy at `staging` the checkpoint at `DIR`; the old
    /// checkpoint (if any) ends up at `staging` for the caller to remove.
    func swapIn(_ staging: String) throws {
        defer { DurableFile.syncDirectory(parent) }
        guard FileManager.default.fileExists(atPath: path) else {
            guard rename(staging, path) == 0 else { throw OutputError.system("cannot rename \(staging) to \(path)") }
            return
        }
        if Self.exchange(staging, path) { return }
        let previous = path + ".previous-\(getpid())"
        guard rename(path, previous) == 0 else { throw OutputError.system("cannot rename \(path) to \(previous)") }
        FaultInjection.reached("between-renames")
        guard rename(staging, path) == 0 else { throw OutputError.system("cannot rename \(staging) to \(path)") }
        _ = rename(previous, staging)
    }

    typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    /// glibc's renameat2, looked up at run time (Swift's Glibc module does not declare it).
    static let renameat2: RenameAt2? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2")
        .map { unsafeBitCast($0, to: RenameAt2.self) }

    /// Atomically exchanges two paths; false where the system cannot.
    static func exchange(_ a: String, _ b: String) -> Bool {
        guard let renameat2 else { return false }
        let RENAME_EXCHANGE: UInt32 = 2, AT_FDCWD: Int32 = -100
        return renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0
    }
}
