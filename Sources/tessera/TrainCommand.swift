import ArgumentParser
import Foundation
import Tessera

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a GPT on a text file or the built-in corpus, then print a sample.",
        discussion: """
            A layout (--dp N --tp N [--sp], --pp N ...) runs dp·pp·tp ranks: threads of this process, or the \
            processes of mpirun -np <dp·pp·tp> tessera train ... (the MPI backend is picked automatically under mpirun).

            """ + settingsHelp(TrainConfig.table, defaults: TrainConfig()))

    @OptionGroup var settings: SettingArguments
    /// The run `validate()` read and checked: its config and the checkpoint it resumes.
    var prepared: (config: TrainConfig, resume: (Checkpoint, String)?)?

    enum CodingKeys: CodingKey { case settings }

    mutating func validate() throws {
        prepared = try reportingErrors {
            let given = try settings.given(TrainConfig.table)
            let fresh = try given.applied(to: TrainConfig())
            guard let dir = fresh.resume else {
                try fresh.validate()
                return (fresh, nil)
            }
            // A resumed run keeps the saved layout unless layout settings are given; then it takes exactly those.
            let ckpt = try Checkpoint.load(from: dir)
            var base = ckpt.config
            if (given.file + given.flags).contains(where: { Layout.table.setting($0.key) != nil }) { base.layout = Layout() }
            var config = try given.applied(to: base)
            try config.validate()
            try config.requireSteps(after: ckpt.step, resuming: dir)
            if config.checkpoint == nil { config.checkpoint = dir }  // a resumed run saves where it came from
            return (config, (ckpt, dir))
        }
    }

    func run() throws {
        let (config, resumed) = prepared!
        try reportingErrors {
            let backend = Launcher.Backend.automatic
            Compute.threads = config.kernelThreads
            let data = try TokenDataset.of(config)
            let outputLock = Launcher.isLeaderProcess ? try OutputPreflight.prepare(config) : nil
            defer { outputLock?.release() }
            let sample = config.sample
            try Launcher.run(config: config, backend: backend, timeout: Double(config.timeout)) { groups in
                if groups.worldRank == 0 {
                    say("tessera train: \(config.model.summary), \(config.model.parameterCount) parameters")
                    say("data: \(data.source), \(data.train.count) training bytes, \(data.validation.count) validation "
                        + "bytes; batch \(config.batch) x \(config.model.seqLen) tokens, \(config.microBatches) "
                        + "micro-batch(es)")
                    say("layout: \(config.layoutName), \(config.worldSize) rank(s) on "
                        + (backend == .mpi ? "MPI processes" : "threads")
                        + ", \(config.worldSize > 1 ? 1 : Compute.threads) kernel thread(s) per rank")
                    if let (ckpt, dir) = resumed { say("resuming \(dir) at step \(ckpt.step)") }
                }
                let trainer = try Trainer(config: config, data: data, resume: resumed, groups: groups)
                try trainer.run(log: say)
                guard sample > 0 else { return }
                let whole = try trainer.wholeParameters()  // collective: the shards assembled on every rank
                guard groups.worldRank == 0 else { return }
                let model = GPT(config.model, seed: config.seed)
                for p in model.parameters { p.value.load(whole[p.name]!) }
                let prompt = Array("The ".utf8)
                say("sample:")
                let text = try Sampler(model: model, seed: config.seed).generate(prompt: prompt, count: sample)
                say(TerminalText.printable(prompt + text))
            }
        }
    }
}
