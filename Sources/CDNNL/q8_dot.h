// Q8_0 × Q8_0 products, as llama.cpp's Q8_0 dot products compute them: the
// activation rows are quantized to blocks of 32 int8 values with one float
// scale each (tessera_q8_quantize_row), and each block's product with a
// weight block is an exact int32 sum Σ q_w·q_x, scaled once by d_w·d_x:
//
//     y = Σ_b d_w[b] · d_x[b] · Σ_j q_w[b,j] · q_x[b,j]
//
// Weights are tile-interleaved (Q8Matrix): rows in tiles of 16, and within
// a tile each block of 32 weights is 8 groups of 64 bytes, group g holding
// bytes 4g..4g+3 of the block for each of the 16 rows (row l at 4l..4l+3),
// stored +128 as unsigned bytes. On AVX-512 VNNI one vpdpbusd of a group by
// 4 activation bytes broadcast to every lane adds those 4 products to all
// 16 rows' int32 sums at once, so a block takes 8 of them, no horizontal
// sums; its sums are Σ_j (q_w + 128)·q_x = Σ_j q_w·q_x + 128·Σ_j q_x, and the
// activation block's 128·Σ q_x (kept with its quants) is taken off first.
// AVX2 takes the weights back to signed and uses vpmaddubsw; plain C
// elsewhere. Every path gives the same int32 block sums; float sums may
// differ in the last bit between paths (fused or separate multiply-adds).
// Compiled for the build's target CPU (Package.swift: -target-cpu native
// in release).
#include <stdint.h>
#include <math.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

/// The kernel compiled into this build: 2 AVX-512 VNNI, 1 AVX2, 0 plain C.
static inline int tessera_q8_dot_isa(void) {
#if defined(__AVX512VNNI__) && defined(__AVX512F__)
    return 2;
#elif defined(__AVX2__) && defined(__FMA__)
    return 1;
#else
    return 0;
#endif
}

/// Quantizes x [cols] to `blocks` blocks (blocks·32 ≥ cols; the rest is zero):
/// d = max|x| / 127 per block, q = round(x / d) half away from zero (llama.cpp's
/// quantize_row_q8_0_ref, with d kept in float32 rather than half). Writes q
/// [blocks·32], d [blocks] and c [blocks] = 128·Σ q per block.
static inline void tessera_q8_quantize_row(const float *x, long cols, long blocks, int8_t *q, float *d, int32_t *c) {
    for (long b = 0; b < blocks; b++) {
        const long start = 32 * b;
        const long count = cols - start < 32 ? (cols - start > 0 ? cols - start : 0) : 32;
        float v[32];
        for (int j = 0; j < 32; j++) v[j] = j < count ? x[start + j] : 0.0f;
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(v[j]));
        const float scale = amax / 127.0f, inverse = scale != 0 ? 1.0f / scale : 0.0f;
        int32_t sum = 0;
        for (int j = 0; j < 32; j++) {
            q[start + j] = (int8_t)roundf(v[j] * inverse);
            sum += q[start + j];
        }
        d[b] = scale;
        c[b] = 128 * sum;
    }
}

/// Rows per weight tile.
enum { TESSERA_Q8_TILE = 16 };

/// Where value j (< 32) of block b of row l (< 16) of a tile sits in the tile's quants.
static inline long tessera_q8_tile_offset(long b, int l, int j) {
    return b * 512 + (j / 4) * 64 + l * 4 + (j % 4);
}

