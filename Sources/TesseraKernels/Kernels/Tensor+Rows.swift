extension Tensor {
    /// The rows `indices` of this [rows, columns] tensor, in that order, as a
    /// new [indices.count, columns] tensor (a row may repeat). Used to pick a
    /// contiguous batch for one product: an expert's tokens, a sequence's last
    /// row, a rank's chunk.
    public func gatheringRows<C: Collection>(_ indices: C) -> Tensor where C.Element == Int {
        let columns = shape[1], out = Tensor(uninitialized: [indices.count, columns])
        for (i, r) in indices.enumerated() { (out.data + i * columns).update(from: data + r * columns, count: columns) }
        return out
    }
}
