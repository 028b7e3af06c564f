import TesseraSupport
import TesseraKernels
import TesseraTopology

/// A training run as `tessera train` starts it, decided before any rank
/// starts: its config, and the checkpoint it resumes or the weights it
/// starts from, each loaded and checked.
///
/// The policy: `--init-from` takes the model's shape from the weights
/// (shape settings, if given, must agree) and its tokenizer, if it has one
/// (the data must be text it encodes, or prepared with it), and starts at
/// step 0 with a fresh optimizer; it excludes `--resume`. `--resume DIR` keeps the saved config,
/// and its layout unless layout settings are given (then exactly those),
/// needs steps beyond the saved step, and saves back to DIR unless
/// `--checkpoint` names another directory. Otherwise the settings on top of
/// the defaults.
public struct PreparedRun: @unchecked Sendable {
    public var config: TrainConfig
    /// The checkpoint resumed and its directory.
    public var resume: (checkpoint: Checkpoint, dir: String)?
    /// The weights started from and where they came from.
    public var initial: (weights: Checkpoint, source: String)?

    /// The run of `given` settings (and `initFrom`, a Tessera checkpoint or a Hugging Face directory);
    /// throws a `ConfigError` or `CheckpointError` naming what is wrong.
    public init(given: GivenSettings<TrainConfig>, initFrom: String?) throws {
        let fresh = try given.applied(to: TrainConfig())
        if let source = initFrom {
            guard fresh.resume == nil else { throw ConfigError("--init-from and --resume exclude each other") }
            // The model's shape comes from the weights; shape flags, if given, must agree with it.
            if let target = fresh.checkpoint, (try? CheckpointDirectory(target))?.path == (try? CheckpointDirectory(source))?.path {
                throw ConfigError("--init-from and --checkpoint name the same directory '\(source)'; the run would replace "
                                  + "the weights it starts from. Give --checkpoint a new directory")
            }
            let weights = try ModelWeights.load(source)
            var base = TrainConfig()
            base.model = weights.config.model
            base.model.dropout = TrainConfig().model.dropout
            // A model that reads ids through a tokenizer fine-tunes on data encoded by that tokenizer.
            base.tokenizer = weights.config.tokenizer
            base.tokenizerSha256 = weights.config.tokenizerSha256
            let config = try given.applied(to: base)
            try given.requireMeaningful(config, TrainConfig.requirements)
            try config.validate()
            try Checkpoint.requireSameShape(saved: weights.config.model, requested: config.model, dir: source)
            self.config = config; resume = nil; initial = (weights, source)
            return
        }
        guard let dir = fresh.resume else {
            try given.requireMeaningful(fresh, TrainConfig.requirements)
            try fresh.validate()
            config = fresh; resume = nil; initial = nil
            return
        }
        // A resumed run keeps the saved layout unless layout settings are given; then it takes exactly those.
        let ckpt = try Checkpoint.load(from: dir)
        var base = ckpt.config
        if (given.file + given.flags).contains(where: { Layout.table.setting($0.key) != nil }) { base.layout = Layout() }
        var config = try given.applied(to: base)
        try given.requireMeaningful(config, TrainConfig.requirements)
        try config.validate()
        try Checkpoint.requireSameShape(saved: ckpt.config.model, requested: config.model, dir: dir)
        try config.requireSteps(after: ckpt.step, resuming: dir)
        if config.checkpoint == nil { config.checkpoint = dir }  // a resumed run saves where it came from
        self.config = config; resume = (ckpt, dir); initial = nil
    }
}
