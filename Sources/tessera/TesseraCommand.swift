import ArgumentParser
import Foundation
import Tessera
import TesseraTokenizer

@main
struct TesseraCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera",
        abstract: "Train GPT-style transformers in Swift, on one rank or many.",
        subcommands: [TrainCommand.self, VerifyCommand.self, GenerateCommand.self, ExportCommand.self, MeshCommand.self,
                      ScheduleCommand.self, PlanCommand.self, CheckCommand.self, BenchCommand.self, InfoCommand.self,
                      TraceCommand.self, PlotCommand.self, ExplainCommand.self, TokenizerCommand.self, DataCommand.self])
}

/// Runs `body`, turning every Tessera error into one clear line on stderr
/// and its kind's exit status (`ErrorKind.exitStatus`; no stack trace, no
/// usage dump). A `ConfigError` comes from the command line, which every
/// process of an mpirun job reads alike, so only the job's first process prints it.
@discardableResult
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as ConfigError {
        fail(e.description, printed: Launcher.isLeaderProcess)
    } catch let e as any TesseraFailure {
        fail(e.description, status: e.kind.exitStatus)
    } catch let e as TokenizerError {
        fail(e.message)
    }
}

/// Prints "tessera: error: MESSAGE" (when `printed`) and exits with `status`
/// (default: bad input). A process that leaves the printing to rank 0 waits a
/// little first: mpirun ends the whole job when the first process exits
/// non-zero, which must be rank 0.
func fail(_ message: String, status: Int32 = ErrorKind.config.exitStatus, printed: Bool = true) -> Never {
    if printed { FileHandle.standardError.write(Data("tessera: error: \(message)\n".utf8)) }
    else { sleep(5) }
    exit(status)
}

/// Parses a comma-separated list of names (`dp,tp`, `all_reduce,all_gather`)
/// into enum cases; an unknown name is a `ConfigError` naming the flag and the valid names.
func parseNames<E: RawRepresentable & CaseIterable>(_ text: String, flag: String) throws -> [E] where E.RawValue == String {
    try text.split(separator: ",").map { name in
        guard let value = E(rawValue: String(name)) else {
            throw ConfigError("unknown value '\(name)' for \(flag); valid: \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }
}

/// Prints a line and flushes, so progress shows up at once when piped.
func say(_ line: String) {
    print(line)
    fflush(nil)
}
