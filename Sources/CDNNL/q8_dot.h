// Q8_0 × Q8_0 dot products, as llama.cpp's ggml_vec_dot_q8_0_q8_0 computes
// them: the activation row is quantized to blocks of 32 int8 values with one
// float scale each (tessera_q8_quantize_row), and each block's product with a
// weight block is an exact int32 sum Σ q_w·q_x, scaled once by d_w·d_x:
//
//     y = Σ_b d_w[b] · d_x[b] · Σ_j q_w[b,j] · q_x[b,j]
//
// The int32 sums run on AVX-512 VNNI (vpdpbusd, 64 products an instruction)
// where the build targets it, AVX-VNNI or AVX2 (vpmaddubsw) otherwise, and
// plain C elsewhere; every path gives the same int32 block sums, and the
// float sums differ only in the order blocks are added. Compiled for the
// build's target CPU (Package.swift: -target-cpu native in release).
//
// Rows are whole blocks: a row of `cols` values takes ceil(cols/32) blocks,
// the last padded with zero quants (Q8Matrix pads its weights the same way).
#include <stdint.h>
#include <math.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

/// The kernel compiled into this build: 3 AVX-512 VNNI, 2 AVX-VNNI, 1 AVX2, 0 plain C.
static inline int tessera_q8_dot_isa(void) {
#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512DQ__)
    return 3;
#elif defined(__AVXVNNI__)
    return 2;
#elif defined(__AVX2__)
    return 1;
#else
    return 0;
#endif
}

/// Quantizes x [cols] to `blocks` blocks (blocks·32 ≥ cols; the rest is zero):
/// d = max|x| / 127 per block, q = round(x / d) half away from zero (llama.cpp's
/// quantize_row_q8_0_ref, with d kept in float32 rather than half). Writes q
/// [blocks·32] and d [blocks].
static inline void tessera_q8_quantize_row(const float *x, long cols, long blocks, int8_t *q, float *d) {
    for (long b = 0; b < blocks; b++) {
        const long start = 32 * b;
        const long count = cols - start < 32 ? (cols - start > 0 ? cols - start : 0) : 32;
        float v[32];
        for (int j = 0; j < 32; j++) v[j] = j < count ? x[start + j] : 0.0f;
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(v[j]));
        const float scale = amax / 127.0f, inverse = scale != 0 ? 1.0f / scale : 0.0f;
        for (int j = 0; j < 32; j++) q[start + j] = (int8_t)roundf(v[j] * inverse);
        d[b] = scale;
    }
}

/// The int32 sum Σ_j a[j]·b[j] of one block of 32 (plain C; the reference the vector paths equal).
static inline int32_t tessera_q8_block_sum(const int8_t *a, const int8_t *b) {
    int32_t s = 0;
    for (int j = 0; j < 32; j++) s += (int32_t)a[j] * (int32_t)b[j];
    return s;
}

#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512DQ__)
/// Two blocks' products in one zmm: lanes 0-7 sum to block 0's int32 total,
/// 8-15 to block 1's. vpdpbusd multiplies unsigned by signed bytes, so |w| is
/// the unsigned operand and x takes w's sign (x negated where w < 0).
static inline __m512 tessera_q8_pair(__m512i aw, __mmask64 negative, const int8_t *x) {
    const __m512i xv = _mm512_loadu_si512((const void *)x);
    const __m512i sx = _mm512_mask_sub_epi8(xv, negative, _mm512_setzero_si512(), xv);
    return _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(_mm512_setzero_si512(), aw, sx));
}

static inline __m512 tessera_q8_two_scales(const float *s) {
    return _mm512_insertf32x8(_mm512_set1_ps(s[0]), _mm256_set1_ps(s[1]), 1);
}
#elif defined(__AVX2__)
/// One block's products as 8 int32 lanes summing to its total (|w| unsigned, x with w's sign).
static inline __m256 tessera_q8_one(__m256i aw, __m256i w, const int8_t *x) {
    const __m256i sx = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)x), w);
#if defined(__AVXVNNI__)
    const __m256i sums = _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), aw, sx);
#else
    // |w|·x pairs summed to int16 (at most 2·127·127, no saturation), then pairs of those to int32.
    const __m256i sums = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sx), _mm256_set1_epi16(1));
#endif
    return _mm256_cvtepi32_ps(sums);
}
#endif

/// y[i] = Σ_b sw[b]·sx[i·blocks + b]·Σ_j qw[32b+j]·qx[i·ldx + 32b+j] for the
/// m (1...4) quantized activation rows at qx (row stride ldx bytes, scales
/// sx [m, blocks]) and one weight row qw [blocks·32], sw [blocks]: each weight
/// block is loaded once for all m rows.
static inline void tessera_q8q8_dot_rows(const int8_t *qw, const float *sw, const int8_t *qx, long ldx,
                                         const float *sx, int m, long blocks, float *y) {
#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512DQ__)
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    long b = 0;
    for (; b + 2 <= blocks; b += 2) {
        const __m512i w = _mm512_loadu_si512((const void *)(qw + 32 * b));
        const __m512i aw = _mm512_abs_epi8(w);
        const __mmask64 negative = _mm512_movepi8_mask(w);
        const __m512 ws = tessera_q8_two_scales(sw + b);
        for (int i = 0; i < m; i++) {
            const __m512 p = tessera_q8_pair(aw, negative, qx + i * ldx + 32 * b);
            acc[i] = _mm512_fmadd_ps(_mm512_mul_ps(p, ws), tessera_q8_two_scales(sx + i * blocks + b), acc[i]);
        }
    }
    for (int i = 0; i < m; i++) y[i] = _mm512_reduce_add_ps(acc[i]);
    if (b < blocks) {  // an odd last block
        for (int i = 0; i < m; i++)
            y[i] += sw[b] * sx[i * blocks + b] * (float)tessera_q8_block_sum(qw + 32 * b, qx + i * ldx + 32 * b);
    }
#elif defined(__AVX2__)
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (long b = 0; b < blocks; b++) {
        const __m256i w = _mm256_loadu_si256((const __m256i *)(qw + 32 * b));
        const __m256i aw = _mm256_sign_epi8(w, w);
        for (int i = 0; i < m; i++) {
            const __m256 p = tessera_q8_one(aw, w, qx + i * ldx + 32 * b);
            acc[i] = _mm256_fmadd_ps(p, _mm256_set1_ps(sw[b] * sx[i * blocks + b]), acc[i]);
        }
    }
    for (int i = 0; i < m; i++) {
        const __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc[i]), _mm256_extractf128_ps(acc[i], 1));
        const __m128 q = _mm_add_ps(h, _mm_movehl_ps(h, h));
        y[i] = _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
    }
#else
    for (int i = 0; i < m; i++) {
        float s = 0;
        for (long b = 0; b < blocks; b++)
            s += sw[b] * sx[i * blocks + b] * (float)tessera_q8_block_sum(qw + 32 * b, qx + i * ldx + 32 * b);
        y[i] = s;
    }
#endif
}
