// Dequantization of Tessera's Q8_0 weights (Q8Matrix.swift): int8 quants in
// blocks of 32 with one float scale each, widened to float32 rows (the
// products themselves are in q8_dot.h).
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

/// out[32b + j] = s[b] * q[32b + j] for the `blocks` whole blocks of one row.
static inline void tessera_q8_dequantize(const int8_t *q, const float *s, long blocks, float *out) {
    for (long b = 0; b < blocks; b++) {
        tessera_f32x16 lo = tessera_q8_lanes(q + 32 * b), hi = tessera_q8_lanes(q + 32 * b + 16);
        *(tessera_f32x16 *)(out + 32 * b) = s[b] * lo;
        *(tessera_f32x16 *)(out + 32 * b + 16) = s[b] * hi;
    }
}
