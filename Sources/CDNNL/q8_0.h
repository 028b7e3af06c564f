// Dequantization of Tessera's tile-interleaved Q8_0 weights (Q8Matrix.swift;
// the layout and the products are in q8_dot.h): a tile of 16 rows widened to
// float32 rows, d · q per value, for products of many rows (prefill), which
// run on float32 tiles.
#include <stdint.h>

/// out[l·ldo + 32b + 4g + e] = ws[16b + l] · (wq[512b + 64g + 4l + e] − 128) for the
/// rows l < rows of one tile of `blocks` blocks and 32b + 4g + e < cols.
static inline void tessera_q8_dequantize_tile(const uint8_t *wq, const float *ws, long blocks, long cols, int rows,
                                              float *out, long ldo) {
    for (long b = 0; b < blocks; b++) {
        const long full = cols - 32 * b >= 32 ? 32 : cols - 32 * b;
        for (int l = 0; l < rows; l++) {
            const float d = ws[16 * b + l];
            float *o = out + l * ldo + 32 * b;
            if (full == 32) {
                for (int g = 0; g < 8; g++)
                    for (int e = 0; e < 4; e++) o[4 * g + e] = d * (float)((int)wq[512 * b + 64 * g + 4 * l + e] - 128);
            } else {
                for (int j = 0; j < full; j++) o[j] = d * (float)((int)wq[512 * b + 64 * (j / 4) + 4 * l + j % 4] - 128);
            }
        }
    }
}
