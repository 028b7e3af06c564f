import ArgumentParser
import Foundation
import Tessera

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Run a parallel strategy on tiny integer matrices and print what every rank holds, step by step.",
        discussion: "Strategies: tp, sp, dp, pp, cp, zero (ep is not built yet). Example: tessera explain tp --ranks 2")

    @Argument(help: "tp, sp, dp, pp, cp, ep or zero.") var strategy: String
    @Option(parsing: .unconditional, help: "Ranks (2 or 4).") var ranks = 2

    func run() throws {
        try reportingErrors {
            guard let s = Explain.Strategy(rawValue: strategy) else {
                throw ConfigError("unknown strategy '\(strategy)' for explain; valid: "
                                  + Explain.Strategy.allCases.map(\.rawValue).joined(separator: ", "))
            }
            for line in try Explain.lines(s, ranks: ranks) { say(line) }
        }
    }
}
