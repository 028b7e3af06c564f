import Foundation
import TesseraKernels

/// Every collective in every dtype against values computed directly; part
/// of `CommSelfTest.run`, so it runs on rank threads (the Swift tests) and
/// under `mpirun` (`tessera check comm`, `scripts/test_mpi.sh`).
///
/// Element values are small integers, so every partial sum is exact in every
/// dtype and the expected results do not depend on the order a backend
/// combines ranks in, at any group size: −20…29 (float32 and int32 hold any
/// sum of them exactly); for int64 the same plus q·2³² (beyond int32, and
/// every sum of up to 2¹⁰ ranks stays under 2⁵³, where Double, which the
/// checks compute in, is exact); for bf16 −1, 0 or 1 from the first 256
/// ranks and 0 from the rest, so no partial sum exceeds 256 = 2⁸, the
/// largest range in which bf16 holds every integer.
/// bf16's rounding is checked on its own with two ranks, where there is only
/// one order: 1 + 3·2⁻⁹ rounds to 1 + 2⁻⁷.
enum TypedCommSelfTest {
    /// A typed array for the checks: `count` elements of `dtype`, read and written as Double.
    final class Elements {
        let dtype: DType, count: Int, raw: UnsafeMutableRawPointer

        init(_ dtype: DType, count: Int) {
            self.dtype = dtype
            self.count = count
            raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * dtype.size, alignment: 64)
            raw.initializeMemory(as: UInt8.self, repeating: 0, count: max(1, count) * dtype.size)
        }
        convenience init(_ dtype: DType, _ values: [Double]) {
            self.init(dtype, count: values.count)
            for (i, v) in values.enumerated() { self[i] = v }
        }
        deinit { raw.deallocate() }

        var buffer: CommBuffer { CommBuffer(raw, dtype, count: count) }
        var values: [Double] { (0..<count).map { self[$0] } }

