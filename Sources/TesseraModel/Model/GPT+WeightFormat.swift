import TesseraKernels

extension GPT {
    /// Sets the form this stage's products read its weights in, for
    /// generation and serving: fp32 and bf16 are `precision`; int8
    /// quantizes every linear layer's weight and the tied head's (wte) to
    /// `Q8Matrix` blocks from the current values (products on float32
    /// activations). Call it after the weights are restored; the float32
    /// values stay (the embedding reads wte's rows, and a later call may
    /// pick another format).
    public func useWeights(_ format: WeightFormat) {
        for w in workingWeights { w.dropQuantized() }
        switch format {
        case .fp32: precision = .fp32
        case .bf16: precision = .bf16
        case .int8:
            precision = .fp32
            for w in workingWeights { w.quantize() }
        }
    }

    /// Bytes of the int8 blocks this stage's products read (0 unless quantized).
    public var quantizedBytes: Int { workingWeights.reduce(0) { $0 + ($1.quantized?.bytes ?? 0) } }
}
