import Foundation
import TesseraSupport
#if canImport(Glibc)
import Glibc
#endif

/// The TCP plumbing under `MPILiveness`: a listening socket on every IPv4
/// address, this host's addresses on the network the job uses, connections
/// with a time limit, whole writes. IPv4 addresses are in network byte order.
enum LivenessSocket {
    /// A socket listening on every address at a port the kernel picks: (descriptor, port).
    static func listen() throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CommError("liveness: socket() failed: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = 0  // INADDR_ANY
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { s -> Bool in
                bind(fd, s, length) == 0 && Glibc.listen(fd, SOMAXCONN) == 0 && getsockname(fd, s, &length) == 0
            }
        }
        guard bound else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw CommError("liveness: cannot listen on a TCP port: \(why)")
        }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    /// This host's IPv4 addresses (up, not loopback) that the job's network
    /// allows: Open MPI's `btl_tcp_if_include` (else `oob_tcp_if_include`)
    /// as mpirun passes it to the ranks (`OMPI_MCA_…`), a comma-separated
    /// list of interface names and CIDR blocks; every address when neither is set.
    static func localAddresses(environment: [String: String] = ProcessInfo.processInfo.environment) -> [UInt32] {
        let include = (environment["OMPI_MCA_btl_tcp_if_include"] ?? environment["OMPI_MCA_oob_tcp_if_include"])?
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var list: UnsafeMutablePointer<ifaddrs>? = nil
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var out: [UInt32] = []
        var next = list
        while let entry = next {
            defer { next = entry.pointee.ifa_next }
            guard let sa = entry.pointee.ifa_addr, Int32(sa.pointee.sa_family) == AF_INET,
                  entry.pointee.ifa_flags & UInt32(IFF_UP) != 0,
                  entry.pointee.ifa_flags & UInt32(IFF_LOOPBACK) == 0 else { continue }
            let address = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
            let name = String(cString: entry.pointee.ifa_name)
            if let include, !include.contains(where: { $0 == name || inBlock(address, $0) }) { continue }
            if !out.contains(address) { out.append(address) }
        }
        return out
    }

    /// Whether `address` lies in `block` ("198.18.1.0/24"); false for anything that is not such a block.
    static func inBlock(_ address: UInt32, _ block: String) -> Bool {
        let parts = block.split(separator: "/")
        guard parts.count == 2, let bits = Int(parts[1]), (0...32).contains(bits) else { return false }
        var base = in_addr()
        guard inet_pton(AF_INET, String(parts[0]), &base) == 1 else { return false }
        let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
        return UInt32(bigEndian: address) & mask == UInt32(bigEndian: base.s_addr) & mask
    }

    /// "198.18.1.2" for a network-order address.
    static func text(_ address: UInt32) -> String {
        var a = in_addr(s_addr: address)
        var buffer = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        guard inet_ntop(AF_INET, &a, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A connected socket to `address`:`port`, or nil when none is made within `timeout` seconds.
    static func connect(to address: UInt32, port: UInt16, timeout: Double) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        let flags = fcntl(fd, F_GETFL, 0)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = port.bigEndian
        target.sin_addr.s_addr = address
        let rc = withUnsafePointer(to: &target) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var connected = rc == 0
        if !connected && errno == EINPROGRESS {
            var waiting = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            if poll(&waiting, 1, Int32(timeout * 1000)) == 1 {
                var error: Int32 = 0
                var size = socklen_t(MemoryLayout<Int32>.size)
                connected = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error == 0
            }
        }
        guard connected else { close(fd); return nil }
        _ = fcntl(fd, F_SETFL, flags)
        return fd
    }

    /// Writes every byte of `bytes` (MSG_NOSIGNAL: a closed peer is an error, not SIGPIPE); false on failure.
    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    /// Reads exactly `count` bytes, waiting at most `timeout` seconds; nil on end, error or time-out.
    static func readExactly(_ fd: Int32, _ count: Int, timeout: Double) -> [UInt8]? {
        var out: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        while out.count < count {
            let left = deadline.timeIntervalSinceNow
            var waiting = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard left > 0, poll(&waiting, 1, Int32(left * 1000) + 1) == 1 else { return nil }
            var chunk = [UInt8](repeating: 0, count: count - out.count)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            out += chunk[0..<n]
        }
        return out
    }
}
