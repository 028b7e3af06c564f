import TesseraSupport

/// How a run is spread over ranks: the mesh (dp × pp × cp × tp, with ep and
/// ZeRO on top), sequence parallelism, the pipeline schedule and its
/// micro-batches. One value parsed from flags, config files or a name
/// ("dp2×tp2+sp"), validated once (`validate(model:batch:)`) and taken by
/// train, verify, bench, mesh and the planner.
public struct Layout: Sendable, Equatable {
    /// Data-parallel ranks (each reads batch / dp sequences of the global batch).
    public var dp = 1
    /// Pipeline ranks (blocks split into stages; micro-batches are the pipeline's).
    public var pp = 1
    /// Context-parallel ranks (each sequence split across ranks in 2·cp load-balanced chunks).
    public var cp = 1
    /// How context-parallel ranks compute attention: ring (default) or Ulysses all-to-all.
    public var cpMode = ContextParallelMode.ring
    /// Tensor-parallel ranks (heads, MLP units and vocabulary split across them).
    public var tp = 1
    /// Expert-parallel ranks (mixture-of-experts layers), carved out of the dp·cp ranks (ep divides dp·cp).
    public var ep = 1
    /// Tensor-parallel ranks each expert is split over: 1 (every tp rank holds
    /// its experts whole, the default) or tp (each expert's MLP split like the dense one).
    public var expertTP = 1
    /// Sequence parallelism inside the tensor-parallel group (needs tp > 1).
    public var sp = false
    /// ZeRO stage: 0 (replicated optimizer state), 1 (+ sharded optimizer state), 2 (+ gradients) or 3 (+ weights),
    /// sharded over the dp × cp ranks.
    public var zero = 0
    /// Pipeline schedule (pp > 1).
    public var schedule = PipelineScheduleKind.oneFOneB
    /// Virtual stages per pipeline rank (interleaved schedule).
    public var ppChunks = 1
    /// Blocks of each virtual stage, e.g. [3, 3, 2] (nil: balanced by cost).
    public var ppLayers: [Int]?
    /// Micro-batches per step: the pipeline's when pp > 1, gradient accumulation otherwise.
    public var microBatches = 1
    /// Mesh dimensions, outermost first (default pp, dp, cp, tp: a tensor-parallel group on neighbouring ranks).
    public var order = DeviceMesh.defaultOrder

    public init() {}

    /// Ranks the layout needs: dp · pp · cp · tp.
    public var worldSize: Int { dp * pp * cp * tp }

    /// The layout in words, e.g. "dp2×pp2v2(interleaved)×tp2+sp" ("serial" for one rank);
    /// `Layout(name:)` reads it back.
    public var name: String {
        var parts: [String] = []
        if dp > 1 { parts.append("dp\(dp)") }
        if pp > 1 { parts.append("pp\(pp)" + (ppChunks > 1 ? "v\(ppChunks)" : "") + "(\(schedule.rawValue))") }
        if cp > 1 { parts.append("cp\(cp)" + (cpMode == .ring ? "" : "(\(cpMode.rawValue))")) }
        if tp > 1 { parts.append("tp\(tp)") }
        if ep > 1 { parts.append("ep\(ep)") }
        var name = parts.isEmpty ? "serial" : parts.joined(separator: "×")
        if sp { name += "+sp" }
        if expertTP > 1 { name += "+etp\(expertTP)" }
        if zero > 0 { name += "+zero\(zero)" }
        return name
    }

    /// Reads a layout name such as "dp2", "tp2+sp", "dp2xtp2" (or "dp2×tp2"),
    /// "pp2v2(interleaved)" or "serial" on top of `base`, through the same
    /// settings and range checks as flags and config files.
    public init(name: String, base: Layout = Layout()) throws {
        var entries: [ConfigEntry] = []
        func add(_ key: String, _ text: some StringProtocol) {
            entries.append(ConfigEntry(key, .text(String(text)), source: "layout '\(name)'"))
        }
        var parts = name.split(separator: "+")
        let mesh = parts.isEmpty ? "" : parts.removeFirst()
        for flag in parts {
            if flag == "sp" { add("sp", "true") }
            else if flag.hasPrefix("zero") { add("zero", flag.dropFirst(4)) }
            else if flag.hasPrefix("etp") { add("expert-tp", flag.dropFirst(3)) }
            else { throw Self.nameError(name, "'+\(flag)' is not +sp, +etpN or +zeroN") }
        }
        for part in mesh.split(whereSeparator: { $0 == "x" || $0 == "×" }) where part != "serial" {
            let key = String(part.prefix(2))
            guard ["dp", "pp", "cp", "tp", "ep"].contains(key) else {
                throw Self.nameError(name, "'\(part)' is not dpN, ppN, cpN, tpN or epN")
            }
            var rest = part.dropFirst(2)
            if key == "pp" || key == "cp", let open = rest.firstIndex(of: "("), rest.hasSuffix(")") {
                add(key == "pp" ? "schedule" : "cp-mode", rest[rest.index(after: open)..<rest.index(before: rest.endIndex)])
                rest = rest[..<open]
            }
            if key == "pp", let v = rest.firstIndex(of: "v") {
                add("pp-chunks", rest[rest.index(after: v)...])
                rest = rest[..<v]
            }
            add(key, rest)
        }
        var layout = base
        try Self.table.apply(entries, to: &layout)
        self = layout
    }

    static func nameError(_ name: String, _ what: String) -> ConfigError {
        ConfigError("layout '\(name)': \(what); layouts look like dp2, tp2+sp, dp2xtp2, pp2v2(interleaved), cp2(ulysses), serial")
    }
}

extension DeviceMesh {
    /// The mesh of `layout`'s dp, pp, cp and tp in its order.
    public init(_ layout: Layout) throws {
        try self.init(dp: layout.dp, pp: layout.pp, cp: layout.cp, tp: layout.tp, order: layout.order)
    }
}