        subscript(i: Int) -> Double {
            get {
                switch dtype {
                case .float32: Double(raw.load(fromByteOffset: 4 * i, as: Float.self))
                case .bfloat16: Double(ElementReduction.widen(raw.load(fromByteOffset: 2 * i, as: UInt16.self)))
                case .int32: Double(raw.load(fromByteOffset: 4 * i, as: Int32.self))
                case .int64: Double(raw.load(fromByteOffset: 8 * i, as: Int64.self))
                }
            }
            set {
                switch dtype {
                case .float32: raw.storeBytes(of: Float(newValue), toByteOffset: 4 * i, as: Float.self)
                case .bfloat16: raw.storeBytes(of: BF16.bits(Float(newValue)), toByteOffset: 2 * i, as: UInt16.self)
                case .int32: raw.storeBytes(of: Int32(newValue), toByteOffset: 4 * i, as: Int32.self)
                case .int64: raw.storeBytes(of: Int64(newValue), toByteOffset: 8 * i, as: Int64.self)
                }
            }
        }
    }

    /// Rank q's value at index i in `dtype`: a small integer, exact in every dtype and every partial sum.
    static func value(_ q: Int, _ i: Int, _ dtype: DType) -> Double {
        switch dtype {
        case .bfloat16: return q < 256 ? Double((q * 7 + i * 3) % 3 - 1) : 0
        case .int64: return Double((q * 7 + i * 3) % 50 - 20) + Double(q) * 4_294_967_296
        case .float32, .int32: return Double((q * 7 + i * 3) % 50 - 20)
        }
    }

    static func values(_ q: Int, _ range: Range<Int>, _ dtype: DType) -> [Double] { range.map { value(q, $0, dtype) } }

    /// Runs the typed checks on `g` (called by all its members); `expect` records each.
    static func run(_ g: ProcessGroup, _ label: String, _ expect: (Bool, String) -> Void) throws {
        let p = g.size, r = g.rank
        // Send buffers made inline live until the end: the thread backend's peers read them directly.
        var alive: [Elements] = []
        defer { withExtendedLifetime(alive) {} }
        func send(_ d: DType, _ values: [Double]) -> CommBuffer {
            alive.append(Elements(d, values))
            return alive.last!.buffer
        }
        func sum(_ i: Int, _ d: DType) -> Double { (0..<p).reduce(0) { $0 + value($1, i, d) } }
        func maximum(_ i: Int, _ d: DType) -> Double { (0..<p).map { value($0, i, d) }.max()! }
        for d in DType.allCases {
            let tag = "\(label) \(d)", n = 10
            let s = Elements(d, values(r, 0..<n, d)), m = Elements(d, values(r, 0..<n, d))
            try g.allReduce(s.buffer, op: .sum)
            try g.allReduce(m.buffer, op: .max)
            expect(s.values == (0..<n).map { sum($0, d) }, "\(tag) allReduce sum: \(s.values)")
            expect(m.values == (0..<n).map { maximum($0, d) }, "\(tag) allReduce max: \(m.values)")
            let started = Elements(d, values(r, 0..<7, d))
            let request = try g.startAllReduce(started.buffer, op: .sum)
            try request.wait()
            expect(started.values == (0..<7).map { sum($0, d) }, "\(tag) startAllReduce: \(started.values)")
            if d == .bfloat16 || d == .float32 {
                let a = Elements(d, values(r, 0..<n, d))
                try g.allReduce(a.buffer, op: .average)
                let want = (0..<n).map { i in Elements(d, [Double(Float(sum(i, d)) * (1 / Float(p)))])[0] }
                expect(a.values == want, "\(tag) allReduce average: \(a.values), want \(want)")
            } else {
                var refused = false
                do { try g.allReduce(send(d, [1, 2]), op: .average) } catch { refused = "\(error)".contains("average") }
                expect(refused, "\(tag) average of integers is refused")
            }
            let gathered = Elements(d, count: 3 * p)
            try g.allGather(send(d, values(r, 0..<3, d)), into: gathered.buffer)
            expect(gathered.values == (0..<p).flatMap { values($0, 0..<3, d) }, "\(tag) allGather: \(gathered.values)")
            let total = 11, mine = g.chunk(r, of: total), part = Elements(d, count: mine.count)
            try g.reduceScatter(send(d, values(r, 0..<total, d)), into: part.buffer, op: .sum)
            expect(part.values == mine.map { sum($0, d) }, "\(tag) reduceScatter into chunk \(mine): \(part.values)")
            let swapped = Elements(d, count: 2 * p)
            try g.allToAll(send(d, values(r, 0..<(2 * p), d)), into: swapped.buffer)
            expect(swapped.values == (0..<p).flatMap { values($0, (2 * r)..<(2 * r + 2), d) }, "\(tag) allToAll: \(swapped.values)")
            // Variable splits: rank r sends q + r + 1 elements to rank q, starting at index 10·q.
            let sendCounts = (0..<p).map { $0 + r + 1 }, recvCounts = (0..<p).map { r + $0 + 1 }
            let payload = (0..<p).flatMap { q in values(r, (10 * q)..<(10 * q + sendCounts[q]), d) }
            let varied = Elements(d, count: recvCounts.reduce(0, +))
            try g.allToAll(send(d, payload), sendCounts: sendCounts, into: varied.buffer, recvCounts: recvCounts)
            expect(varied.values == (0..<p).flatMap { q in values(q, (10 * r)..<(10 * r + recvCounts[q]), d) },
                   "\(tag) allToAll with variable counts: \(varied.values)")
            let b = Elements(d, values(r, 0..<4, d))
            try g.broadcast(b.buffer, root: p - 1)
            expect(b.values == values(p - 1, 0..<4, d), "\(tag) broadcast from \(p - 1): \(b.values)")
            // The started forms, four in flight at once, waited for in reverse order.
            let startedGather = Elements(d, count: 3 * p), startedPart = Elements(d, count: mine.count)
            let startedSwap = Elements(d, count: 2 * p), startedRoot = Elements(d, values(r, 0..<4, d))
            let requests = [
                try g.startAllGather(send(d, values(r, 0..<3, d)), into: startedGather.buffer),
                try g.startReduceScatter(send(d, values(r, 0..<total, d)), into: startedPart.buffer, op: .sum),
                try g.startAllToAll(send(d, values(r, 0..<(2 * p), d)), into: startedSwap.buffer),
                try g.startBroadcast(startedRoot.buffer, root: 0),
            ]
            for request in requests.reversed() { try request.wait() }
            expect(startedGather.values == gathered.values, "\(tag) startAllGather: \(startedGather.values)")
            expect(startedPart.values == part.values, "\(tag) startReduceScatter: \(startedPart.values)")
            expect(startedSwap.values == swapped.values, "\(tag) startAllToAll: \(startedSwap.values)")
            expect(startedRoot.values == values(0, 0..<4, d), "\(tag) startBroadcast from 0: \(startedRoot.values)")
            if p > 1 {
                let next = (r + 1) % p, prev = (r + p - 1) % p, inbox = Elements(d, count: 5)
                try g.sendRecv(send(d, values(r, 0..<5, d)), to: next, into: inbox.buffer, from: prev, tag: 7)
                expect(inbox.values == values(prev, 0..<5, d), "\(tag) send/recv ring: \(inbox.values)")
            }
        }
        if p == 2 {  // bf16 rounding of a sum: 1 + 3·2⁻⁹ is 1 + 0.75 ulp, which rounds to 1 + 2⁻⁷.
            let x = Elements(.bfloat16, [r == 0 ? 1 : 3.0 / 512, r == 0 ? -2 : -3.0 / 256])
            try g.allReduce(x.buffer, op: .sum)
            let want = [Double(BF16.rounded(1 + 3.0 / 512)), Double(BF16.rounded(-2 - 3.0 / 256))]
            expect(x.values == want && want[0] == 1 + 1.0 / 128, "\(label) bfloat16 sum rounds to nearest: \(x.values), want \(want)")
        }
    }
}
