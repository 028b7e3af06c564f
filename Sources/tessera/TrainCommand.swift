import ArgumentParser
import Foundation
import Tessera

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a GPT on a text file or the built-in corpus, then print a sample.",
        discussion: """
            A layout (--dp N --tp N [--sp]) runs dp·tp ranks: threads of this process, or the processes of \
            mpirun -np <dp·tp> tessera train ... (the MPI backend is picked automatically under mpirun).
            """)

    @OptionGroup var options: ConfigOptions
    @Option(help: "Continue the run saved in this checkpoint directory (saving to it unless --checkpoint is given).")
    var resume: String?
    @Option(help: "Bytes to sample after training (0: none).") var sample = 240
    @Option(help: "Seconds a rank waits for the others before the job is aborted.") var timeout: Double = 60

    func run() throws {
        try reportingErrors {
            guard timeout > 0, timeout.isFinite else { throw ConfigError("--timeout must be a positive number of seconds, got \(timeout)") }
            var base = TrainConfig()
            var resumeFrom: (Checkpoint, String)?
            if let resume {
                let ckpt = try Checkpoint.load(from: resume)
                base = ckpt.config
                resumeFrom = (ckpt, resume)
            }
            var resolved = try options.resolve(base: base)
            if let resume, resolved.checkpoint == nil { resolved.checkpoint = resume }  // a resumed run saves where it came from
            let config = resolved
            let backend = Launcher.Backend.automatic
            Compute.threads = config.kernelThreads
            let data = try TokenDataset.of(config)
            let outputLock = Launcher.isLeaderProcess ? try OutputPreflight.prepare(config) : nil
            defer { outputLock?.release() }
            let sample = self.sample, resumed = resumeFrom, resumeDir = resume
            try Launcher.run(config: config, backend: backend, timeout: timeout) { groups in
                if groups.worldRank == 0 {
                    say("tessera train: \(config.model.summary), \(config.model.parameterCount) parameters")
                    say("data: \(data.source), \(data.train.count) training bytes, \(data.validation.count) validation "
                        + "bytes; batch \(config.batch) x \(config.model.seqLen) tokens, \(config.microBatches) "
                        + "micro-batch(es)")
                    say("layout: \(config.layoutName), \(config.worldSize) rank(s) on "
                        + (backend == .mpi ? "MPI processes" : "threads")
                        + ", \(config.worldSize > 1 ? 1 : Compute.threads) kernel thread(s) per rank")
                    if let resumeDir { say("resuming \(resumeDir) at step \(resumed!.0.step)") }
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