/// y[i·ldy + l] (+)= Σ_b ws[16b + l] · xs[i·blocks + b] · Σ_j q_w[l,b,j] · xq[i·ldx + 32b + j]
/// for the rows l < rows (≤ 16) of one tile (wq: blocks · 512 bytes, ws: blocks · 16
/// scales) and the m activation rows at xq (row stride ldx bytes; xs, xc [m, blocks]:
/// their scales and 128·Σ q per block).
static inline void tessera_q8_tile(const uint8_t *wq, const float *ws, long blocks, const int8_t *xq, long ldx,
                                   const float *xs, const int32_t *xc, int m, float *y, long ldy, int rows,
                                   int accumulate) {
#if defined(__AVX512VNNI__) && defined(__AVX512F__)
    const __mmask16 keep = (__mmask16)((1u << rows) - 1);
    int i = 0;
    for (; i + 4 <= m; i += 4) {  // 4 activation rows share each weight load
        __m512 f0 = _mm512_setzero_ps(), f1 = f0, f2 = f0, f3 = f0;
        const int8_t *x0 = xq + i * ldx, *x1 = x0 + ldx, *x2 = x1 + ldx, *x3 = x2 + ldx;
        const float *s0p = xs + i * blocks;
        const int32_t *c0p = xc + i * blocks;
        for (long b = 0; b < blocks; b++) {
            const uint8_t *w = wq + b * 512;
            __m512i s0 = _mm512_set1_epi32(-c0p[b]), s1 = _mm512_set1_epi32(-c0p[blocks + b]);
            __m512i s2 = _mm512_set1_epi32(-c0p[2 * blocks + b]), s3 = _mm512_set1_epi32(-c0p[3 * blocks + b]);
            for (int g = 0; g < 8; g++) {
                const __m512i wv = _mm512_loadu_si512((const void *)(w + 64 * g));
                s0 = _mm512_dpbusd_epi32(s0, wv, _mm512_set1_epi32(*(const int32_t *)(x0 + 32 * b + 4 * g)));
                s1 = _mm512_dpbusd_epi32(s1, wv, _mm512_set1_epi32(*(const int32_t *)(x1 + 32 * b + 4 * g)));
                s2 = _mm512_dpbusd_epi32(s2, wv, _mm512_set1_epi32(*(const int32_t *)(x2 + 32 * b + 4 * g)));
                s3 = _mm512_dpbusd_epi32(s3, wv, _mm512_set1_epi32(*(const int32_t *)(x3 + 32 * b + 4 * g)));
            }
            const __m512 d = _mm512_loadu_ps(ws + 16 * b);
            f0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s0), _mm512_mul_ps(d, _mm512_set1_ps(s0p[b])), f0);
            f1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s1), _mm512_mul_ps(d, _mm512_set1_ps(s0p[blocks + b])), f1);
            f2 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s2), _mm512_mul_ps(d, _mm512_set1_ps(s0p[2 * blocks + b])), f2);
            f3 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s3), _mm512_mul_ps(d, _mm512_set1_ps(s0p[3 * blocks + b])), f3);
        }
        float *out = y + i * ldy;
        _mm512_mask_storeu_ps(out, keep, accumulate ? _mm512_add_ps(_mm512_maskz_loadu_ps(keep, out), f0) : f0);
        out += ldy;
        _mm512_mask_storeu_ps(out, keep, accumulate ? _mm512_add_ps(_mm512_maskz_loadu_ps(keep, out), f1) : f1);
        out += ldy;
        _mm512_mask_storeu_ps(out, keep, accumulate ? _mm512_add_ps(_mm512_maskz_loadu_ps(keep, out), f2) : f2);
        out += ldy;
        _mm512_mask_storeu_ps(out, keep, accumulate ? _mm512_add_ps(_mm512_maskz_loadu_ps(keep, out), f3) : f3);
    }
    for (; i < m; i++) {
        __m512 f0 = _mm512_setzero_ps();
        const int8_t *x0 = xq + i * ldx;
        for (long b = 0; b < blocks; b++) {
            const uint8_t *w = wq + b * 512;
            // Two chains of 4 (even and odd groups), so consecutive vpdpbusd do not wait on each other.
            __m512i s0 = _mm512_set1_epi32(-xc[i * blocks + b]), s1 = _mm512_setzero_si512();
            for (int g = 0; g < 8; g += 2) {
                s0 = _mm512_dpbusd_epi32(s0, _mm512_loadu_si512((const void *)(w + 64 * g)),
                                         _mm512_set1_epi32(*(const int32_t *)(x0 + 32 * b + 4 * g)));
                s1 = _mm512_dpbusd_epi32(s1, _mm512_loadu_si512((const void *)(w + 64 * g + 64)),
                                         _mm512_set1_epi32(*(const int32_t *)(x0 + 32 * b + 4 * g + 4)));
            }
            s0 = _mm512_add_epi32(s0, s1);
            f0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s0),
                                 _mm512_mul_ps(_mm512_loadu_ps(ws + 16 * b), _mm512_set1_ps(xs[i * blocks + b])), f0);
        }
        float *out = y + i * ldy;
        const __m512 v = accumulate ? _mm512_add_ps(_mm512_maskz_loadu_ps(keep, out), f0) : f0;
        _mm512_mask_storeu_ps(out, keep, v);
    }
#elif defined(__AVX2__) && defined(__FMA__)
    // Half a tile (8 rows) per 256-bit vector; the weights back to signed
    // (xor 128) and |w| · (x with w's sign) through vpmaddubsw, whose int16
    // pair sums (at most 2·127·127) cannot saturate; no offset to take off.
    for (int i = 0; i < m; i++) {
        const int8_t *x0 = xq + i * ldx;
        for (int half = 0; half < 2 && 8 * half < rows; half++) {
            __m256 f = _mm256_setzero_ps();
            for (long b = 0; b < blocks; b++) {
                const uint8_t *w = wq + b * 512 + 32 * half;
                __m256i s = _mm256_setzero_si256();
                for (int g = 0; g < 8; g++) {
                    const __m256i w8 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(w + 64 * g)),
                                                        _mm256_set1_epi8((char)0x80));
                    const __m256i xb = _mm256_set1_epi32(*(const int32_t *)(x0 + 32 * b + 4 * g));
                    const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w8, w8), _mm256_sign_epi8(xb, w8));
                    s = _mm256_add_epi32(s, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
                }
                f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s),
                                    _mm256_mul_ps(_mm256_loadu_ps(ws + 16 * b + 8 * half),
                                                  _mm256_set1_ps(xs[i * blocks + b])), f);
            }
            float lanes[8];
            _mm256_storeu_ps(lanes, f);
            for (int l = 8 * half; l < rows && l < 8 * half + 8; l++)
                y[i * ldy + l] = accumulate ? y[i * ldy + l] + lanes[l - 8 * half] : lanes[l - 8 * half];
        }
    }
#else
    for (int i = 0; i < m; i++) {
        float f[16] = {0};
        for (long b = 0; b < blocks; b++) {
            for (int l = 0; l < rows; l++) {
                int32_t s = -xc[i * blocks + b];
                for (int j = 0; j < 32; j++)
                    s += (int32_t)wq[tessera_q8_tile_offset(b, l, j)] * (int32_t)xq[i * ldx + 32 * b + j];
                f[l] += (float)s * (ws[16 * b + l] * xs[i * blocks + b]);
            }
        }
        for (int l = 0; l < rows; l++) y[i * ldy + l] = accumulate ? y[i * ldy + l] + f[l] : f[l];
    }
#endif
}
