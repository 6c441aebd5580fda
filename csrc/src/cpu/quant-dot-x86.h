#pragma once

// Helpers of the x86 quantized dot products (quant-dot-avx2.c, quant-dot-avx512.c), inline so
// that each file compiles them for its own instruction set (both have at least AVX2).

#include "quant-dot.h"
#include "quants.h"

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

// The 8 six-bit scales and 8 six-bit mins of a Q4_K block, unpacked four at a time from the
// three 32-bit words of its 12 bytes: scales 0-3 and mins 0-3 are the low six bits of words 0
// and 1; scales 4-7 take their low four bits from word 2's low nibbles and their top two from
// the top two bits of word 0's bytes, mins 4-7 likewise from word 2's high nibbles and word 1.
static inline void k4_unpack(const uint8_t * q, uint8_t sc[8], uint8_t m[8]) {
    uint32_t u[3], out[4];
    memcpy(u, q, 12);
    out[0] = u[0] & 0x3f3f3f3fu;
    out[1] = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
    out[2] = u[1] & 0x3f3f3f3fu;
    out[3] = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
    memcpy(sc, out, 8);
    memcpy(m, out + 2, 8);
}

// sum over the 8 sub-blocks of mins[j] * (bsums[2j] + bsums[2j+1])
static inline int k4_mins_dot(const uint8_t m[8], const int16_t * bsums) {
    const __m256i s = _mm256_loadu_si256((const __m256i *) bsums);
    const __m128i pairs = _mm_hadd_epi16(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    const __m128i mins = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *) m));
    __m128i p = _mm_madd_epi16(pairs, mins);
    p = _mm_add_epi32(p, _mm_shuffle_epi32(p, _MM_SHUFFLE(1, 0, 3, 2)));
    p = _mm_add_epi32(p, _mm_shuffle_epi32(p, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(p);
}

//
// The one-row GEMV kernels (quant-dot-avx512-gemv.h, quant-dot-avx2-gemv.h)
//

// The blocks from..nb of one weight row x (blocks of xs bytes, BLK weights) against y (blocks of
// ys bytes), by the portable kernel: the few a kernel's steps of several blocks leave over.
static inline float qg_tail(enum ggml_type t, int blk, int from, int nb, const void * x, size_t xs, const void * y,
        size_t ys) {
    float s = 0.0f;
    if (from < nb) {
        cpu_qdot_scalar.dot[t]((nb - from) * blk, &s, 0, (const char *) x + (size_t) from * xs, 0,
                               (const char *) y + (size_t) from * ys, 0, 1);
    }
    return s;
}

// Each includer of a GEMV header defines QG_FN (the functions' target attribute) and QG_NAME(x)
// (their names' suffix) first; these expand them where they are used.
#define QG_INLINE QG_FN static inline __attribute__((always_inline))

// The two entry points of type T: R rows at a time against one activation row, then the rest one
// by one, and ggml's vec_dot signature over one row.
#define QG_ENTRIES(T, BLK, YT, RG)                                                                                 \
    QG_FN static void QG_NAME(gemv_##T)(int n, float * s, const void * x, size_t bx, int nr, const void * y) {      \
        int r = 0;                                                                                                  \
        for (; r + (RG) <= nr; r += (RG)) QG_NAME(T##_rows)(n / (BLK), s + r, (const char *) x + (size_t) r * bx, bx, y, (RG)); \
        for (; r < nr; r++) QG_NAME(T##_rows)(n / (BLK), s + r, (const char *) x + (size_t) r * bx, bx, y, 1);      \
    }                                                                                                               \
    QG_FN static void QG_NAME(dot_##T)(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy,   \
                                       size_t by, int nrc) {                                                        \
        (void) bs; (void) bx; (void) by; (void) nrc;                                                                \
        QG_NAME(T##_rows)(n / (BLK), s, vx, 0, (const YT *) vy, 1);                                                 \
    }

// Rows taken at a time, by type. Measured on 4096 x 4096 weights against one activation row,
// one thread (AVX-512 with VNNI): Q4_0 gains most from sharing its rearranged activations (4
// rows: about 100 GFLOP/s against 75 one row at a time); Q8_0 and Q4_K, whose activations need
// no rearranging, run as fast or faster one row at a time once the weights come from memory
// rather than L2 (a single sequential stream is what the hardware prefetchers follow best).
#define QG_R_Q4_0 4
#define QG_R_Q8_0 1
#define QG_R_Q4_K 1

// With several rows: the lines of each row a step will read, 512 bytes ahead, as the
// prefetchers follow four interleaved streams less well than one.
#define QG_PREFETCH(p, bytes, R)                                                          \
    do {                                                                                  \
        if ((R) > 1) {                                                                    \
            for (int pf_ = 0; pf_ < (bytes); pf_ += 64) {                                 \
                _mm_prefetch((const char *) (p) + 512 + pf_, _MM_HINT_T0);                \
            }                                                                             \
        }                                                                                 \
    } while (0)

// four f16 scales as floats
static inline __m128 qg_halves4(uint16_t a, uint16_t b, uint16_t c, uint16_t d) {
    return _mm_cvtph_ps(_mm_setr_epi16((short) a, (short) b, (short) c, (short) d, 0, 0, 0, 0));
}
