// bf16 × bf16 dot products with float32 sums, for products of a few rows
// (batch-1 decode under --weights bf16), where a matrix-product call costs
// more than the weights it reads: y[i] = Σ_j x[i,j]·w[j] over bf16 values,
// each product exact in float32 (8-bit significands), summed in float32.
// AVX512_BF16's vdpbf16ps where the build targets it (32 products an
// instruction), else each bf16 widened to float32 (its 16 bits shifted up)
// and fused multiply-adds; the paths differ only in the order of the sums.
#include <stdint.h>
#if defined(__AVX512BF16__) && defined(__AVX512F__)
#include <immintrin.h>
#endif

/// The kernel compiled into this build: 1 AVX512_BF16, 0 float32 widening.
static inline int tessera_bf16_dot_isa(void) {
#if defined(__AVX512BF16__) && defined(__AVX512F__)
    return 1;
#else
    return 0;
#endif
}

static inline float tessera_bf16_value(uint16_t b) {
    union { uint32_t u; float f; } v = {(uint32_t)b << 16};
    return v.f;
}

/// y[i] = Σ_j x[i·ldx + j]·w[j] for j < k and the m (1...4) bf16 rows at x
/// (row stride ldx) against one bf16 weight row w: each weight vector
/// loaded once for all m rows.
static inline void tessera_bf16_dot_rows(const uint16_t *w, const uint16_t *x, long ldx, int m, long k, float *y) {
    long j = 0;
    float tail[4] = {0, 0, 0, 0};
#if defined(__AVX512BF16__) && defined(__AVX512F__)
    // Accumulators in named registers (an array indexed by a run-time row
    // would live on the stack); one row, the decode step's case, takes two
    // so consecutive vdpbf16ps do not wait on each other.
    if (m == 1) {
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        for (; j + 64 <= k; j += 64) {
            a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_loadu_si512((const void *)(x + j)),
                                  (__m512bh)_mm512_loadu_si512((const void *)(w + j)));
            a1 = _mm512_dpbf16_ps(a1, (__m512bh)_mm512_loadu_si512((const void *)(x + j + 32)),
                                  (__m512bh)_mm512_loadu_si512((const void *)(w + j + 32)));
        }
        for (; j + 32 <= k; j += 32)
            a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_loadu_si512((const void *)(x + j)),
                                  (__m512bh)_mm512_loadu_si512((const void *)(w + j)));
        tail[0] = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    } else {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (; j + 32 <= k; j += 32) {
            const __m512bh wv = (__m512bh)_mm512_loadu_si512((const void *)(w + j));
            a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_loadu_si512((const void *)(x + j)), wv);
            a1 = _mm512_dpbf16_ps(a1, (__m512bh)_mm512_loadu_si512((const void *)(x + ldx + j)), wv);
            if (m > 2) a2 = _mm512_dpbf16_ps(a2, (__m512bh)_mm512_loadu_si512((const void *)(x + 2 * ldx + j)), wv);
            if (m > 3) a3 = _mm512_dpbf16_ps(a3, (__m512bh)_mm512_loadu_si512((const void *)(x + 3 * ldx + j)), wv);
        }
        tail[0] = _mm512_reduce_add_ps(a0);
        tail[1] = _mm512_reduce_add_ps(a1);
        if (m > 2) tail[2] = _mm512_reduce_add_ps(a2);
        if (m > 3) tail[3] = _mm512_reduce_add_ps(a3);
    }
#else
    typedef float f32x16 __attribute__((vector_size(64), aligned(4)));
    typedef uint16_t u16x16 __attribute__((vector_size(32), aligned(2)));
    typedef uint32_t u32x16 __attribute__((vector_size(64), aligned(4)));
    f32x16 acc[4] = {{0}, {0}, {0}, {0}};
    for (; j + 16 <= k; j += 16) {
        u32x16 wb = __builtin_convertvector(*(const u16x16 *)(w + j), u32x16) << 16;
        const f32x16 wv = (f32x16)wb;
        for (int i = 0; i < m; i++) {
            u32x16 xb = __builtin_convertvector(*(const u16x16 *)(x + i * ldx + j), u32x16) << 16;
            acc[i] += (f32x16)xb * wv;
        }
    }
    for (int i = 0; i < m; i++)
        for (int l = 0; l < 16; l++) tail[i] += acc[i][l];
#endif
    for (int i = 0; i < m; i++) {
        float s = tail[i];
        for (long t = j; t < k; t++) s += tessera_bf16_value(x[i * ldx + t]) * tessera_bf16_value(w[t]);
        y[i] = s;
    }
}
