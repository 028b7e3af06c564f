import TesseraSupport

extension MeshTable {
    /// Ranks `tessera mesh` draws at most: one row each, so the table stays
    /// something a person reads (larger meshes: `tessera plan --layout`).
    public static let maxRanks = 4096

    /// Members a group list shows in full; a longer one shows its first and last members and its size.
    static let shownMembers = 16

    /// Throws a `ConfigError` naming the limit unless a mesh of `ranks` ranks can be drawn.
    public static func requireDrawable(_ ranks: Int, layout: String) throws {
        guard ranks > maxRanks else { return }
        throw ConfigError("layout \(layout) has \(ranks) ranks; tessera mesh draws one row per rank, at most \(maxRanks) "
                          + "(tessera plan --layout evaluates larger meshes)")
    }

    /// "[0,1,2]", or "[0,1,…,1022,1023] (1024 ranks)" beyond `shownMembers`.
    static func list(_ ranks: [Int]) -> String {
        guard ranks.count > shownMembers else { return "[" + ranks.map(String.init).joined(separator: ",") + "]" }
        let head = ranks.prefix(shownMembers / 2).map(String.init), tail = ranks.suffix(2).map(String.init)
        return "[" + (head + ["…"] + tail).joined(separator: ",") + "] (\(ranks.count) ranks)"
    }
}
