/// The settings one command was given: its config file's entries, then its
/// flags' (which win), read through one table.
public struct GivenSettings<Root>: Sendable {
    public let table: SettingTable<Root>
    /// Entries of `--config FILE` (empty without one).
    public let file: [ConfigEntry]
    /// Entries of the command-line words.
    public let flags: [ConfigEntry]

    /// Reads `configFile` (if any) and the command-line `words` (`--KEY VALUE` …) through `table`.
    public init(configFile: String?, words: [String], table: SettingTable<Root>) throws {
        self.table = table
        file = try configFile.map(ConfigFile.read) ?? []
        flags = try CommandLineSettings.entries(words, table: table)
    }

    /// `base` with the file's entries, then the flags', applied (not yet validated as a whole).
    public func applied(to base: Root) throws -> Root {
        var root = base
        try table.apply(file, to: &root)
        try table.apply(flags, to: &root)
        return root
    }
}
