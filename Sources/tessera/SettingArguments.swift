import ArgumentParser
import Tessera

/// A command's settings: `--config FILE` and the `--KEY VALUE` flags of its
/// table, which ArgumentParser hands over unparsed because they come from
/// one table (`TrainConfig.table`, `Layout.table`) shared with config files;
/// the command's help lists them with their defaults.
struct SettingArguments: ParsableArguments {
    @Option(help: "Config file (TOML; JSON if *.json) with the settings below as keys.")
    var config: String?
    @Argument(parsing: .allUnrecognized, help: .hidden) var words: [String] = []

    /// The file's and the flags' entries, read through `table`.
    func given<Root>(_ table: SettingTable<Root>) throws -> GivenSettings<Root> {
        try GivenSettings(configFile: config, words: words, table: table)
    }
}

/// "Settings (flags; config-file keys without --):" and one line per setting of `table` with its default.
func settingsHelp<Root>(_ table: SettingTable<Root>, defaults: Root) -> String {
    (["Settings (--KEY VALUE or --KEY=VALUE; the same keys in a --config file):"]
        + table.help(defaults: defaults)).joined(separator: "\n")
}
