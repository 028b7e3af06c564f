import ArgumentParser
import Foundation
import Tessera

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a GPT on a text file or the built-in corpus, then print a sample.")

    @OptionGroup var options: ConfigOptions
    @Option(help: "Continue the run saved in this checkpoint directory.") var resume: String?
    @Option(help: "Bytes to sample after training (0: none).") var sample = 240

    func run() throws {
        try reportingErrors {
            if let n = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"], let size = Int(n), size > 1 {
                throw ConfigError("tessera train was started by mpirun with \(size) processes, but this version trains "
                                  + "on one rank only (no --dp/--tp layout yet), so the processes would train \(size) "
                                  + "independent copies; run it without mpirun")
            }
            var base = TrainConfig()
            var resumeFrom: (Checkpoint, String)?
            if let resume {
                let ckpt = try Checkpoint.load(from: resume)
                base = ckpt.config
                resumeFrom = (ckpt, resume)
            }
            let config = try options.resolve(base: base)
            Compute.threads = config.threads == 0 ? ProcessInfo.processInfo.activeProcessorCount : config.threads
            let data = try config.data.map { try TokenDataset.load(path: $0, seqLen: config.model.seqLen) }
                ?? TokenDataset.builtIn(seqLen: config.model.seqLen)
            let trainer = try Trainer(config: config, data: data, resume: resumeFrom)
            say("tessera train: \(config.model.summary), \(config.model.parameterCount) parameters")
            say("data: \(data.source), \(data.train.count) training bytes, \(data.validation.count) validation bytes; "
                + "batch \(config.batch) x \(config.model.seqLen) tokens, \(config.microBatches) micro-batch(es), "
                + "\(Compute.threads) thread(s)")
            if let resume { say("resuming \(resume) at step \(trainer.step)") }
            try trainer.run(log: say)
            if sample > 0 {
                let prompt = Array("The ".utf8)
                say("sample:")
                let text = Sampler(model: trainer.model, seed: config.seed).generate(prompt: prompt, count: sample)
                say(String(decoding: prompt + text, as: UTF8.self))
            }
        }
    }
}
