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
    @Option(name: .customLong("init-from"),
            help: "Start from these weights (a Tessera checkpoint or a Hugging Face directory): step 0, fresh optimizer.")
    var initFrom: String?
    /// The run `validate()` read and checked (`PreparedRun`): its config, the checkpoint it resumes, the weights it starts from.
    var prepared: (config: TrainConfig, resume: (Checkpoint, String)?, initial: (Checkpoint, String)?)?

    enum CodingKeys: CodingKey { case settings, initFrom }

    mutating func validate() throws {
        let initFrom = initFrom
        prepared = try reportingErrors {
            let run = try PreparedRun(given: try settings.given(TrainConfig.table), initFrom: initFrom)
            return (run.config, run.resume, run.initial)
        }
    }

    func run() throws {
        let (given, resumed, initial) = prepared!
        try reportingErrors {
            let backend = Launcher.Backend.automatic
            Compute.threads = given.kernelThreads
            let data = try TokenDataset.of(given)
            let config = {  // the checkpoint records the data's tokenizer
                var c = given
                c.tokenizerSha256 = data.tokenizerSHA256
                return c
            }()
            let outputLock = Launcher.isLeaderProcess ? try OutputPreflight.prepare(config) : nil
            defer { outputLock?.release() }
            let sample = config.sample
            try Launcher.run(config: config, backend: backend, timeout: Double(config.timeout)) { groups in
                if groups.worldRank == 0 {
                    say("tessera train: \(config.model.summary), \(config.model.parameterCount) parameters")
                    let unit = data.tokenizer == nil ? "bytes" : "tokens (tokenizer sha256 \(data.tokenizerSHA256!.prefix(12)), vocabulary \(data.vocabSize))"
                    say("data: \(data.source), \(data.train.count) training and \(data.validation.count) validation "
                        + "\(unit); batch \(config.batch) x \(config.model.seqLen) tokens, \(config.microBatches) "
                        + "micro-batch(es)")
                    say("layout: \(config.layoutName), \(config.worldSize) rank(s) on "
                        + (backend == .mpi ? "MPI processes" : "threads")
                        + ", \(config.worldSize > 1 ? 1 : Compute.threads) kernel thread(s) per rank")
                    for line in groups.topology.nodeLines() { say(line) }
                    if let (ckpt, dir) = resumed { say("resuming \(dir) at step \(ckpt.step)") }
                    if let (_, dir) = initial { say("starting from the weights of \(dir)") }
                }
                let trainer = try Trainer(config: config, data: data, resume: resumed, groups: groups)
                if let (weights, dir) = initial {
                    try weights.restore(into: trainer.parameters, source: dir)
                    for stage in trainer.stages { stage.refreshWorkingWeights() }
                }
                try trainer.run(log: say)
                guard sample > 0 else { return }
                let whole = try trainer.wholeParameters()  // collective: the shards assembled on every rank
                guard groups.worldRank == 0 else { return }
                let model = GPT(config.model, seed: config.seed)
                for p in model.parameters { p.value.load(whole[p.name]!) }
                let prompt = Array("The ".utf8)
                say("sample:")
                if let tok = data.tokenizer {
                    let ids = try Sampler(model: model, seed: config.seed).generateTokens(
                        prompt: tok.encode(bytes: prompt, addSpecialTokens: false), count: sample, allowed: tok.vocabSize)
                    say(TerminalText.printable(prompt + tok.decode(ids)))
                } else {
                    let text = try Sampler(model: model, seed: config.seed).generate(prompt: prompt, count: sample)
                    say(TerminalText.printable(prompt + text))
                }
            }
        }
    }
}
