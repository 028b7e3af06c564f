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
                      TraceCommand.self, PlotCommand.self, ExplainCommand.self, ServeCommand.self,
                      TokenizerCommand.self, DataCommand.self])

    /// Parses and runs the command like ArgumentParser's own `main`, but
    /// every error it reports — an unknown flag, a bad value, a missing
    /// argument — is one line "tessera: error: ..." with status 2, as every
    /// other bad input is (not a usage dump with status 64). Help and
    /// `ExitCode`s a command throws on purpose pass through unchanged.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let status = exitCode(for: error)
            if error is ExitCode { Foundation.exit(status.rawValue) }
            if status == .success {  // --help, --version
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            fail(ParserMessage.oneLine(message(for: error), command: CommandLine.arguments.dropFirst().first),
                 printed: Launcher.isLeaderProcess)
        }
    }
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
/// (default: bad input).
///
/// A process of an mpirun job that leaves the printing to rank 0 (an error
/// every process meets alike) must not exit first: mpirun ends the whole
/// job as soon as any process exits non-zero, and could stop rank 0 before
/// it prints. So it waits for the end of the job instead of exiting: rank 0
/// prints, exits, and mpirun stops this process at once. Only if the job is
/// still running after `unprintedGrace` seconds (rank 0 did not meet the
/// error) does it print the message itself, naming its rank, and exit: the
/// message is never lost, and the common case costs no waiting.
func fail(_ message: String, status: Int32 = ErrorKind.config.exitStatus, printed: Bool = true) -> Never {
    if !printed {
        let deadline = Date().addingTimeInterval(unprintedGrace)
        while Date() < deadline { usleep(100_000) }  // mpirun ends this process when rank 0 exits
        let rank = MPIGroup.launched.map { "rank \($0.rank): " } ?? ""
        FileHandle.standardError.write(Data("tessera: error: \(rank)\(message)\n".utf8))
        exit(status)
    }
    FileHandle.standardError.write(Data("tessera: error: \(message)\n".utf8))
    exit(status)
}

/// Seconds a process that left an error to rank 0 waits for the job to end before printing it itself.
let unprintedGrace: Double = 30

/// Parses a comma-separated list of names (`dp,tp`, `all_reduce,all_gather`)
/// into enum cases; an unknown name is a `ConfigError` naming the flag and the valid names.
func parseNames<E: RawRepresentable & CaseIterable>(_ text: String, flag: String) throws -> [E] where E.RawValue == String {
    guard text.contains(where: { $0 != "," && $0 != " " }) else {
        throw ConfigError("\(flag) names nothing; valid: a comma-separated list of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return try text.split(separator: ",").map { name in
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
