import CMPI
import Foundation
import TesseraSupport
#if canImport(Glibc)
import Glibc
#endif

/// Tells the ranks of an MPI job which of them are lost, and names them.
///
/// Open MPI 4 has no fault-tolerant interface (no ULFM): when a node goes
/// down, its launcher kills the job with "lost communication with a remote
/// daemon", and no rank learns which ranks were lost or where they stopped.
/// So every rank keeps one TCP connection of its own to every other rank,
/// on the network the job uses (`LivenessSocket`), that carries nothing
/// while the job runs. A process that ends in order (finalize, an abort,
/// `exit`, the launcher's SIGTERM) first writes a goodbye byte on each; a
/// connection that closes without one means its process was killed, crashed
/// or lost with its node. A helper thread polls the connections and answers
/// pings. A loss is looked for when a connection closes without a goodbye,
/// when an MPI call fails, when the watchdog's timeout expires (a node that
/// vanished closes nothing: its ranks are the ones that do not answer a
/// ping) and when mpirun's SIGTERM arrives (mpirun ends the job as soon as
/// it loses a node's daemon; it sends SIGKILL one second later, so the
/// whole report takes well under a second). Then the lowest surviving rank
/// collects from every other survivor the operation it waits in
/// (`MPIWatchdog`) and prints one line (`LostRanksReport`): the lost ranks,
/// their node and host, and the collective the survivors wait for them in;
/// its process ends with exit status 4 (a communication failure), which
/// makes mpirun end the job. The other survivors print nothing. mpirun's
/// own exit status stays Open MPI's: 205 (ORTE_ERR_COMM_FAILURE) once it
/// has lost a node's daemon, 137 when it saw a rank killed (SIGKILL) first.
///
/// Wire format (bytes on a connection after the 4-byte rank that opens it):
/// `B` goodbye; `P` ping, answered by `p`; `S`, a 4-byte length and UTF-8
/// text: a survivor's state for the reporter.
public final class MPILiveness: @unchecked Sendable {
    /// The job's watcher (nil before `start`, or when it could not start).
    nonisolated(unsafe) public internal(set) static var shared: MPILiveness?

    let rank: Int
    let size: Int
    /// Each world rank's host name.
    let hosts: [String]
    let watchdog: MPIWatchdog
    /// Seconds to wait after the first loss for the rest of a node's processes to drop.
    let grace: Double
    private let lock = NSLock()
    private var peers: [Int: Int32] = [:]
    private var saidBye: Set<Int> = []
    private var lost: Set<Int> = []
    private var firstLoss: Date?
    private var states: [Int: String] = [:]
    private var answered: Set<Int> = []
    private var ending = false
    private var handling = false
    private var lossDispatched = false
    private let listenFD: Int32

    init(rank: Int, size: Int, hosts: [String], watchdog: MPIWatchdog, listenFD: Int32, grace: Double) {
        self.rank = rank; self.size = size; self.hosts = hosts; self.watchdog = watchdog
        self.listenFD = listenFD; self.grace = grace
    }

