import CDNNL

/// The library behind every matrix product: oneDNN (Debian's `libdnnl-dev`).
///
/// oneDNN reads the CPU's feature flags when it starts and dispatches to the
/// widest kernels the CPU has (AVX2, AVX-512, AVX512_BF16, AMX), so Tessera
/// never chooses a kernel itself and runs at the machine's vector width on
/// any x86-64. `DNNL_MAX_CPU_ISA=AVX2` (or `ONEDNN_MAX_CPU_ISA`) in the
/// environment caps it, which is how the test suite is run on the AVX2 path
/// of an AVX-512 machine. OpenBLAS 0.3.21, the alternative Debian offers,
/// does not recognise Zen 4/5 and falls back to its AVX2 kernel there (half
/// the rate); BENCHMARKS.md has the comparison.
public enum MatrixEngine {
    /// oneDNN's version, e.g. "oneDNN 2.6.3".
    public static let name: String = {
        let v = dnnl_version()!.pointee
        return "oneDNN \(v.major).\(v.minor).\(v.patch)"
    }()

    /// The instruction set oneDNN dispatches to on this CPU, after any cap
    /// from the environment: "avx2", "avx512_core", "avx512_core_bf16", …
    public static let isa: String = {
        switch dnnl_get_effective_cpu_isa() {
        case dnnl_cpu_isa_sse41: return "sse41"
        case dnnl_cpu_isa_avx: return "avx"
        case dnnl_cpu_isa_avx2: return "avx2"
        case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni"
        case dnnl_cpu_isa_avx512_core: return "avx512_core"
        case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni"
        case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16"
        case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx"
        case let other: return "isa 0x" + String(other.rawValue, radix: 16)
        }
    }()

    /// Whether bf16 × bf16 → float32 products run on native bf16 instructions
    /// (oneDNN can build such a product here). Without them, `--precision
    /// bf16` keeps the same numerics by multiplying bf16-rounded float32
    /// values in float32 (exact products, float32 sums), at float32 speed.
    public static var nativeBF16: Bool { BF16MatrixProduct.isAvailable }

    /// One line for `tessera info` and the benchmarks, e.g.
    /// "oneDNN 2.6.3, isa avx2, bf16 emulated (bf16-rounded float32 products)".
    public static var summary: String {
        "\(name), isa \(isa), bf16 " + (nativeBF16 ? "native" : "emulated (bf16-rounded float32 products)")
    }

    /// Makes the calling thread's oneDNN calls use one OpenMP thread. oneDNN
    /// asks OpenMP how many threads the *calling* thread may use, and each
    /// thread has its own setting, so every caller sets it (a store to a
    /// thread-local field): Tessera splits products across its own threads.
    @inline(__always) static func useOneThreadHere() { omp_set_num_threads(1) }
}
