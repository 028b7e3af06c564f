import Foundation
import Testing
import Tessera

/// `tessera export --hf` and reading such a directory back, without Python
/// (scripts/check_hf_export.py checks the same directory against transformers).
@Suite struct GPT2ExportTests {
    static func exported(_ name: String) throws -> (dir: String, weights: Checkpoint) {
        let weights = try GenerationTests.weights()
        let dir = TestSupport.temporaryPath(name)
        try HFExport.write(weights, to: dir)
        return (dir, weights)
    }

    @Test func roundTripKeepsEveryWeightAndGeneratesTheSameText() throws {
        let (dir, weights) = try Self.exported("hf")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let back = try ModelWeights.load(dir)
        #expect(back.config.model == GenerationTests.shape)
        for (name, p) in weights.parameters {
            #expect(back.parameters[name]?.shape == p.shape && back.parameters[name]?.values == p.values, "\(name)")
        }
        // GPT-2's Conv1D layout: c_attn is stored [in, out].
        let file = try SafeTensors.read(path: dir + "/model.safetensors")
        #expect(file.arrays["transformer.h.0.attn.c_attn.weight"]?.shape == [32, 96])
        #expect(file.arrays["transformer.h.3.mlp.c_proj.weight"]?.shape == [128, 32])
        #expect(file.arrays["lm_head.weight"] == nil && file.metadata["format"] == "pt")
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) as! [String: Any]
        #expect(config["activation_function"] as? String == "gelu_new" && config["layer_norm_epsilon"] as? Double == 1e-5)
        #expect(config["n_positions"] as? Int == 48 && config["n_ctx"] as? Int == 48 && config["vocab_size"] as? Int == 256)
        let plan = GenerationTests.greedy(GenerationTests.prompts, tokens: 10)
        #expect(try GenerationTests.generate(plan, back).texts == GenerationTests.generate(plan, weights).texts)
        // Exporting again over Tessera's own export is allowed.
        try HFExport.write(back, to: dir)
    }

    @Test func aDirectoryThatIsNotAnExportIsRefused() throws {
        let (dir, _) = try Self.exported("hf-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let configPath = dir + "/config.json"
        let original = try Data(contentsOf: URL(fileURLWithPath: configPath))
        func withConfig(_ edit: (inout [String: Any]) -> Void) throws -> String {
            var json = try JSONSerialization.jsonObject(with: original) as! [String: Any]
            edit(&json)
            try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: configPath))
            defer { try? original.write(to: URL(fileURLWithPath: configPath)) }
            return TestSupport.message { _ = try ModelWeights.load(dir) }
        }
        #expect(try withConfig { $0["activation_function"] = "relu" }.contains("activation_function is 'relu'"))
        #expect(try withConfig { $0["layer_norm_epsilon"] = 1e-6 }.contains("layer_norm_epsilon is 1e-06"))
        #expect(try withConfig { $0["model_type"] = "llama" }.contains("model_type is llama"))
        #expect(try withConfig { $0["n_head"] = 5 }.contains("not divisible by heads 5"))
        #expect(try withConfig { $0["n_positions"] = 64 }.contains("n_ctx 48 differs from n_positions 64"))
        #expect(try withConfig { $0["n_embd"] = -1 }.contains("'n_embd' is -1; it must be an integer in"))
        #expect(try withConfig { $0["n_layer"] = 5 }.contains("has no tensor 'transformer.h.4.ln_1.weight'"))
        #expect(try withConfig { $0["vocab_size"] = 300 }.contains("'transformer.wte.weight' has shape [256, 32]; config.json implies [300, 32]"))
        #expect(try withConfig { _ in } == "")

        let other = TestSupport.temporaryPath("not-a-model")
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: other) }
        #expect(TestSupport.message { _ = try ModelWeights.load(other) }.contains("holds neither tessera-checkpoint.json"))
        FileManager.default.createFile(atPath: other + "/notes.txt", contents: Data("mine".utf8))
        #expect(TestSupport.message { try HFExport.write(GenerationTests.weights(), to: other) }
            .contains("will not export to"))
        #expect(try String(contentsOfFile: other + "/notes.txt", encoding: .utf8) == "mine")
    }

    /// A checkpoint written by a tensor- and data-parallel training run generates under pipeline and tensor layouts as on one rank.
    @Test func aCheckpointFromAnyTrainingLayoutGeneratesUnderAnyOther() throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        guard TesseraCLI.available else { return }
        let shape = ["--layers", "2", "--d-model", "32", "--heads", "4", "--seq-len", "32", "--batch", "4",
                     "--threads", "1", "--eval-every", "0", "--sample", "0", "--steps", "3"]
        for layout in [["--dp", "2", "--tp", "2"], ["--pp", "2", "--micro-batches", "2"]] {
            let dir = cli.path("ckpt" + layout.joined())
            let trained = try cli.run(["train", "--checkpoint", dir] + shape + layout)
            #expect(trained.status == 0, "\(trained.output)")
            let weights = try ModelWeights.load(dir)
            let plan = GenerationTests.greedy(GenerationTests.prompts, tokens: 8, batch: 2)
            let reference = try GenerationTests.generate(plan, weights).texts
            for (tp, pp) in [(2, 1), (1, 2), (4, 1)] {
                var p = plan
                p.tp = tp
                p.pp = pp
                #expect(try GenerationTests.generate(p, weights).texts == reference, "trained \(layout), tp \(tp) pp \(pp)")
            }
        }
    }

    /// train --init-from a GPT-2 export starts from its weights (step 0, fresh optimizer).
    @Test func trainingStartsFromAnExport() throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        guard TesseraCLI.available else { return }
        #expect(try cli.run(["train", "--steps", "3", "--checkpoint", "start"] + TesseraCLI.tiny).status == 0)
        #expect(try cli.run(["export", "--hf", "hf", "--checkpoint", "start"]).status == 0)
        let quiet = ["--steps", "1", "--lr", "1e-9", "--warmup", "0", "--batch", "4", "--threads", "1",
                     "--eval-every", "0", "--sample", "0"]
        let started = try cli.run(["train", "--init-from", "hf", "--checkpoint", "continued"] + quiet)
        #expect(started.status == 0 && started.output.contains("starting from the weights of hf"), "\(started.output)")
        let fresh = try cli.run(["train", "--checkpoint", "fresh", "--seed", "5", "--layers", "1", "--d-model", "32", "--heads", "2",
                                 "--seq-len", "16"] + quiet)
        #expect(fresh.status == 0, "\(fresh.output)")
        let a = try ModelWeights.load(cli.path("start")), b = try ModelWeights.load(cli.path("continued"))
        let c = try ModelWeights.load(cli.path("fresh"))
        #expect(b.config.model == a.config.model.withDropout(b.config.model.dropout))
        func largestChange(_ x: [Float], _ y: [Float]) -> Float { zip(x, y).map { abs($0 - $1) }.max()! }
        for (name, p) in a.parameters {
            // One AdamW step at lr 1e-9 moves a weight by about 1e-9; a run from another seed differs by its whole initialisation.
            #expect(largestChange(b.parameters[name]!.values, p.values) < 1e-8, "\(name)")
        }
        #expect(largestChange(c.parameters["h.0.attn.qkv.weight"]!.values, a.parameters["h.0.attn.qkv.weight"]!.values) > 1e-2)
        let clash = try cli.run(["train", "--init-from", "hf", "--layers", "3"] + quiet)
        #expect(clash.status == 2 && clash.output.contains("holds a model with layers=1"), "\(clash.output)")
    }
}

extension GPTConfig {
    func withDropout(_ p: Float) -> GPTConfig { var c = self; c.dropout = p; return c }
}
