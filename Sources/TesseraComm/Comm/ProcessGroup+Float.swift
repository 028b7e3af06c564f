import TesseraKernels

/// The float32-pointer forms of every collective: thin conveniences that
/// wrap the pointers in `CommBuffer`s of the sizes each operation implies.
extension ProcessGroup {
    /// In place: buf[i] ← op over ranks of buf[i]. buf: [count], same count on every rank.
    public func allReduce(_ buf: UnsafeMutablePointer<Float>, count: Int, op: ReduceOp) throws {
        try allReduce(CommBuffer(buf, count: count), op: op)
    }
    /// `startAllReduce` of [count] floats.
    public func startAllReduce(_ buf: UnsafeMutablePointer<Float>, count: Int, op: ReduceOp) throws -> CollectiveRequest {
        try startAllReduce(CommBuffer(buf, count: count), op: op)
    }
    /// recv[q·count ..< (q+1)·count] ← send of rank q. send: [count]; recv: [size·count].
    public func allGather(_ send: UnsafePointer<Float>, count: Int, into recv: UnsafeMutablePointer<Float>) throws {
        try allGather(CommBuffer(send, count: count), into: CommBuffer(recv, count: size * count))
    }
    /// send: [total]; recv: [chunk(rank, of: total).count].
    public func reduceScatter(_ send: UnsafePointer<Float>, total: Int, into recv: UnsafeMutablePointer<Float>,
                              op: ReduceOp) throws {
        try reduceScatter(CommBuffer(send, count: total), into: CommBuffer(recv, count: chunk(rank, of: total).count), op: op)
    }
    /// `startAllGather` of [count] floats into [size·count].
    public func startAllGather(_ send: UnsafePointer<Float>, count: Int, into recv: UnsafeMutablePointer<Float>) throws
        -> CollectiveRequest {
        try startAllGather(CommBuffer(send, count: count), into: CommBuffer(recv, count: size * count))
    }
    /// `startReduceScatter` of [total] floats into this rank's chunk.
    public func startReduceScatter(_ send: UnsafePointer<Float>, total: Int, into recv: UnsafeMutablePointer<Float>,
                                   op: ReduceOp) throws -> CollectiveRequest {
        try startReduceScatter(CommBuffer(send, count: total), into: CommBuffer(recv, count: chunk(rank, of: total).count),
                               op: op)
    }
    /// Equal splits: recv[q·count ..< (q+1)·count] ← send_q[rank·count ..< (rank+1)·count].
    /// send, recv: [size·count].
    public func allToAll(_ send: UnsafePointer<Float>, count: Int, into recv: UnsafeMutablePointer<Float>) throws {
        try allToAll(CommBuffer(send, count: size * count), into: CommBuffer(recv, count: size * count))
    }
    /// Variable splits: send: [Σ sendCounts], recv: [Σ recvCounts].
    public func allToAll(_ send: UnsafePointer<Float>, sendCounts: [Int], into recv: UnsafeMutablePointer<Float>,
                         recvCounts: [Int]) throws {
        try allToAll(CommBuffer(send, count: sendCounts.reduce(0, +)), sendCounts: sendCounts,
                     into: CommBuffer(recv, count: recvCounts.reduce(0, +)), recvCounts: recvCounts)
    }
    /// buf ← root's buf. buf: [count].
    public func broadcast(_ buf: UnsafeMutablePointer<Float>, count: Int, root: Int) throws {
        try broadcast(CommBuffer(buf, count: count), root: root)
    }
    /// Sends [count] floats to group rank `peer` with `tag`.
    public func send(_ buf: UnsafePointer<Float>, count: Int, to peer: Int, tag: Int) throws {
        try send(CommBuffer(buf, count: count), to: peer, tag: tag)
    }
    /// Receives [count] floats from group rank `peer` with `tag`.
    public func recv(_ buf: UnsafeMutablePointer<Float>, count: Int, from peer: Int, tag: Int) throws {
        try recv(CommBuffer(buf, count: count), from: peer, tag: tag)
    }
    /// allReduce on a whole tensor.
    public func allReduce(_ t: Tensor, op: ReduceOp = .sum) throws { try allReduce(CommBuffer(t), op: op) }
    /// broadcast of a whole tensor.
    public func broadcast(_ t: Tensor, root: Int) throws { try broadcast(CommBuffer(t), root: root) }
}
