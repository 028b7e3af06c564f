import Foundation

/// Runs the `tessera` binary the way a user does, in a scratch directory:
/// the release build beside the tests, or the binary named by the
/// environment variable TESSERA_BIN (to check a test against another build,
/// e.g. that a data-loss test fails on the code before its fix).
struct TesseraCLI {
    static let binary = ProcessInfo.processInfo.environment["TESSERA_BIN"]
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../.build/release/tessera").standardized.path
    static var available: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    /// A tiny, fast run: one block, width 32, no evaluation or sample.
    static let tiny = ["--layers", "1", "--d-model", "32", "--heads", "2", "--seq-len", "16", "--batch", "4",
                       "--threads", "1", "--eval-every", "0", "--sample", "0"]

    /// The scratch directory commands run in (removed by `cleanUp`).
    let dir = TestSupport.temporaryPath("cli")

    init() { try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }

    func cleanUp() { try? FileManager.default.removeItem(atPath: dir) }

    /// Path of `name` inside the scratch directory.
    func path(_ name: String) -> String { dir + "/" + name }

    /// Runs `tessera args` in the scratch directory; returns the exit status
    /// (128 + n for signal n) and stdout + stderr.
    @discardableResult
    func run(_ args: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let p = start(args, environment: environment, output: path("out-\(UUID().uuidString.prefix(6)).txt"))
        p.process.waitUntilExit()
        let out = (try? String(contentsOfFile: p.log, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: p.log)
        let status = p.process.terminationReason == .uncaughtSignal ? 128 + p.process.terminationStatus
                                                                    : p.process.terminationStatus
        return (status, out)
    }

    /// Starts `tessera args` without waiting, its output going to the file `output`.
    func start(_ args: [String], environment: [String: String] = [:], output: String) -> (process: Process, log: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let handle = FileHandle(forWritingAtPath: output)!
        p.standardOutput = handle
        p.standardError = handle
        try! p.run()
        return (p, output)
    }

    /// The entries of the scratch directory whose names start with `prefix`.
    func entries(startingWith prefix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// Every file under `relative` with its bytes, to compare a directory before and after.
    func snapshot(_ relative: String) -> [String: Data] {
        let root = path(relative)
        var out: [String: Data] = [:]
        for name in (FileManager.default.subpaths(atPath: root) ?? []) {
            if let d = FileManager.default.contents(atPath: root + "/" + name) { out[name] = d }
        }
        return out
    }
}
