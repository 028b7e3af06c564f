extension StepMetrics {
    /// Why this line cannot be a logged step following `previous`, or nil:
    /// steps count up from 0, and every figure is a finite number of the
    /// right sign (loss and validation loss may be any finite number).
    func implausibility(after previous: StepMetrics?) -> String? {
        if step < 0 { return "step \(step) is negative" }
        if let p = previous, step <= p.step { return "step \(step) does not follow step \(p.step); steps must increase" }
        let finite: [(String, Double?)] = [("loss", loss), ("val_loss", val_loss)]
        for (name, v) in finite where v.map({ !$0.isFinite }) ?? false { return "\(name) \(v!) is not a finite number" }
        let nonNegative: [(String, Double?)] = [("lr", lr), ("grad_norm", grad_norm), ("step_seconds", step_seconds),
                                                ("tokens_per_s", tokens_per_s), ("gflops", gflops), ("mfu", mfu),
                                                ("elapsed_s", elapsed_s)]
        for (name, v) in nonNegative where v.map({ !($0.isFinite && $0 >= 0) }) ?? false {
            return "\(name) \(v!) is not a finite non-negative number"
        }
        return nil
    }
}
