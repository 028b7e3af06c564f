import TesseraSupport
import TesseraKernels

extension Layout {
    /// Every layout setting (flags `--dp`, `--tp`, …; keys `dp`, `tp`, … under `[layout]`).
    /// A new dimension is one row here beside its field.
    public static let table = SettingTable<Layout>([
        .int("dp", \.dp, 1...65536, .layout, help: "Data-parallel ranks."),
        .int("pp", \.pp, 1...65536, .layout, help: "Pipeline ranks (blocks split into stages)."),
        .int("cp", \.cp, 1...65536, .layout,
             help: "Context-parallel ranks (each sequence in 2·cp chunks)."),
        .choice("cp-mode", \.cpMode, .layout, help: "Context-parallel attention: ring or ulysses all-to-all."),
        .int("tp", \.tp, 1...65536, .layout, help: "Tensor-parallel ranks (must divide heads)."),
        .int("ep", \.ep, 1...65536, .layout, help: "Expert-parallel ranks within dp·cp (must divide dp·cp and experts)."),
        .int("expert-tp", \.expertTP, 1...65536, .layout,
             help: "Ranks each expert is split over: 1 (whole experts) or tp."),
        .bool("sp", \.sp, .layout, help: "Sequence parallelism in the tensor-parallel group (needs tp > 1)."),
        .int("zero", \.zero, 0...3, .layout,
             help: "ZeRO stage over dp × cp (1 AdamW states, 2 +gradients, 3 +weights)."),
        .choice("schedule", \.schedule, .layout, help: "Pipeline schedule (needs pp > 1)."),
        .int("pp-chunks", \.ppChunks, 1...1024, .layout, aliases: ["chunks"],
             help: "Virtual stages per pipeline rank (interleaved schedule)."),
        Setting("pp-layers", \.ppLayers, section: .layout, valid: "comma-separated positive block counts like 3,3,2",
                help: "Blocks per virtual stage (default: balanced by cost).",
                decode: { $0.asString.flatMap(Layout.blockCounts).map(Optional.some) },
                encode: { $0.map { .string($0.map(String.init).joined(separator: ",")) } },
                accepts: { $0?.allSatisfy { $0 >= 1 } ?? true }),
        .int("micro-batches", \.microBatches, 1...1_048_576, .layout, aliases: ["microbatches"],
             help: "Micro-batches per step (pipeline's; gradient accumulation at pp 1)."),
        Setting("order", \.order, section: .layout,
                valid: "dp,pp,cp,tp in any order (or fewer)",
                help: "Mesh dimensions, outermost first; left-out ones go outermost.",
                decode: { v in v.asString.flatMap(Layout.meshOrder) },
                encode: { .string($0.map(\.rawValue).joined(separator: ",")) },
                accepts: { Set($0) == Set(MeshDim.allCases) && $0.count == MeshDim.allCases.count }),
    ])

    /// "dp,pp,tp" as a full mesh order: the named dimensions in the given
    /// order, with those left out (size 1 in the seeds' examples, where their
    /// place changes no rank) put outermost in the default order. Nil for an
    /// unknown or repeated name.
    static func meshOrder(_ text: String) -> [MeshDim]? {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let dims = names.compactMap(MeshDim.init(rawValue:))
        guard !dims.isEmpty, dims.count == names.count, Set(dims).count == dims.count else { return nil }
        return DeviceMesh.defaultOrder.filter { !dims.contains($0) } + dims
    }

    /// "3,3,2" as [3, 3, 2]; nil unless every item is a positive integer.
    static func blockCounts(_ text: String) -> [Int]? {
        let counts = text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        return !counts.isEmpty && counts.count == text.split(separator: ",").count && counts.allSatisfy({ $0 >= 1 })
            ? counts : nil
    }

    /// Throws for a setting out of range or a mesh of more than 65,536 ranks
    /// (what `tessera mesh` needs; training checks more in `validate(model:batch:)`).
    public func validateMesh() throws {
        try Self.table.validate(self)
        let (world, overflow) = [dp, pp, cp, tp].reduce((1, false)) { acc, n in
            let (p, o) = acc.0.multipliedReportingOverflow(by: n); return (p, acc.1 || o) }
        if overflow || world > 65536 {
            throw ConfigError("layout \(name) needs dp \(dp) × pp \(pp) × cp \(cp) × tp \(tp) ranks, "
                              + "more than the 65536 a mesh may have")
        }
    }

    /// Throws unless the job's `ranks` (started by mpirun, or not) is the layout's world size.
    public func requireWorldSize(_ ranks: Int, underMPI: Bool) throws {
        guard ranks != worldSize else { return }
        throw ConfigError("layout \(name) needs dp \(dp) × pp \(pp) × cp \(cp) × tp \(tp) = \(worldSize) ranks, but "
                          + (underMPI ? "mpirun started \(ranks); use mpirun -np \(worldSize)"
                                      : "the job has \(ranks); start \(worldSize) ranks")
                          + " or change --dp/--pp/--cp/--tp")
    }
}
