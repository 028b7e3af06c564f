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
    @Option(help: "Continue the run saved in this checkpoint directory.") var resume: String?
    @Option(help: "Bytes to sample after training (0: none).") var sample = 240

    func run() throws {
        try reportingErrors {
            var base = TrainConfig()
            var resumeFrom: (Checkpoint, String)?
            if let resume {
                let ckpt = try Checkpoint.load(from: resume)
                base = ckpt.config
                resumeFrom = (ckpt, resume)
            }
            let config = try options.resolve(base: base)
            let backend = Launcher.Backend.automatic
            Compute.threads = config.kernelThreads
            let data = try TokenDataset.of(config)
            if Launcher.isLeaderProcess {
                say("tessera train: \(config.model.summary), \(config.model.parameterCount) parameters")
                say("data: \(data.source), \(data.train.count) training bytes, \(data.validation.count) validation "
                    + "bytes; batch \(config.batch) x \(config.model.seqLen) tokens, \(config.microBatches) "
                    + "micro-batch(es)")
                say("layout: \(config.layoutName), \(config.worldSize) rank(s) on "
                    + (backend == .mpi ? "MPI processes" : "threads")
                    + ", \(config.worldSize > 1 ? 1 : Compute.threads) kernel thread(s) per rank")
                if let resume { say("resuming \(resume) at step \(resumeFrom!.0.step)") }
            }
            let sample = self.sample, resumed = resumeFrom
            try Launcher.run(config: config, backend: backend) { groups in
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
                say(String(decoding: prompt + text, as: UTF8.self))
            }
        }
    }
}
