import Foundation
import Tessera

/// How `tessera serve` answers HTTP: where it listens, the model's name in
/// the API, limits on requests, and how long requests and a drain may take.
public struct ServeOptions: Sendable {
    /// Address and port to listen on (port 0: any free port, printed when listening).
    public var host = "127.0.0.1", port = 8000
    /// The model's id in `/v1/models` and the `model` field requests must name.
    public var modelName = "tessera"
    /// Largest request body accepted (larger: 413).
    public var maxBodyBytes = 1 << 20
    /// Seconds a request may run before it is cancelled (408, or an error event when streaming).
    public var requestTimeout = 600.0
    /// Seconds SIGTERM waits for requests in flight before cancelling them.
    public var drainTimeout = 30.0
    /// Most choices (`n`) one request may ask for.
    public var maxChoices = 16
    public var chatTemplate = ChatTemplate.default

    public init() {}

    /// Throws a one-line `ConfigError` for the first option out of range.
    public func validate() throws {
        guard (0...65535).contains(port) else { throw ConfigError("--port must be in 0...65535 (0: any free port), got \(port)") }
        guard !host.isEmpty else { throw ConfigError("--host needs an address, e.g. 127.0.0.1") }
        guard !modelName.isEmpty else { throw ConfigError("--model-name needs a non-empty name") }
        guard (1024...(1 << 30)).contains(maxBodyBytes) else {
            throw ConfigError("--max-body must be in 1024...\(1 << 30) bytes, got \(maxBodyBytes)")
        }
        guard requestTimeout > 0, requestTimeout.isFinite else {
            throw ConfigError("--request-timeout must be a positive number of seconds, got \(requestTimeout)")
        }
        guard drainTimeout >= 0, drainTimeout.isFinite else {
            throw ConfigError("--drain-timeout must be zero or a positive number of seconds, got \(drainTimeout)")
        }
        guard (1...128).contains(maxChoices) else { throw ConfigError("--max-n must be in 1...128, got \(maxChoices)") }
    }
}
