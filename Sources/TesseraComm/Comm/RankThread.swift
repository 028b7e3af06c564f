import Foundation

/// Starting one rank's thread with POSIX threads directly, so a refused
/// start (too many threads, no memory for the stack) is an error the caller
/// sees at once — Foundation's `Thread.start()` ignores it, and the ranks
/// that did start would wait for the missing one until their timeout.
enum RankThread {
    /// Runs `body` on a new detached thread with a stack of `stackBytes`;
    /// returns nil once started, or the system's reason it could not be.
    static func start(stackBytes: Int, _ body: @escaping @Sendable () -> Void) -> String? {
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        pthread_attr_setstacksize(&attr, stackBytes)
        pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let code = pthread_create(&thread, &attr, { raw in
            let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
            body.run()
            return nil
        }, box)
        guard code == 0 else {
            Unmanaged<Body>.fromOpaque(box).release()
            return String(cString: strerror(code))
        }
        return nil
    }

    final class Body: @unchecked Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
}
