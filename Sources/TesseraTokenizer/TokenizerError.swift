/// A tokenizer, tokenizer file or token-data problem, as one line that names
/// the value and what would be valid. The command line prints it as
/// `tessera: error: MESSAGE` and exits with status 2.
public struct TokenizerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The one-line message.
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
