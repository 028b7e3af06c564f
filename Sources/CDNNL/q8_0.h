// Inner loops of Tessera's Q8_0 products (Q8Matrix.swift): int8 quants in
// blocks of 32 with one float scale each, multiplied by float32 rows.
// Written in C with Clang's portable vector extensions because Swift's
// generic SIMD conversions (int8 lanes to float lanes) compile to
// out-of-line scalar calls, 6x slower than the memory they read; these
// compile to the widest vector instructions of the build's target CPU.
#include <stdint.h>

typedef float tessera_f32x16 __attribute__((vector_size(64), aligned(4)));
typedef int8_t tessera_i8x16 __attribute__((vector_size(16), aligned(1)));

static inline tessera_f32x16 tessera_q8_lanes(const int8_t *q) {
    return __builtin_convertvector(*(const tessera_i8x16 *)q, tessera_f32x16);
}

static inline float tessera_lanes_sum(tessera_f32x16 v) {
    float r = 0;
    for (int i = 0; i < 16; i++) r += v[i];
    return r;
}

/// y[i] = sum_b s[b] * sum_j q[32b + j] * x[i*ldx + 32b + j] for i < m (1...4),
/// over `blocks` whole blocks: each block's 32 quants widened once for all m rows.
static inline void tessera_q8_dot_rows(const int8_t *q, const float *s, const float *x, long ldx, int m,
                                       long blocks, float *y) {
    tessera_f32x16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    for (long b = 0; b < blocks; b++) {
        tessera_f32x16 lo = tessera_q8_lanes(q + 32 * b), hi = tessera_q8_lanes(q + 32 * b + 16);
        const float d = s[b];
        const float *xb = x + 32 * b;
        a0 += d * (lo * *(const tessera_f32x16 *)xb + hi * *(const tessera_f32x16 *)(xb + 16));
        if (m > 1) a1 += d * (lo * *(const tessera_f32x16 *)(xb + ldx) + hi * *(const tessera_f32x16 *)(xb + ldx + 16));
        if (m > 2) a2 += d * (lo * *(const tessera_f32x16 *)(xb + 2 * ldx) + hi * *(const tessera_f32x16 *)(xb + 2 * ldx + 16));
        if (m > 3) a3 += d * (lo * *(const tessera_f32x16 *)(xb + 3 * ldx) + hi * *(const tessera_f32x16 *)(xb + 3 * ldx + 16));
    }
    y[0] = tessera_lanes_sum(a0);
    if (m > 1) y[1] = tessera_lanes_sum(a1);
    if (m > 2) y[2] = tessera_lanes_sum(a2);
    if (m > 3) y[3] = tessera_lanes_sum(a3);
}

/// out[32b + j] = s[b] * q[32b + j] for the `blocks` whole blocks of one row.
static inline void tessera_q8_dequantize(const int8_t *q, const float *s, long blocks, float *out) {
    for (long b = 0; b < blocks; b++) {
        tessera_f32x16 lo = tessera_q8_lanes(q + 32 * b), hi = tessera_q8_lanes(q + 32 * b + 16);
        *(tessera_f32x16 *)(out + 32 * b) = s[b] * lo;
        *(tessera_f32x16 *)(out + 32 * b + 16) = s[b] * hi;
    }
}
