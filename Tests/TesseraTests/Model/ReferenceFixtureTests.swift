import Foundation
import Testing
import Tessera

/// The Swift model against an independent PyTorch computation
/// (Fixtures/make_fixture.py): logits, loss, every gradient, 10 AdamW steps.
@Suite struct ReferenceFixtureTests {
    let file: SafeTensors.File
    let config: TrainConfig

    init() throws {
        file = try SafeTensors.read(path: TestSupport.fixture("gpt_small_reference.safetensors"))
        var c = TrainConfig()
        c.model = GPTConfig(vocab: 256, seqLen: 32, layers: 2, dModel: 64, heads: 4, dropout: 0)
        c.batch = 4
        c.steps = 10
        c.lr = 1e-3
        c.warmup = 0
        c.minLRRatio = 1  // constant learning rate, as in the fixture
        c.beta1 = 0.9; c.beta2 = 0.95; c.weightDecay = 0.1; c.gradClip = 1
        config = c
    }

    func batch(_ step: Int) -> (tokens: [Int32], targets: [Int32]) {
        guard case .i32(_, let tok)? = file.arrays["tokens"], case .i32(_, let tgt)? = file.arrays["targets"] else {
            fatalError("fixture lacks tokens/targets")
        }
        let n = 4 * 32
        return (Array(tok[(step * n)..<((step + 1) * n)]), Array(tgt[(step * n)..<((step + 1) * n)]))
    }

    @Test func logitsLossAndEveryGradientMatchPyTorch() throws {
        Compute.threads = 1
        let model = GPT(config.model, seed: 0)
        try model.load(file)
        let (tokens, targets) = batch(0)
        let ctx = ForwardContext(samples: 4, positions: 32, sampleOffset: 0, step: 0, seed: 0, dropout: 0)
        let logits = try model.logits(tokens, ctx)
        let refLogits = try file.floats("logits", in: "fixture").values
        let logitError = TestSupport.relativeError(logits.array, refLogits)
        #expect(logitError <= 1e-5, "logits relative error \(logitError)")

        model.zeroGrad()
        let loss = try model.forwardBackward(tokens, targets, ctx, gradScale: 1 / 128) / 128
        let refLoss = Double(try file.floats("loss", in: "fixture").values[0])
        #expect(abs(loss - refLoss) / refLoss <= 1e-5, "loss \(loss) vs \(refLoss)")
        var worst = (name: "", error: 0.0)
        for p in model.parameters {
            let ref = try file.floats("grad." + p.name, in: "fixture").values
            let err = TestSupport.relativeError(p.grad.array, ref)
            #expect(err <= 1e-4, "gradient of \(p.name): relative error \(err)")
            if err > worst.error { worst = (p.name, err) }
        }
        print("fixture: logits rel. error \(logitError), loss rel. error \(abs(loss - refLoss) / refLoss), "
              + "worst gradient \(worst.name) rel. error \(worst.error)")
    }

    @Test func tenAdamWStepsReproducePyTorchLosses() throws {
        Compute.threads = 1
        let data = try TokenDataset(bytes: Array(repeating: 65, count: 100), source: "unused", seqLen: 32)
        let trainer = try Trainer(config: config, data: data)
        try trainer.model.load(file)
        let ref = try file.floats("losses", in: "fixture").values
        var worst = 0.0
        for step in 0..<10 {
            let r = try trainer.trainStep(microBatches: [batch(step)])
            let rel = abs(r.loss - Double(ref[step])) / Double(ref[step])
            #expect(rel <= 1e-5, "step \(step): loss \(r.loss) vs PyTorch \(ref[step]) (relative \(rel))")
            worst = max(worst, rel)
        }
        print("fixture: 10 AdamW steps, worst loss rel. error \(worst)")
    }
}
