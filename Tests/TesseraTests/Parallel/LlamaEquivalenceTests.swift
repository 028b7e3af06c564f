import Foundation
import Testing
import Tessera

/// Llama (grouped-query rotary attention, SwiGLU, RMSNorm, untied head)
/// trains like one rank under every layout family: `tessera verify --arch
/// llama`'s harness, 8 steps with dropout, on a 2-kv-head model (so tp 4
/// replicates each kv head on 2 ranks).
@Suite struct LlamaEquivalenceTests {
    static func llama(_ edit: (inout TrainConfig) -> Void) -> TrainConfig {
        var c = Equivalence.defaultConfig
        c.model.arch = .llama
        c.model.kvHeads = 2
        c.model.ffnHidden = 96
        c.steps = 8
        edit(&c)
        return c
    }

    /// Every step's loss and every parameter of the layout within `Equivalence`'s tolerances of one
    /// rank. (This once drifted in the test process only: a temporary tensor released before a kernel
    /// read it went back to the shared tensor pool, where a concurrently running test reused it. Found
    /// with AddressSanitizer and TESSERA_TENSOR_POOL=0; fixed in SwiGLUMLP and ExpertMLP.)
    static func expectEquivalent(_ report: EquivalenceReport) {
        #expect(report.passed, "\(report.lines.joined(separator: "\n"))")
    }

    @Test(arguments: [
        llama { $0.dp = 2 }, llama { $0.tp = 2 }, llama { $0.tp = 4 }, llama { $0.tp = 2; $0.sp = true },
        llama { $0.model.layers = 4; $0.pp = 2; $0.microBatches = 4 },
        llama { $0.model.layers = 4; $0.pp = 2; $0.microBatches = 4; $0.schedule = .zeroBubbleH1 },
        llama { $0.layout.cp = 2 }, llama { $0.layout.cp = 2; $0.layout.cpMode = .ulysses },
        llama { $0.dp = 2; $0.layout.zero = 1 }, llama { $0.dp = 2; $0.layout.zero = 2 },
        llama { $0.dp = 2; $0.layout.zero = 3 },
        // Mixtral-style SwiGLU experts over dp 2 × ep 2, dropless (scripts/test_mpi.sh also runs capacity 1).
        llama { $0.dp = 2; $0.layout.ep = 2; $0.model.experts = 4; $0.model.topK = 2 },
        // A tied head (tie-embeddings) whose two copies sit on the first and the last pipeline stage.
        llama { $0.model.tieEmbeddings = true; $0.model.layers = 4; $0.pp = 2; $0.microBatches = 2 },
    ])
    func layoutMatchesOneRank(_ config: TrainConfig) throws {
        Compute.threads = 1
        let data = try TokenDataset.builtIn(seqLen: config.model.seqLen)
        let report = try #require(try Equivalence.run(config: config, data: data, backend: .threads))
        #expect(report.serialLosses.count == 8)
        Self.expectEquivalent(report)
        #expect(report.parameterDifferences.contains { $0.name == "layers.0.self_attn.k_proj.weight" })
        #expect(report.serialLosses.last! < report.serialLosses.first! - 0.5)
    }

    /// The sixteen-rank composition dp2 × pp2 × cp2 × tp2 + sp, and bf16 products on tp 2.
    @Test func composedAndBF16LayoutsMatchOneRank() throws {
        Compute.threads = 1
        let composed = Self.llama {
            $0.model.layers = 4; $0.dp = 2; $0.pp = 2; $0.layout.cp = 2; $0.tp = 2; $0.sp = true
            $0.microBatches = 2; $0.steps = 4
        }
        let bf16 = Self.llama { $0.tp = 2; $0.precision = .bf16 }
        for config in [composed, bf16] {
            let data = try TokenDataset.builtIn(seqLen: config.model.seqLen)
            let report = try #require(try Equivalence.run(config: config, data: data, backend: .threads))
            Self.expectEquivalent(report)
        }
    }
}
