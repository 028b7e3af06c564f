import Foundation
import Synchronization

/// A contiguous, row-major float32 array with a shape, 64-byte aligned so
/// vector loads never split cache lines. Tensors are reference types: a layer
/// cache keeps the activations it needs alive, and dropping the cache frees
/// them. A tensor may instead view part of a `FlatBuffer` (a parameter's
/// value or gradient inside its bucket), which it keeps alive.
public final class Tensor: @unchecked Sendable {
    /// Sizes of each dimension, outermost first.
    public let shape: [Int]
    /// Number of elements (product of `shape`).
    public let count: Int
    /// The storage; valid for `count` elements while the tensor lives.
    public let data: UnsafeMutablePointer<Float>

    /// Where the storage comes from and goes back to.
    private enum Storage {
        /// `TensorPool` (activations: the same shapes come back every step).
        case pooled
        /// malloc'd and freed with the tensor (short-lived one-offs the pool should not keep).
        case owned
        /// Part of a buffer, kept alive by the view.
        case view(FlatBuffer)
        /// None: the address range is reserved inaccessible (`init(released:)`).
        case released
    }
    private let storage: Storage

    /// A tensor of `shape`, filled with zeros.
    public convenience init(_ shape: [Int]) {
        self.init(uninitialized: shape)
        data.update(repeating: 0, count: count)
    }

    /// A tensor of `shape` whose contents are unspecified: for outputs a
    /// kernel overwrites completely (saves a memset per activation).
    public convenience init(uninitialized shape: [Int]) {
        self.init(uninitialized: shape, pooled: true)
    }

    /// A zeroed tensor of `shape` whose storage is freed with it rather
    /// than kept in `TensorPool` (a parameter's storage before a
    /// `ParameterStore` moves it into a bucket).
    public convenience init(unpooled shape: [Int]) {
        self.init(uninitialized: shape, pooled: false)
        data.update(repeating: 0, count: count)
    }

    private init(uninitialized shape: [Int], pooled: Bool) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        data = (pooled ? TensorPool.take(bytes: bytes) : TensorPool.allocate(bytes: bytes))
            .bindMemory(to: Float.self, capacity: max(count, 1))
        storage = pooled ? .pooled : .owned
    }

    /// A view of `shape` on float32 `buffer` from element `offset` (no copy;
    /// writes go to the buffer).
    public init(viewing buffer: FlatBuffer, at offset: Int, shape: [Int]) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        precondition(offset >= 0 && offset + count <= buffer.count,
                     "Tensor view [\(offset), \(offset + count)) outside a buffer of \(buffer.count)")
        data = buffer.floats + offset
        storage = .view(buffer)
    }

    /// A tensor of `shape` with no storage: a parameter whose value or
    /// gradient lives elsewhere for now (a ZeRO shard). Its address is in a
    /// range reserved without access, so a read or write before the storage
    /// comes back faults at once instead of using stale numbers.
    public init(released shape: [Int]) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        precondition(count * MemoryLayout<Float>.stride <= ReleasedRange.bytes, "released tensor of \(count) elements")
        data = ReleasedRange.start
        storage = .released
    }

    /// A tensor of `shape` holding `values` (row-major; count must match).
    public convenience init(_ shape: [Int], _ values: [Float]) {
        self.init(uninitialized: shape)
        load(values)
    }

    deinit {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        switch storage {
        case .view, .released: return
        case .owned: return free(data)
        case .pooled: break
        }
        TensorPool.give(UnsafeMutableRawPointer(data), bytes: bytes)
    }

    /// Element `i` in row-major order.
    public subscript(i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }

    /// The elements as a Swift array (a copy).
    public var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// Sets every element to zero.
    public func zero() { data.update(repeating: 0, count: count) }

    /// Copies all elements of `other`, which must have the same count.
    public func copy(from other: Tensor) {
        precondition(other.count == count, "Tensor.copy: \(other.count) vs \(count) elements")
        data.update(from: other.data, count: count)
    }

    /// Overwrites every element with `values` (row-major; count must match).
    public func load(_ values: [Float]) {
        precondition(values.count == count, "Tensor.load: \(values.count) values for \(count) elements")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    /// A new tensor with the same shape and values.
    public func clone() -> Tensor {
        let t = Tensor(uninitialized: shape)
        t.copy(from: self)
        return t
    }

    /// Bytes of storage.
    public var byteCount: Int { count * MemoryLayout<Float>.stride }
}

/// Recycles tensor storage by exact byte size. A training step allocates the
/// same activation shapes every time; handing freed blocks back to the next
/// request avoids returning them to the kernel and faulting fresh zeroed
/// pages in again (which cost several percent of a step). At most
/// `capacityBytes` are kept idle; beyond that blocks are freed.
public enum TensorPool {
    private static let state = Mutex<(blocks: [Int: [UInt]], idle: Int)>(([:], 0))  // addresses by size
    /// Largest number of idle bytes kept for reuse: 2 GiB, or 0 (every block
    /// freed at once, so a memory checker such as AddressSanitizer sees a
    /// tensor used after it was released) when TESSERA_TENSOR_POOL=0.
    public static let capacityBytes = ProcessInfo.processInfo.environment["TESSERA_TENSOR_POOL"] == "0" ? 0 : 2 << 30

    static func take(bytes: Int) -> UnsafeMutableRawPointer {
        let reused: UInt? = state.withLock { s in
            guard let p = s.blocks[bytes]?.popLast() else { return nil }
            s.idle -= bytes
            return p
        }
        if let reused, let p = UnsafeMutableRawPointer(bitPattern: reused) { return p }
        return allocate(bytes: bytes)
    }

    /// A fresh 64-byte-aligned block of `bytes` (released with `free`).
    static func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
            fatalError("Tensor: cannot allocate \(bytes) bytes")
        }
        return raw
    }

    static func give(_ p: UnsafeMutableRawPointer, bytes: Int) {
        let kept = state.withLock { s in
            guard s.idle + bytes <= capacityBytes else { return false }
            s.blocks[bytes, default: []].append(UInt(bitPattern: p))
            s.idle += bytes
            return true
        }
        if !kept { free(p) }
    }

}

/// 256 GiB of address space mapped without access (PROT_NONE, no memory
/// behind it), where released tensors point.
enum ReleasedRange {
    static let bytes = 1 << 38
    nonisolated(unsafe) static let start: UnsafeMutablePointer<Float> = {
        let p = mmap(nil, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let p, p != MAP_FAILED else { fatalError("cannot reserve address space for released tensors") }
        return p.bindMemory(to: Float.self, capacity: 1)
    }()
}
