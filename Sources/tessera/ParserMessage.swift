import Foundation
import ArgumentParser

/// ArgumentParser's error text as one line of Tessera's format: its
/// "Error: " prefix and usage lines dropped, any remaining lines joined, and
/// where to read the valid forms appended.
enum ParserMessage {
    /// "The value '-3' is invalid for '--top <top>' (see tessera plan --help)".
    static func oneLine(_ message: String, command: String?) -> String {
        let lines = message.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("Usage:") && !$0.hasPrefix("Help:") && !$0.hasPrefix("See '") }
        var text = lines.joined(separator: "; ")
        if text.hasPrefix("Error: ") { text.removeFirst("Error: ".count) }
        if text.isEmpty { text = "the command line could not be read" }
        let names = TesseraCommand.configuration.subcommands.compactMap { $0.configuration.commandName }
        let sub = command.flatMap { names.contains($0) ? $0 : nil }
        return text + " (see tessera\(sub.map { " " + $0 } ?? "") --help)"
    }
}
