import TesseraSupport

extension TrainConfig {
    /// Settings that act only with another: given without it, `tessera
    /// train` refuses them (`GivenSettings.requireMeaningful`) instead of ignoring them.
    public static let requirements: [SettingRequirement<TrainConfig>] = {
        let experts = "--experts E (E ≥ 1)"
        return [
            .init("checkpoint-every", needs: "--checkpoint DIR (or --resume DIR)") { $0.checkpoint != nil || $0.resume != nil },
            .init("overwrite", needs: "--checkpoint DIR") { $0.checkpoint != nil },
            .init("top-k", needs: experts) { $0.model.hasExperts },
            .init("aux-loss-coeff", needs: experts) { $0.model.hasExperts },
            .init("z-loss-coeff", needs: experts) { $0.model.hasExperts },
            .init("moe-stats", needs: experts) { $0.model.hasExperts },
            .init("ep", needs: experts) { $0.model.hasExperts || $0.layout.ep == 1 },
            .init("expert-tp", needs: experts) { $0.model.hasExperts || $0.layout.expertTP == 1 },
            .init("cp-mode", needs: "--cp N (N ≥ 2)") { $0.layout.cp > 1 },
            .init("tokenizer-sha256", needs: "--tokenizer FILE or a prepared --data directory") { $0.tokenizer != nil || $0.data != nil },
        ]
    }()
}
