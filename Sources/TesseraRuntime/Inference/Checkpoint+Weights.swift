import TesseraTopology
import TesseraModel

extension Checkpoint {
    /// A weights-only checkpoint of a model of `model`'s shape (no optimizer
    /// state, step 0): what generation and export need, from whole tensors by name.
    public init(model: GPTConfig, weights: [String: (shape: [Int], values: [Float])]) {
        var config = TrainConfig()
        config.model = model
        self.init(config: config, step: 0, parameters: weights, m: [:], v: [:], optimizerT: 0)
    }

    /// The weights of a whole one-rank model, as whole tensors.
    public init(weightsOf model: GPT) throws {
        precondition(model.tp.size == 1 && model.isFirstStage && model.isLastStage, "a whole one-rank model")
        let values = try FullTensors.gather(model.parameters, model.parameters.map(\.value),
                                            layout: GPT.parameterLayout(model.config), group: model.tp.group)
        self.init(model: model.config, weights: Dictionary(uniqueKeysWithValues: model.parameters.map {
            ($0.name, ($0.globalShape, values[$0.name]!))
        }))
    }
}
