import Dispatch
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Tessera

/// `tessera serve`: a `ServingEngine` on its ranks and, on world rank 0,
/// the OpenAI-compatible HTTP server (`OpenAIRoutes`, Hummingbird).
///
/// SIGTERM (or SIGINT) drains: `/health` turns 503 and new generation
/// requests are refused, the listener closes, requests in flight finish
/// (those still running after `drainTimeout` seconds are cancelled), then
/// the engine's ranks stop and `serve` returns (the command exits 0).
/// Under mpirun, the signal goes to rank 0's process (its pid is in the
/// listening line): mpirun itself ends the whole job at once on SIGTERM.
public enum TesseraServer {
    /// The HTTP application for `engine` (tests run it in-process); `onListening` gets the bound port.
    public static func application(engine: ServingEngine, options: ServeOptions,
                                   onListening: @escaping @Sendable (Int) -> Void = { _ in }) -> some ApplicationProtocol {
        application(engine: engine, options: options, draining: DrainFlag(), onListening: onListening)
    }

    static func application(engine: ServingEngine, options: ServeOptions, draining: DrainFlag,
                             onListening: @escaping @Sendable (Int) -> Void) -> some ApplicationProtocol {
        let router = Hummingbird.Router()
        OpenAIRoutes(engine: engine, options: options, metrics: ServeMetrics(), draining: draining).add(to: router)
        var logger = Logger(label: "tessera-serve")
        logger.logLevel = .warning
        return Application(router: router, configuration: .init(address: .hostname(options.host, port: options.port),
                                                                 serverName: "tessera"),
                           onServerRunning: { channel in onListening(channel.localAddress?.port ?? options.port) },
                           logger: logger)
    }

    /// Serves until SIGTERM or SIGINT; blocks the calling thread. Under
    /// mpirun the processes other than rank 0 only run their ranks of the
    /// engine. `log` gets the one line saying where it listens, and the drain's.
    public static func serve(engine: ServingEngine, options: ServeOptions, backend: Launcher.Backend = .automatic,
                             log: @escaping @Sendable (String) -> Void) throws {
        try options.validate()
        guard Launcher.isLeaderProcess else {
            // mpirun forwards SIGTERM to every process: the others keep stepping until rank 0 has drained and says stop.
            signal(SIGTERM, SIG_IGN)
            signal(SIGINT, SIG_IGN)
            return try engine.run(backend: backend)
        }
        let engineDone = DispatchSemaphore(value: 0)
        let failure = Failure()
        let engineThread = Thread {
            do { try engine.run(backend: backend) } catch { failure.set(error) }
            engineDone.signal()
        }
        engineThread.stackSize = 16 << 20
        engineThread.start()

        let draining = DrainFlag()
        let app = application(engine: engine, options: options, draining: draining) { port in
            failure.listening()
            log("tessera serve: listening on http://\(options.host):\(port) (pid \(getpid()); model '\(options.modelName)'; "
                + "POST /v1/completions, /v1/chat/completions; GET /v1/models, /health, /metrics)")
        }
        var logger = Logger(label: "tessera-serve")
        logger.logLevel = .warning
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        // Our own signal handling, so that draining starts (503s, a deadline) before the listener closes.
        let signals = [SIGTERM, SIGINT].map { sig -> any DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                guard !draining.isSet else { return }
                draining.set()
                log("tessera serve: draining (no new requests; requests in flight get \(options.drainTimeout) s)")
                Task { await group.triggerGracefulShutdown() }
                DispatchQueue.global().asyncAfter(deadline: .now() + options.drainTimeout) { engine.stop() }
            }
            source.resume()
            return source
        }
        // The engine failing ends the server too.
        DispatchQueue.global().async {
            engineDone.wait()
            engineDone.signal()
            if failure.error != nil { Task { await group.triggerGracefulShutdown() } }
        }
        let served = DispatchSemaphore(value: 0)
        Task {
            do { try await group.run() } catch { failure.set(error) }
            served.signal()
        }
        served.wait()
        signals.forEach { $0.cancel() }
        engine.stop()
        engineDone.wait()
        if let error = failure.error {
            guard failure.listened || error is any TesseraFailure else {
                throw ConfigError("cannot listen on \(options.host):\(options.port) (\(error)); choose another --port "
                                  + "(0: any free port) or --host")
            }
            throw error
        }
        log("tessera serve: stopped")
    }
}

/// The first error of the engine's thread or the server's task.
private final class Failure: @unchecked Sendable {
    private let lock = NSLock()
    private var first: (any Error)?
    private var bound = false
    var error: (any Error)? { lock.withLock { first } }
    func set(_ e: any Error) { lock.withLock { if first == nil { first = e } } }
    /// Whether the server got as far as listening (an error before that is the address's).
    var listened: Bool { lock.withLock { bound } }
    func listening() { lock.withLock { bound = true } }
}
