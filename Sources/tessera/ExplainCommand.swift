import ArgumentParser
import Foundation
import Tessera

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Run a parallel strategy or a collective on tiny integer matrices and print what every rank holds, step by step.",
        discussion: """
            Strategies (2 or 4 ranks): tp (tensor), sp (sequence, inside tp), dp (data), pp (pipeline), cp (context), ep (expert), zero (ZeRO 1-3). Collectives (2 to 8 ranks), walked step by step with the bytes each rank sends: allreduce, reducescatter, allgather, alltoall.
            Examples: tessera explain tp --ranks 2; tessera explain pp --ranks 4 --schedule gpipe; tessera explain allreduce --ranks 4
            """)

    @Argument(help: "tp, sp, dp, pp, cp, ep, zero, allreduce, reducescatter, allgather or alltoall.") var strategy: String
    @Option(parsing: .unconditional, help: "Ranks (2 or 4; a collective 2 to 8).") var ranks = 2
    @Option(help: "pp's schedule: \(PipelineScheduleKind.allCases.map(\.rawValue).joined(separator: ", ")) (default 1f1b).")
    var schedule: String?

    func run() throws {
        try reportingErrors {
            guard let s = Explain.Strategy(rawValue: strategy) else {
                throw ConfigError("unknown strategy '\(strategy)' for explain; valid: "
                                  + Explain.Strategy.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let kind = try schedule.map { name in
                guard let k = PipelineScheduleKind(rawValue: name) else {
                    throw ConfigError("unknown schedule '\(name)'; valid: "
                                      + PipelineScheduleKind.allCases.map(\.rawValue).joined(separator: ", "))
                }
                return k
            }
            for line in try Explain.lines(s, ranks: ranks, schedule: kind) { say(line) }
        }
    }
}
