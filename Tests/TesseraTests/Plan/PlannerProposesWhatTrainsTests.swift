import Foundation
import Testing
import Tessera

/// The planner proposes only what trains: every layout its search ranks for
/// a small model on 2, 4 and 8 ranks trains here for 3 steps on thread
/// ranks, and a sample of them (every fourth, the fastest of each device
/// count among them) equals one rank (`Equivalence`), because the search and
/// `tessera train` accept layouts through the one `Topology.validate`.
@Suite(.serialized) struct PlannerProposesWhatTrainsTests {
    static func config(experts: Int) -> TrainConfig {
        var c = TrainConfig()
        c.model = GPTConfig(vocab: 256, seqLen: 16, layers: 4, dModel: 32, heads: 4, dropout: 0)
        if experts > 0 { c.model.experts = experts; c.model.topK = 2 }
        c.batch = 8
        c.steps = 3
        c.warmup = 0
        c.sample = 0
        c.evalEvery = 0
        return c
    }

    /// The search's ranked layouts for `base`'s model on `gpus` devices of a
    /// large GPU (everything fits), as training configs.
    static func proposed(_ base: TrainConfig, gpus: Int) throws -> [TrainConfig] {
        let setup = TrainingSetup(globalBatch: base.batch, precision: .fp32)
        let search = LayoutSearch(shape: ModelShape(base.model), hardware: try Hardware.preset("a100-80"), gpus: gpus,
                                  setup: setup)
        return search.run().ranked.map { plan in
            var c = base
            c.layout = plan.layout
            c.recompute = plan.setup.recompute
            return c
        }
    }

    @Test(arguments: [0, 4]) func everyProposedLayoutTrainsAndASampleEqualsOneRank(experts: Int) throws {
        let base = Self.config(experts: experts)
        let data = try TokenDataset.builtIn(seqLen: base.model.seqLen)
        var trained = 0, verified: [String] = []
        for gpus in [2, 4, 8] {
            let proposed = try Self.proposed(base, gpus: gpus)
            #expect(!proposed.isEmpty, "the search proposed nothing on \(gpus) ranks")
            for (i, config) in proposed.enumerated() {
                try config.validate()
                if i % 4 == 0 {
                    let report = try #require(try Equivalence.run(config: config, data: data, backend: .threads))
                    #expect(report.passed, "\(config.layoutName): \(report.lines.joined(separator: "; "))")
                    verified.append(config.layoutName)
                } else {
                    try Launcher.run(config: config, backend: .threads) { groups in
                        let trainer = try Trainer(config: config, data: data, groups: groups)
                        for _ in 0..<config.steps { #expect(try trainer.trainStep().loss.isFinite) }
                    }
                }
                trained += 1
            }
        }
        print("planner proposals (experts \(experts)): \(trained) layouts trained 3 steps, "
              + "\(verified.count) verified against one rank: \(verified.joined(separator: ", "))")
        #expect(trained >= 6 && !verified.isEmpty)
    }
}
