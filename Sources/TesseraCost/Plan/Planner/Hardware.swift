import TesseraSupport
import TesseraKernels

/// A link's α–β figures: a message of S bytes takes `latency` + S / `bandwidth` seconds.
public struct Link: Sendable, Equatable, Codable {
    /// Bytes per second, one direction, per device.
    public var bandwidth: Double
    /// Seconds per message (per ring step).
    public var latency: Double
    public init(bandwidth: Double, latency: Double) { self.bandwidth = bandwidth; self.latency = latency }
}

/// The machine a plan is for: one device's memory and matrix-product rate,
/// its memory bandwidth (elementwise kernels, the optimizer), and the links
/// inside a node and between nodes.
public struct Hardware: Sendable, Equatable, Codable {
    public var name: String
    /// Memory of one device in bytes.
    public var memoryBytes: Double
    /// Peak matrix-product FLOP/s of one device per precision (datasheet or measured).
    public var peakFlops: [Precision: Double]
    /// Fraction of the peak the largest products reach.
    public var matmulFraction: Double
    /// Hockney's half-performance size: a product m×n×k runs at
    /// peak · fraction / (1 + n½·(1/m + 1/n + 1/k)) (operand traffic over FLOPs).
    public var halfSize: Double
    /// Bytes per second one device streams through its memory.
    public var memoryBandwidth: Double
    public var intraNode: Link, interNode: Link
    /// Devices per node: groups spanning at most this many consecutive ranks use `intraNode`.
    public var gpusPerNode: Int
    /// Ranks are threads sharing this many cores (a profile of this machine),
    /// nil for accelerators: a step then takes at least Σ ranks' busy time / cores.
    public var sharedCores: Int?
    /// A decode step's measured rates (a profile of this machine); nil: the datasheet bounds (memory bandwidth
    /// and the achievable peak) serve, as for the GPU presets.
    public var decode: DecodeRates?

    public init(name: String, memoryBytes: Double, peakFlops: [Precision: Double], matmulFraction: Double,
                halfSize: Double, memoryBandwidth: Double, intraNode: Link, interNode: Link, gpusPerNode: Int,
                sharedCores: Int? = nil, decode: DecodeRates? = nil) {
        self.name = name; self.memoryBytes = memoryBytes; self.peakFlops = peakFlops
        self.matmulFraction = matmulFraction; self.halfSize = halfSize; self.memoryBandwidth = memoryBandwidth
        self.intraNode = intraNode; self.interNode = interNode; self.gpusPerNode = gpusPerNode
        self.sharedCores = sharedCores
        self.decode = decode
    }

    /// Peak FLOP/s at `precision` (the fp32 figure where a profile lacks bf16).
    public func peak(_ precision: Precision) -> Double { peakFlops[precision] ?? peakFlops[.fp32] ?? 0 }

    /// Seconds for a product of m×k by k×n at `precision`.
    public func matmulSeconds(m: Double, n: Double, k: Double, precision: Precision) -> Double {
        guard m > 0, n > 0, k > 0 else { return 0 }
        let efficiency = matmulFraction / (1 + halfSize * (1 / m + 1 / n + 1 / k))
        return 2 * m * n * k / (peak(precision) * efficiency)
    }

    /// Memory one of `gpus` devices has: its own, or its share of the machine's when ranks share it.
    public func memoryPerDevice(gpus: Int) -> Double { sharedCores == nil ? memoryBytes : memoryBytes / Double(gpus) }

    /// The link a group of `span` consecutive-stride ranks crosses.
    public func link(span: Int) -> Link { span <= gpusPerNode ? intraNode : interNode }
}

extension Hardware {
    private static let gib = 1_073_741_824.0

    /// Datasheet figures (dense, no sparsity; "fp32" is TF32 on the tensor
    /// cores, what frameworks use for float32 products) with NVLink within a
    /// node of 8 and one InfiniBand NIC per GPU between nodes. The achievable
    /// fraction (0.8) and n½ (128) are the planner's assumptions, not measured.
    public static let presets: [Hardware] = [
        // A100 SXM 40 GB: 312 TFLOP/s bf16, 156 TF32, 1555 GB/s HBM2, NVLink3 300 GB/s per direction, HDR 200 Gb/s.
        gpu("a100-40", memory: 40 * gib, bf16: 312e12, fp32: 156e12, hbm: 1555e9, nvlink: 300e9, nic: 25e9),
        // A100 SXM 80 GB: 2039 GB/s HBM2e.
        gpu("a100-80", memory: 80 * gib, bf16: 312e12, fp32: 156e12, hbm: 2039e9, nvlink: 300e9, nic: 25e9),
        // H100 SXM 80 GB: 989 TFLOP/s bf16, 495 TF32, 3350 GB/s HBM3, NVLink4 450 GB/s per direction, NDR 400 Gb/s.
        gpu("h100", memory: 80 * gib, bf16: 989e12, fp32: 495e12, hbm: 3350e9, nvlink: 450e9, nic: 50e9),
        // H200 SXM 141 GB: H100's compute with 4800 GB/s HBM3e.
        gpu("h200", memory: 141e9, bf16: 989e12, fp32: 495e12, hbm: 4800e9, nvlink: 450e9, nic: 50e9),
    ]

    static func gpu(_ name: String, memory: Double, bf16: Double, fp32: Double, hbm: Double, nvlink: Double,
                    nic: Double) -> Hardware {
        Hardware(name: name, memoryBytes: memory, peakFlops: [.bf16: bf16, .fp32: fp32], matmulFraction: 0.8,
                 halfSize: 128, memoryBandwidth: hbm, intraNode: Link(bandwidth: nvlink, latency: 3e-6),
                 interNode: Link(bandwidth: nic, latency: 8e-6), gpusPerNode: 8)
    }

    /// The preset called `name`; a `ConfigError` listing the presets otherwise.
    public static func preset(_ name: String) throws -> Hardware {
        guard let h = presets.first(where: { $0.name == name.lowercased() }) else {
            throw ConfigError("unknown gpu '\(name)'; valid gpus: \(presets.map(\.name).joined(separator: ", ")) "
                              + "(or --gpu-memory/--gpu-tflops/--intra-node-gbps/--inter-node-gbps, or --hardware FILE)")
        }
        return h
    }
}
