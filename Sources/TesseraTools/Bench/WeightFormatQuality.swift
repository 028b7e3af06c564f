import Foundation
import TesseraSupport
import TesseraKernels
import TesseraModel
import TesseraRuntime

/// What reading a model's weights as bf16 or int8 (`generate --weights`)
/// costs in quality: the validation split's mean cross-entropy and
/// perplexity per format, every window of the split scored the same way.
public enum WeightFormatQuality {
    public struct Row: Sendable {
        public var format: WeightFormat
        /// Mean cross-entropy (nats per token) over the scored tokens, and exp of it.
        public var loss: Double, perplexity: Double
        /// Tokens scored.
        public var tokens: Int
    }

    /// Scores the validation split of `data` in consecutive windows of the
    /// model's context (each window's every next-token prediction; the last
    /// partial window dropped), at most `maxWindows` of them, under each of
    /// `formats`, with one model restored from `weights` and re-quantized per format.
    public static func run(_ weights: Checkpoint, data: TokenDataset, formats: [WeightFormat],
                           maxWindows: Int = .max, batch: Int = 8) throws -> [Row] {
        let config = weights.config.model, T = config.seqLen
        let windows = min(maxWindows, (data.validation.count - 1) / T)
        guard windows >= 1 else {
            throw ConfigError("the validation split has \(data.validation.count) tokens, fewer than one window of "
                              + "\(T + 1); give more data")
        }
        let gpt = GPT(config, seed: 0)
        try weights.restore(into: gpt.parameters, source: "quality")
        return try formats.map { format in
            gpt.useWeights(format)
            var total = 0.0, w = 0
            while w < windows {
                let n = min(batch, windows - w)
                var ids: [Int32] = [], targets: [Int32] = []
                for s in 0..<n {
                    var window: [Int32] = []
                    data.validation.append(from: (w + s) * T, count: T + 1, to: &window)
                    ids += window.prefix(T)
                    targets += window.dropFirst()
                }
                let ctx = ForwardContext(samples: n, positions: T, sampleOffset: 0, step: 0, seed: 0, dropout: 0)
                total += try gpt.loss(ids, targets, ctx)
                w += n
            }
            let tokens = windows * T, loss = total / Double(tokens)
            return Row(format: format, loss: loss, perplexity: exp(loss), tokens: tokens)
        }
    }
}
