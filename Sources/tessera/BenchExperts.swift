import ArgumentParser
import Foundation
import Tessera

struct BenchExperts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experts",
        abstract: "Mixture of experts (E 8, top-2) against the dense model of equal active parameters.",
        discussion: """
            Tokens/s of the dense model and of the experts on one rank, and on dp2 against dp2×ep2 (threads), with \
            the all-to-all share of the step; then the routing balance (busiest expert's load over the mean) over \
            --balance-steps steps on the built-in corpus, with the load-balancing loss (α 0.01) and without (α 0).
            Example: tessera bench experts --steps 5 --balance-steps 1000
            """)

    @Option(parsing: .unconditional, help: "Timed steps per layout (after one warm-up step).") var steps = 5
    @Option(parsing: .unconditional, help: "Training steps of each routing-balance run (0: skip).") var balanceSteps = 1000

    func validate() throws {
        try reportingErrors {
            try requireTimedSteps(steps)
            guard balanceSteps >= 0 else { throw ConfigError("--balance-steps must be 0 or more, got \(balanceSteps)") }
        }
    }

    func run() throws {
        try reportingErrors {
            let (dense, moe) = ExpertBenchmark.speedConfigs()
            say("shape: \(moe.model.summary); active parameters \(moe.model.activeParameterCount) "
                + "(dense \(dense.model.parameterCount)), total \(moe.model.parameterCount); batch \(moe.batch)")
            var pairs: [(TrainConfig, TrainConfig)] = [(dense, moe)]
            var dp2 = dense, ep2 = moe
            dp2.dp = 2; ep2.dp = 2; ep2.layout.ep = 2
            pairs.append((dp2, ep2))
            for (d, m) in pairs {
                // Interleaved: dense, experts, dense, experts; the better of each pair's two runs.
                var best: [ExpertBenchmark.Speed] = []
                for _ in 0..<2 {
                    for (i, c) in [d, m].enumerated() {
                        let s = try ExpertBenchmark.speed(c, steps: steps)
                        if best.count <= i { best.append(s) } else if s.tokensPerSecond > best[i].tokensPerSecond { best[i] = s }
                    }
                }
                for s in best {
                    say(String(format: "layout=%@ %@ step=%.0fms tokens/s=%.0f vs-dense=%.2fx all-to-all-share=%.1f%% comm-share=%.1f%%",
                               s.layout, s.experts ? "experts" : "dense  ", s.medianStepSeconds * 1e3, s.tokensPerSecond,
                               s.tokensPerSecond / best[0].tokensPerSecond, 100 * s.allToAllShare, 100 * s.commShare))
                }
            }
            guard balanceSteps > 0 else { return }
            Compute.threads = ProcessInfo.processInfo.activeProcessorCount
            let marks = [1, 10, 50, 100, 250, 500, 1000, 2000, 5000].filter { $0 <= balanceSteps } + [balanceSteps]
            var columns: [(String, [Double], Double)] = []
            for aux: Float in [0.01, 0] {
                let c = ExpertBenchmark.balanceConfig(auxLoss: aux, steps: balanceSteps)
                let (load, loss) = try ExpertBenchmark.balance(c)
                columns.append(("aux \(aux)", load, loss))
            }
            say("routing balance: busiest expert's load / mean load (worse block), mean over the 10 steps up to each step")
            say("step | " + columns.map(\.0).joined(separator: " | "))
            for m in Array(Set(marks)).sorted() {
                let cells = columns.map { _, load, _ in
                    String(format: "%.2f", load[max(0, m - 10)..<m].reduce(0, +) / Double(m - max(0, m - 10)))
                }
                say("\(m) | " + cells.joined(separator: " | "))
            }
            say("final loss | " + columns.map { String(format: "%.4f", $0.2) }.joined(separator: " | "))
        }
    }
}
