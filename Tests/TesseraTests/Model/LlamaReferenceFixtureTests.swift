import Foundation
import Testing
import Tessera

/// Tessera's Llama blocks against transformers' `LlamaForCausalLM`
/// (Fixtures/make_llama_fixture.py: 2 layers, d 64, 4 heads, 2 kv heads,
/// SwiGLU 192, vocab 256, rope θ 500000, untied head): logits, loss and
/// every gradient.
@Suite struct LlamaReferenceFixtureTests {
    let file: SafeTensors.File

    static var config: GPTConfig {
        var c = GPTConfig(vocab: 256, seqLen: 32, layers: 2, dModel: 64, heads: 4, dropout: 0)
        c.arch = .llama
        c.kvHeads = 2
        c.ffnHidden = 192
        c.ropeTheta = 500_000
        c.normEps = 1e-5
        return c
    }

    init() throws {
        file = try SafeTensors.read(path: TestSupport.fixture("llama_small_reference.safetensors"))
    }

    @Test func logitsLossAndEveryGradientMatchTransformers() throws {
        Compute.threads = 1
        let model = GPT(Self.config, seed: 0)
        #expect(model.parameters.count == 21 && model.lmHead != nil && model.wpe == nil)
        try model.load(file)
        guard case .i32(_, let tokens)? = file.arrays["tokens"], case .i32(_, let targets)? = file.arrays["targets"] else {
            Issue.record("fixture lacks tokens/targets"); return
        }
        let ctx = ForwardContext(samples: 4, positions: 32, sampleOffset: 0, step: 0, seed: 0, dropout: 0)
        let logits = try model.logits(tokens, ctx)
        let logitError = TestSupport.relativeError(logits.array, try file.floats("logits", in: "fixture").values)
        #expect(logitError <= 1e-5, "logits relative error \(logitError)")

        model.zeroGrad()
        let loss = try model.forwardBackward(tokens, targets, ctx, gradScale: 1 / 128) / 128
        let refLoss = Double(try file.floats("loss", in: "fixture").values[0])
        let lossError = abs(loss - refLoss) / refLoss
        #expect(lossError <= 1e-6, "loss \(loss) vs \(refLoss)")
        var worst = (name: "", error: 0.0)
        for p in model.parameters {
            let err = TestSupport.relativeError(p.grad.array, try file.floats("grad." + p.name, in: "fixture").values)
            #expect(err <= 1e-4, "gradient of \(p.name): relative error \(err)")
            if err > worst.error { worst = (p.name, err) }
        }
        print("llama fixture: logits rel. error \(logitError), loss rel. error \(lossError), "
              + "worst gradient \(worst.name) rel. error \(worst.error)")
    }

    /// The model's parameter layout is Hugging Face's, less the "model." prefix, with its shapes.
    @Test func parameterLayoutIsHuggingFacesNames() throws {
        let layout = GPT.parameterLayout(Self.config)
        for (name, shape) in layout {
            let (saved, _) = try file.floats(name, in: "fixture")
            #expect(saved == shape, "\(name): \(shape) vs transformers' \(saved)")
        }
        #expect(layout.count == 21)
        #expect(layout.reduce(0) { $0 + $1.shape.reduce(1, *) } == Self.config.parameterCount)
    }
}
