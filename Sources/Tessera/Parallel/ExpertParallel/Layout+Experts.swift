extension Layout {
    /// Expert parallelism's constraints against `model`: ep needs experts,
    /// divides them and the dp × cp ranks it is carved from (an ep group may
    /// span context-parallel positions: each rank's router has gathered its
    /// samples' logits over cp, and experts treat tokens one by one). ZeRO
    /// composes: it shards expert buckets over the expert-data-parallel group (`ZeROGroups`).
    func validateExperts(model: GPTConfig) throws {
        // ep values that divide both the experts and the dp × cp ranks.
        let ranks: Int = dp * cp, experts: Int = model.experts
        let fitting: [Int] = (1...max(1, ranks)).filter { (n: Int) -> Bool in ranks % n == 0 && experts % n == 0 }
        let valid = fitting.map(String.init).joined(separator: ", ")
        try validateExpertTP(model: model)
        guard ep > 1 else { return }
        if !model.hasExperts {
            throw ConfigError("ep \(ep) needs a mixture of experts to split; add --experts E (a multiple of \(ep)) or use ep 1")
        }
        if model.experts % ep != 0 {
            let over = cp == 1 ? "dp \(dp)" : "dp × cp = \(ranks)"
            throw ConfigError("experts \(model.experts) are not divisible by ep \(ep); valid ep with \(over): \(valid)")
        }
        if (dp * cp) % ep != 0 {
            throw ConfigError("ep \(ep) must divide dp × cp = \(dp * cp) (expert-parallel ranks are data-parallel ranks); "
                              + "valid ep: \(valid), or raise --dp to a multiple of \(ep)")
        }
    }

    /// Expert tensor parallelism: `expert-tp` is 1 (whole experts on every
    /// tensor-parallel rank) or tp (each expert's MLP split like the dense
    /// one: column-parallel up, row-parallel down), needs experts to split,
    /// and tp must divide each expert's hidden width.
    func validateExpertTP(model: GPTConfig) throws {
        guard expertTP > 1 else { return }
        if expertTP != tp {
            throw ConfigError("expert-tp \(expertTP) must be 1 (whole experts on each tensor-parallel rank) or tp "
                              + "(each expert split like the dense MLP); valid expert-tp with tp \(tp): "
                              + (tp > 1 ? "1, \(tp)" : "1 (add --tp N to split experts)"))
        }
        if !model.hasExperts {
            throw ConfigError("expert-tp \(expertTP) needs a mixture of experts to split; add --experts E or use expert-tp 1")
        }
        if model.expertWidth % tp != 0 {
            let near = [model.expertWidth / tp * tp, (model.expertWidth / tp + 1) * tp].filter { $0 > 0 }
            throw ConfigError("expert-tp \(expertTP) splits each expert's hidden width \(model.expertWidth) over tp \(tp), "
                              + "which does not divide it; nearest valid expert-hidden: "
                              + near.map(String.init).joined(separator: ", ") + ", or expert-tp 1")
        }
    }
}