    /// Connects every rank of `world` to every other (collective: every rank
    /// calls it once, after `MPIGroup.world`) and starts watching. A peer that
    /// cannot be reached within 5 s is not watched (one warning line per rank).
    /// With `handlesTermination`, SIGTERM (how mpirun stops the survivors of
    /// a lost node) lets a detected loss be reported before the process ends.
    public static func start(world: MPIGroup, handlesTermination: Bool, grace: Double = 0.3) throws {
        guard shared == nil, world.size > 1 else { return }
        let (fd, port) = try LivenessSocket.listen()
        let addresses = Array(LivenessSocket.localAddresses().prefix(4))
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count)
        let name = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Every rank's (port, addresses, host name) in a fixed 14-integer record.
        var record = [Int(port), addresses.count] + (0..<4).map { $0 < addresses.count ? Int(addresses[$0]) : 0 }
        let nameBytes = Array(name.utf8.prefix(64)) + [UInt8](repeating: 0, count: 64 - min(64, name.utf8.count))
        for w in 0..<8 { record.append(nameBytes[(w * 8)..<(w * 8 + 8)].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }) }
        let all = try world.allGather(record)
        let hosts = (0..<world.size).map { r -> String in
            let bytes = (0..<8).flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: all[r * 14 + 6 + w] >> (8 * $0)) } }
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        let watcher = MPILiveness(rank: world.rank, size: world.size, hosts: hosts, watchdog: world.watchdog,
                                  listenFD: fd, grace: grace)
        // Each rank opens the connections to the ranks above it; the watcher thread accepts those from below.
        var unreachable: [Int] = []
        for q in (world.rank + 1)..<world.size {
            let base = q * 14, peerPort = UInt16(all[base])
            let candidates = hosts[q] == name ? [inet_addr("127.0.0.1")]
                : (0..<min(4, all[base + 1])).map { UInt32(truncatingIfNeeded: all[base + 2 + $0]) }
            var connected: Int32?
            for address in candidates where connected == nil {
                connected = LivenessSocket.connect(to: address, port: peerPort, timeout: 5)
            }
            guard let peer = connected else { unreachable.append(q); continue }
            let me = UInt32(world.rank)
            LivenessSocket.writeAll(peer, (0..<4).map { UInt8(truncatingIfNeeded: me >> (8 * $0)) })
            watcher.lock.withLock { watcher.peers[q] = peer }
        }
        if !unreachable.isEmpty {
            FileHandle.standardError.write(Data(("tessera: warning: rank \(world.rank) cannot reach ranks \(unreachable) "
                + "on a TCP port of their own (firewall?); if they are lost, only Open MPI will say so\n").utf8))
        }
        shared = watcher
        atexit { MPILiveness.shared?.exiting() }
        if handlesTermination {
            signal(SIGTERM, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
            source.setEventHandler { watcher.terminated() }
            source.resume()
            watcher.signalSource = source
        }
        let thread = Thread { watcher.watch() }
        thread.name = "tessera.liveness"
        thread.start()
    }

    private var signalSource: (any DispatchSourceSignal)?

    /// Writes the goodbye byte to every peer: this process ends in order, it is not lost. Idempotent.
    public func sayBye() {
        let fds: [Int32] = lock.withLock {
            guard !ending else { return [] }
            ending = true
            return Array(peers.values)
        }
        for fd in fds { LivenessSocket.writeAll(fd, [UInt8(ascii: "B")]) }
    }

    /// At exit: reports a loss already seen (this rank may be the reporter), else says goodbye.
    private func exiting() {
        let seen = lock.withLock { !lost.isEmpty && !ending }
        if seen { handleLoss(final: true) }
        sayBye()
    }

    /// SIGTERM: a loss seen within `grace` (closed connections), or found by
    /// a ping, is reported before the process ends; otherwise it ends quietly in order.
    private func terminated() {
        if lock.withLock({ !ending }) {
            let deadline = Date().addingTimeInterval(grace)
            while Date() < deadline, lock.withLock({ lost.isEmpty }) { usleep(10_000) }
            if lock.withLock({ lost.isEmpty }) { probe(wait: 0.25) }
            if lock.withLock({ !lost.isEmpty }) { handleLoss(final: true) }
        }
        sayBye()
        _exit(128 + SIGTERM)
    }

    /// Pings every peer still connected that has not said goodbye; those that
    /// do not answer within `wait` seconds are counted lost. True when some rank is lost.
    @discardableResult
    func probe(wait: Double) -> Bool {
        let targets: [(rank: Int, fd: Int32)] = lock.withLock {
            answered = []
            return peers.filter { !saidBye.contains($0.key) }.map { ($0.key, $0.value) }
        }
        for t in targets { LivenessSocket.writeAll(t.fd, [UInt8(ascii: "P")]) }
        func waiting() -> Bool { targets.contains { !answered.contains($0.rank) && !lost.contains($0.rank) && !saidBye.contains($0.rank) } }
        let deadline = Date().addingTimeInterval(wait)
        while Date() < deadline, lock.withLock(waiting) { usleep(5_000) }
        return lock.withLock {
            for t in targets where !answered.contains(t.rank) && !saidBye.contains(t.rank) && !lost.contains(t.rank) {
                lost.insert(t.rank)
                if firstLoss == nil { firstLoss = Date() }
            }
            return !lost.isEmpty
        }
    }

    /// The watchdog's timeout: when pinging finds lost ranks, reports them
    /// (and does not return); otherwise returns so the timeout is reported as such.
    func reportIfLost() {
        if lock.withLock({ ending }) { return }
        if lock.withLock({ !lost.isEmpty }) || probe(wait: 1) { handleLoss(final: false) }
    }

    /// Called when an MPI call fails: if a loss is (or within the grace
    /// period becomes) known, this thread stops here for good while the
    /// watcher reports and ends the job, so no second, vaguer error is printed.
    func holdIfLost() {
        let deadline = Date().addingTimeInterval(grace + 1)
        while Date() < deadline {
            if lock.withLock({ !lost.isEmpty }) {
                while true { sleep(60) }
            }
            usleep(20_000)
        }
    }

    private func watch() {
        var pending: [Int32] = []  // accepted connections whose opening rank has not been read yet
        while true {
            let watched: [(rank: Int, fd: Int32)] = lock.withLock { peers.map { ($0.key, $0.value) } }
            var polled = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)]
            polled += watched.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            polled += pending.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            _ = poll(&polled, nfds_t(polled.count), 100)
            if polled[0].revents != 0 {
                let fd = accept(listenFD, nil, nil)
                if fd >= 0 { pending.append(fd) }
            }
            for (i, peer) in watched.enumerated() where polled[1 + i].revents != 0 { read(from: peer.rank, fd: peer.fd) }
            for (i, fd) in pending.enumerated().reversed() where polled[1 + watched.count + i].revents != 0 {
                pending.remove(at: i)
                if let bytes = LivenessSocket.readExactly(fd, 4, timeout: 2) {
                    let q = bytes.enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
                    if q < rank { lock.withLock { peers[q] = fd } } else { close(fd) }
                } else { close(fd) }
            }
            let due: Bool = lock.withLock {
                guard let first = firstLoss, !ending, !handling, !lossDispatched,
                      Date().timeIntervalSince(first) >= grace else { return false }
                lossDispatched = true
                return true
            }
            // On a thread of its own: this one goes on reading the survivors' states for the reporter.
            if due { Thread { [self] in handleLoss(final: false) }.start() }
        }
    }

    /// Reads what `q`'s connection holds: goodbyes, states, or its end.
    private func read(from q: Int, fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
        lock.lock()
        defer { lock.unlock() }
        guard n > 0 else {
            peers[q] = nil
            close(fd)
            if !saidBye.contains(q) {
                lost.insert(q)
                if firstLoss == nil { firstLoss = Date() }
            }
            return
        }
        var i = 0
        while i < n {
            if buffer[i] == UInt8(ascii: "B") {
                saidBye.insert(q); i += 1
            } else if buffer[i] == UInt8(ascii: "P") {
                LivenessSocket.writeAll(fd, [UInt8(ascii: "p")]); i += 1
            } else if buffer[i] == UInt8(ascii: "p") {
                answered.insert(q); i += 1
            } else if buffer[i] == UInt8(ascii: "S"), i + 5 <= n {
                let length = (0..<4).reduce(0) { $0 | Int(buffer[i + 1 + $1]) << (8 * $1) }
                let text = String(decoding: buffer[(i + 5)..<min(n, i + 5 + length)], as: UTF8.self)
                states[q] = text
                i += 5 + length
            } else { i += 1 }
        }
    }
}

