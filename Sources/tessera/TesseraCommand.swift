import ArgumentParser
import Foundation
import Tessera

@main
struct TesseraCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera",
        abstract: "Train GPT-style transformers in Swift, on one rank or many.",
        subcommands: [TrainCommand.self, VerifyCommand.self, GenerateCommand.self, MeshCommand.self, ScheduleCommand.self,
                      CheckCommand.self, BenchCommand.self, InfoCommand.self])
}

/// Runs `body`, turning Tessera's input errors into one clear line on stderr
/// and exit status 2 (no stack trace, no usage dump).
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as ConfigError {
        fail(e.description)
    } catch let e as DataError {
        fail(e.description)
    } catch let e as CheckpointError {
        fail(e.description)
    } catch let e as TrainingError {
        fail(e.description)
    } catch let e as OutputError {
        fail(e.description)
    } catch let e as CommError {
        fail(e.description)
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("tessera: error: \(message)\n".utf8))
    exit(2)
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