extension MPILiveness {
    /// Reports the loss once: the lowest surviving rank collects the other
    /// survivors' states, prints the line and ends its process with status 4;
    /// every other survivor sends it this rank's state and waits to be ended.
    /// `final`: the process is about to end (SIGTERM, exit), so wait less.
    func handleLoss(final: Bool) {
        let lostNow: Set<Int>? = lock.withLock {
            guard !handling, !ending else { return nil }
            handling = true
            return lost
        }
        guard let lostRanks = lostNow else {
            if !final { return }
            // Another thread reports; give it time before this process ends.
            for _ in 0..<100 { usleep(20_000); if lock.withLock({ ending }) { break } }
            return
        }
        let survivors = (0..<size).filter { !lostRanks.contains($0) }
        let reporter = survivors.min() ?? rank
        let mine = stateLine()
        if rank != reporter {
            if let fd = lock.withLock({ peers[reporter] }) {
                let text = Array(mine.utf8)
                let length = UInt32(text.count)
                LivenessSocket.writeAll(fd, [UInt8(ascii: "S")] + (0..<4).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) } + text)
            }
            lock.withLock { ending = true }
            if final { return }
            sleep(10)  // the reporter's abort ends this process; if it never comes, end it here
            _exit(ErrorKind.communication.exitStatus)
        }
        let deadline = Date().addingTimeInterval(final ? 0.3 : 1.0)
        while Date() < deadline, lock.withLock({ survivors.contains { $0 != rank && states[$0] == nil } }) { usleep(10_000) }
        let collected = lock.withLock { states }
        var lines: [Int: String] = collected
        lines[rank] = mine
        let message = LostRanksReport(lost: lostRanks.sorted(), size: size, hosts: hosts, states: lines).line
        FileHandle.standardError.write(Data((message + "\n").utf8))
        sayBye()
        // Not MPI_Abort, which waits on the lost node's daemon (the job ended 1.2 s after the loss that way, 0.5 s
        // this way): mpirun ends the whole job as soon as one process exits with a non-zero status.
        _exit(ErrorKind.communication.exitStatus)
    }

    /// This rank's state for the report: "members|what #seq|seconds", or "|" when between operations.
    func stateLine() -> String {
        guard let op = watchdog.operation else { return "|" }
        return op.members.map(String.init).joined(separator: ",") + "|" + "\(op.what) #\(op.seq)"
            + String(format: " (waiting %.1f s)", op.waited)
    }
}
